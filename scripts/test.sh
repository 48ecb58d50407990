#!/usr/bin/env bash
# Runs Vigil's whole test suite: unit tests (cmocka), process-level
# integration tests (real libvirtd, real daemons, real HTTP) and a short
# fuzzing pass over every parser, all under AddressSanitizer and
# UndefinedBehaviorSanitizer. Installs its dependencies first.
#
#   scripts/test.sh            everything, the real-OpenStack test included
#                              (tests/openstack/up.sh installs and starts
#                              Keystone, Nova, ...: root, ~5 min the first
#                              time)
#   FUZZ_SECONDS=0 scripts/test.sh   skip the fuzzing pass
#   VIGIL_TEST_OPENSTACK=0 scripts/test.sh   skip the real-OpenStack test
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build=${VIGIL_TEST_BUILD:-build-test}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DVIGIL_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Fuzzing first, so that the test runner's summary closes the output.
if [ "${FUZZ_SECONDS:-10}" != "0" ]; then
  FUZZ_SECONDS=${FUZZ_SECONDS:-10} scripts/fuzz-smoke.sh
fi
exclude=()
if [ "${VIGIL_TEST_OPENSTACK:-1}" = "0" ]; then
  exclude=(-LE openstack)
fi
(cd "$build" && ctest --output-on-failure -j1 "${exclude[@]}")
