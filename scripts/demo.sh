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

missing=0
for tool in cmake cc pkg-config virsh /usr/sbin/libvirtd /usr/bin/python3; do
  command -v "$tool" >/dev/null 2>&1 || missing=1
done
if [ "$missing" = 0 ] && \
   ! pkg-config --exists libevent libevent_pthreads libcurl jansson libvirt \
     sqlite3 cmocka 2>/dev/null; then
  missing=1
fi
if [ "$missing" = 1 ]; then
  echo "==> Installing dependencies (scripts/install-deps.sh)"
  scripts/install-deps.sh
fi

echo "==> Building Vigil (Release) into $build/"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DVIGIL_SANITIZE=OFF &&
       cmake --build "$build" -j"$(nproc)" --target vigil-monitor \
         vigil-inspector vigil-notifier vigil-vnfm-sample; } >"$log" 2>&1; then
  cat "$log"
  echo "demo: the build failed" >&2
  exit 1
fi
echo "==> Running the demo"
/usr/bin/python3 scripts/vigil_demo.py --build-dir "$build"
