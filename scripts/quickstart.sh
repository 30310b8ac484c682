#!/usr/bin/env bash
# Sets Torpor up on this machine and runs the example end to end: installs CRIU >= 4.2 if
# needed, builds the torpor CLI, and runs a workflow that prints, is frozen for a few seconds
# (checkpointed with CRIU into the local image store, no process left), and prints again.
# Needs root (CRIU does).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/quickstart.sh: run as root: CRIU needs CAP_SYS_ADMIN/CAP_CHECKPOINT_RESTORE to dump processes" >&2
  exit 1
fi
scripts/install-criu.sh
mvn -B -ntp -q install -DskipTests
java -jar launcher/target/torpor.jar doctor
exec java -jar launcher/target/torpor.jar run \
  --jar examples/target/torpor-examples-0.1.0-SNAPSHOT.jar \
  --main dev.torpor.examples.Hello -- "${1:-3}"
