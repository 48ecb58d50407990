#!/usr/bin/env bash
# Vigil's demo (README command 1): installs what is missing, builds Vigil
# (Release, no sanitizers) into build/, then runs scripts/vigil_demo.py:
# a private libvirtd with the test driver, the three daemons and a sample
# VNF manager on 127.0.0.1; a VM fault injected with virsh; the alarm and
# its profiler timeline printed; everything shut down cleanly.
#
#   scripts/demo.sh                 build into build/ and run
#   VIGIL_DEMO_BUILD=dir scripts/demo.sh   use another build directory
#   VIGIL_KEEP_LOGS=1 scripts/demo.sh      keep the daemons' logs
set -euo pipefail
cd "$(dirname "$0")/.."

build=${VIGIL_DEMO_BUILD:-build}

. scripts/lib.sh
vigil_release_build "$build" vigil-monitor vigil-inspector vigil-notifier \
  vigil-vnfm-sample
echo "==> Running the demo"
/usr/bin/python3 scripts/vigil_demo.py --build-dir "$build"
