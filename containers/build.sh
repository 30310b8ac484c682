#!/usr/bin/env bash
# Builds Torpor's images from the repository root's build output, on the host's network (no
# bridge): torpor/server, torpor/worker-criu, torpor/s3proxy and torpor/postgres, tagged $TAG
# (default dev), FROM $BASE (default torpor/debian:bookworm, which scripts/install-docker.sh
# makes with debootstrap; any Debian 12 image works). Prints each image's size.
# Needs `mvn -B -ntp -q install -DskipTests` first (the jars it copies).
# Usage: containers/build.sh [--no-cache]
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${TAG:-dev}"
base="${BASE:-torpor/debian:bookworm}"
# BuildKit reads the per-Dockerfile .dockerignore files. Debian's docker.io client builds with it
# itself; a newer client at another path needs its buildx plugin for that.
docker=docker
[ -x /usr/bin/docker ] && docker=/usr/bin/docker
for f in launcher/target/torpor.jar launcher/target/s3proxy/s3proxy.jar; do
  [ -f "$f" ] || { echo "build.sh: $f is missing: run mvn -B -ntp -q install -DskipTests first" >&2; exit 2; }
done
"$docker" image inspect "$base" >/dev/null 2>&1 \
  || { echo "build.sh: base image $base is missing: run scripts/install-docker.sh (as root) or set BASE" >&2; exit 2; }
log="$(mktemp /tmp/torpor-build.XXXXXX)"
trap 'rm -f "$log"' EXIT
for name in server worker-criu s3proxy postgres; do
  start=$SECONDS
  DOCKER_BUILDKIT=1 "$docker" build --network host --progress plain --build-arg BASE="$base" "$@" \
    -f "containers/Dockerfile.$name" -t "torpor/$name:$tag" . >"$log" 2>&1 \
    || { tail -40 "$log" >&2; echo "build.sh: building torpor/$name failed" >&2; exit 1; }
  echo "built torpor/$name:$tag in $((SECONDS - start)) s"
done
# Images these builds replaced (untagged now), and nothing else.
"$docker" image prune -f --filter label=dev.torpor.image >/dev/null
"$docker" image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep -E "^torpor/(server|worker-criu|s3proxy|postgres|debian):" | sort
