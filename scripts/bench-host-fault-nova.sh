#!/usr/bin/env bash
# Mass host failure benchmark: builds Vigil (Release, no sanitizers) into
# build/ and runs bench/bench-host-fault-nova.py: 1,000 VM alarms from a
# static host -> VM map, then the same against the real Nova of
# tests/openstack/up.sh (started or reused; needs root the first time).
#
#   scripts/bench-host-fault-nova.sh                      defaults
#   scripts/bench-host-fault-nova.sh --nova-servers 0     without OpenStack
#   scripts/bench-host-fault-nova.sh --nova-servers 500 --boot-budget-s 2400
#   VIGIL_BENCH_BUILD=dir scripts/bench-host-fault-nova.sh   another build
set -euo pipefail
cd "$(dirname "$0")/.."

build=${VIGIL_BENCH_BUILD:-build}
. scripts/lib.sh
vigil_release_build "$build" vigil-inspector vigil-notifier vigil-vnfm-sample
echo "==> Running bench-host-fault-nova"
exec /usr/bin/python3 bench/bench-host-fault-nova.py --build-dir "$build" "$@"
