#!/usr/bin/env bash
# Runs every Torpor test on this machine: installs what the tests need when it is missing
# (CRIU >= 4.2, PostgreSQL, the AWS CLI, openssl, a font, a container engine), then builds and runs the unit tests (*Test) and the real-process tests (*IT),
# which start real JVMs and checkpoint them with real CRIU. Needs root (CRIU does).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/test.sh: run as root: CRIU needs CAP_SYS_ADMIN/CAP_CHECKPOINT_RESTORE to dump processes" >&2
  exit 1
fi
scripts/install-criu.sh
command -v mvn >/dev/null || { apt-get update -qq && apt-get install -y -qq maven >/dev/null; }
command -v perl >/dev/null || { apt-get update -qq && apt-get install -y -qq perl-base >/dev/null; }
# PostgreSQL's server: the tests start their own throw-away clusters on loopback ports.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
# The AWS CLI (Debian's awscli, at /usr/bin/aws) reads the images the S3 tests write, as any
# S3 tool would. The S3-compatible server itself (S3Proxy) comes from Maven Central with the build.
[ -x /usr/bin/aws ] || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli >/dev/null; }
# openssl makes the certificates of the TLS tests, as an operator would.
command -v openssl >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null; }
# A container engine (Debian's docker.io, docker-compose) and the local Debian 12 base image, for
# ContainersIT, which builds containers/' images and runs the compose cluster.
scripts/install-docker.sh
# A font for the benchmark report's charts, which BenchIT draws with Java2D (XChart).
fc-list 2>/dev/null | grep -q . || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fontconfig fonts-dejavu-core >/dev/null; }
exec mvn -B -ntp verify "$@"
