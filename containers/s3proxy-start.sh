#!/bin/sh
# Writes S3Proxy's properties from the environment (never the secret on a command line), makes
# the bucket's directory, and runs S3Proxy.
set -eu
: "${S3PROXY_IDENTITY:?set S3PROXY_IDENTITY (the access key id)}"
: "${S3PROXY_CREDENTIAL:?set S3PROXY_CREDENTIAL (the secret access key)}"
umask 077
props="$(mktemp /tmp/s3proxy.XXXXXX)"
cat >"$props" <<PROPS
s3proxy.endpoint=http://${S3PROXY_LISTEN}
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=${S3PROXY_IDENTITY}
s3proxy.credential=${S3PROXY_CREDENTIAL}
jclouds.provider=filesystem-nio2
jclouds.filesystem.basedir=/data
PROPS
# With the filesystem provider, a bucket is a directory.
if [ -n "${S3PROXY_BUCKET:-}" ]; then mkdir -p "/data/${S3PROXY_BUCKET}"; fi
exec java -Xmx256m -XX:+UseSerialGC -jar /opt/s3proxy/s3proxy.jar --properties "$props"
