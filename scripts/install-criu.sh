#!/usr/bin/env bash
# Installs CRIU >= 4.2 when the installed one is missing or older.
#
# Debian 12 ships CRIU 3.17.1, which fails on recent kernels ("Unexpected rt vDSO area
# bounds"), and CRIU 4.1 cannot dump TCP sockets on them. CRIU 4.2.1 works. Binary
# packages from newer Debian suites need a newer glibc, so this script builds CRIU from
# Debian sid's source tarball (apt checks its hash) and installs it to /usr/local/sbin.
#
# Idempotent: does nothing when `criu --version` already reports >= 4.2.
# Usage: sudo scripts/install-criu.sh        (TORPOR_CRIU_MIN=4.2 to change the floor)
set -euo pipefail

min="${TORPOR_CRIU_MIN:-4.2}"
# What this script builds; a CRIU it installed earlier with another recipe is rebuilt.
# RUNDIR must be a tmpfs for CRIU to cache its kernel probes (criu.kdat): that saves 15-20 ms
# on every dump and restore. /run is not a tmpfs on every machine; /dev/shm is.
rundir=/run
if [ "$(stat -f -c %T /run 2>/dev/null)" != "tmpfs" ]; then rundir=/dev/shm; fi
recipe="criu-4.2.1 RUNDIR=$rundir"
stamp=/usr/local/lib/torpor/criu.recipe

version_of() { "$1" --version 2>/dev/null | sed -n 's/^Version: *//p' | head -1; }
at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }

if command -v criu >/dev/null 2>&1; then
  have="$(version_of "$(command -v criu)")"
  if [ -n "$have" ] && at_least "$have" "$min"; then
    if [ "$(command -v criu)" != /usr/local/sbin/criu ] || [ "$(cat "$stamp" 2>/dev/null)" = "$recipe" ]; then
      echo "criu $have is installed at $(command -v criu) (>= $min): nothing to do"
      exit 0
    fi
    echo "criu $have at /usr/local/sbin/criu was built with another recipe: rebuilding ($recipe)"
  fi
  echo "criu ${have:-of unknown version} at $(command -v criu) is older than $min: building a newer one"
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-criu.sh: must run as root (it runs apt-get and installs to /usr/local/sbin)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
src_list=/etc/apt/sources.list.d/torpor-criu-src.list
if ! grep -qs 'deb-src .* sid main' "$src_list"; then
  # Only source packages from sid: no binary from sid is ever installed.
  echo "deb-src http://deb.debian.org/debian sid main" > "$src_list"
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential pkg-config xz-utils dpkg-dev \
  libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev protobuf-compiler python3-protobuf \
  libnl-3-dev libnet1-dev libcap-dev libgnutls28-dev libbsd-dev uuid-dev libnftables-dev \
  iproute2 util-linux >/dev/null

work="$(mktemp -d /tmp/torpor-criu.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
# The .debian.tar.xz may be missing from the mirror; the .orig.tar.xz is all we need,
# and apt verifies its checksum before writing it.
apt-get source --download-only criu >/dev/null 2>&1 || true
orig="$(ls criu_*.orig.tar.* 2>/dev/null | sort -V | tail -1 || true)"
if [ -z "$orig" ]; then
  echo "install-criu.sh: could not download CRIU's source from Debian (apt-get source --download-only criu)" >&2
  exit 1
fi
tar xf "$orig"
dir="$(find . -maxdepth 1 -type d -name 'criu-*' | head -1)"
make -C "$dir" -j"$(nproc)" RUNDIR="$rundir" criu >build.log 2>&1 || { tail -40 build.log >&2; exit 1; }
install -m 0755 "$dir/criu/criu" /usr/local/sbin/criu
mkdir -p "$(dirname "$stamp")"
echo "$recipe" > "$stamp"
hash -r
have="$(version_of /usr/local/sbin/criu)"
if [ -z "$have" ] || ! at_least "$have" "$min"; then
  echo "install-criu.sh: built criu reports version '${have}', expected >= $min" >&2
  exit 1
fi
echo "installed criu $have at /usr/local/sbin/criu"
/usr/local/sbin/criu check || true
