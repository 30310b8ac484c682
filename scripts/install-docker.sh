#!/usr/bin/env bash
# Makes a container engine available for the tests of containers/, idempotently:
#   - installs Debian's docker.io, docker-compose and debootstrap when missing;
#   - starts dockerd when no engine answers, with no bridge network (every Torpor container
#     uses the host's network: nothing talks over a bridge's private addresses);
#   - builds the local Debian 12 base image the Dockerfiles start FROM (no image registry is
#     needed): debootstrap --variant=minbase, imported as $TORPOR_BASE_IMAGE, with this
#     machine's apt sources so that apt-get in a build reaches the same Debian mirror.
# Usage: sudo scripts/install-docker.sh
set -euo pipefail

base="${TORPOR_BASE_IMAGE:-torpor/debian:bookworm}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-docker.sh: must run as root (it runs apt-get, dockerd and debootstrap)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]} from Debian's packages"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's docker.io puts its client at /usr/bin/docker; another client earlier on the PATH
# talks to the same engine (the API version is negotiated).
if ! docker info >/dev/null 2>&1; then
  log=/var/log/torpor-dockerd.log
  echo "starting dockerd (log: $log)"
  command -v containerd >/dev/null 2>&1 || { echo "install-docker.sh: containerd is missing" >&2; exit 1; }
  if [ -z "$(ls /sys/fs/cgroup/ 2>/dev/null)" ]; then
    echo "install-docker.sh: no cgroup filesystem at /sys/fs/cgroup" >&2; exit 1
  fi
  # --bridge=none: no docker0 and no NAT rules; builds and containers use the host's network.
  setsid nohup dockerd --bridge=none --iptables=false --ip-masq=false >"$log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { tail -20 "$log" >&2; echo "install-docker.sh: dockerd did not start" >&2; exit 1; }
fi

if docker image inspect "$base" >/dev/null 2>&1; then
  echo "base image $base is there: nothing to build"
  exit 0
fi
mirror=""
# The mirror this machine's apt uses, if any (deb822 or one-line sources); else debootstrap's default.
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
  [ -f "$f" ] || continue
  mirror="$(sed -n -e 's/^URIs: *\([^ ]*\).*/\1/p' -e 's/^deb \(\[[^]]*\] \)\?\([^ ]*\) bookworm .*/\2/p' "$f" | head -1)"
  [ -n "$mirror" ] && break
done
root="$(mktemp -d /tmp/torpor-base.XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "building base image $base with debootstrap (Debian 12, minbase)"
debootstrap --variant=minbase bookworm "$root" $mirror >"$root.log" 2>&1 \
  || { tail -20 "$root.log" >&2; echo "install-docker.sh: debootstrap failed (log above)" >&2; exit 1; }
rm -f "$root.log"
# apt in the image uses this machine's sources and settings (a mirror that serves snapshots, say).
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/debian.sources"
  rm -f "$root/etc/apt/sources.list"
fi
# Only files that set Acquire:: options (proxies, mirror checks), none of the host's hooks.
for f in /etc/apt/apt.conf.d/*; do
  if [ -f "$f" ] && grep -q '^Acquire::' "$f" && ! grep -qv -e '^Acquire::' -e '^ *$' -e '^//' "$f"; then
    cp "$f" "$root/etc/apt/apt.conf.d/"
  fi
done
# Smaller images: no apt caches, docs or man pages kept by later installs.
printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' \
  >"$root/etc/dpkg/dpkg.cfg.d/torpor-slim"
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$root/etc/apt/apt.conf.d/90torpor-slim"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar -C "$root" -c . | docker import -c 'ENV LANG=C.UTF-8' - "$base" >/dev/null
echo "built base image $base ($(docker image inspect -f '{{.Size}}' "$base" | awk '{printf "%.0f MB", $1/1e6}'))"
