#!/usr/bin/env bash
# Sets Torpor up on this machine and runs the pro-trial example end to end, as a user would:
# installs CRIU >= 4.2 if needed, builds the torpor CLI, starts `torpor server` (embedded H2,
# local image store, HTTP API on 127.0.0.1), submits the example with a 3-second trial, shows
# it frozen (no process), sends it the "upgrade" signal, and prints its log and history.
# Needs root (CRIU does).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/quickstart.sh: run as root: CRIU needs CAP_SYS_ADMIN/CAP_CHECKPOINT_RESTORE to dump processes" >&2
  exit 1
fi
scripts/install-criu.sh
mvn -B -ntp -q install -DskipTests
torpor() { java -jar launcher/target/torpor.jar "$@"; }
port="${TORPOR_QUICKSTART_PORT:-7777}"
export TORPOR_SERVER="http://127.0.0.1:$port"
base="$(mktemp -d /tmp/torpor-quickstart.XXXXXX)"
chmod 711 "$base" # CRIU restores workflows as an unprivileged user, who must cross it to the run base
data="$base/data"
# The server makes $data/api-token (0600) at its first start; the CLI, as root here, reads it there.
export TORPOR_DATA="$data"
torpor doctor
# java directly (not the shell function), so that $! is the server itself and the trap stops it
java -jar launcher/target/torpor.jar server --data "$data" --run-dir "$base/run" --listen "127.0.0.1:$port" \
  --quiet >"$base/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
until torpor list >/dev/null 2>&1; do
  kill -0 $server 2>/dev/null || { cat "$base/server.log" >&2; exit 1; }
  sleep 0.2
done
echo "== torpor server is up on $TORPOR_SERVER (data in $data)"

id=$(torpor submit --jar examples/target/torpor-examples-0.1.0-SNAPSHOT.jar \
  --main dev.torpor.examples.ProTrial -- alice 3 60)
echo "== submitted $id: a 3-second trial, then 60 s to upgrade"
until torpor status "$id" | grep -q "signal 'upgrade'"; do sleep 0.5; done
procs=$(for p in /proc/[0-9]*; do readlink "$p/cwd" 2>/dev/null; done | grep -c "^$base/run/" || true)
echo "== $id is frozen waiting for 'upgrade'; workflow processes running: $procs"
torpor status "$id"
torpor signal "$id" upgrade annual
until torpor status "$id" | grep -qE "state: +(COMPLETED|FAILED)"; do sleep 0.5; done
echo "== $id finished; its log:"
torpor logs "$id"
echo "== its history:"
torpor history "$id"
