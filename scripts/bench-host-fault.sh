#!/usr/bin/env bash
# Host fault -> VNFM benchmark through the heartbeat path, and false alarms
# at 5 % random loss: builds Vigil (Release, no sanitizers) into build/ and
# runs bench/bench-host-fault.py (two vigil-monitors in network namespaces
# joined by veth pairs, the inspector, the notifier, the sample VNFM).
# Needs root (network namespaces, nftables).
#
#   scripts/bench-host-fault.sh                 100 faults of each kind,
#                                               then 10 minutes at 5 % loss
#   VIGIL_BENCH_LOSS_S=60 scripts/bench-host-fault.sh   a quick loss run
#   VIGIL_BENCH_COUNT=20 scripts/bench-host-fault.sh    fewer faults
#   VIGIL_BENCH_BUILD=dir scripts/bench-host-fault.sh   another build dir
set -euo pipefail
cd "$(dirname "$0")/.."

build=${VIGIL_BENCH_BUILD:-build}
count=${VIGIL_BENCH_COUNT:-100}
loss=${VIGIL_BENCH_LOSS_S:-600}

if [ "$(id -u)" -ne 0 ]; then
  echo "$(basename "$0"): needs root (network namespaces, nftables)" >&2
  exit 1
fi
. scripts/lib.sh
vigil_release_build "$build" vigil-monitor vigil-inspector vigil-notifier \
  vigil-vnfm-sample
echo "==> Running bench-host-fault ($count faults per kind, $loss s at 5 % loss)"
/usr/bin/python3 bench/bench-host-fault.py --build-dir "$build" \
  --count "$count" --loss-seconds "$loss"
