#!/bin/sh
# fuzz-smoke.sh: builds Vigil's libFuzzer targets (tests/fuzz) with clang,
# ASan and UBSan in build-fuzz, then runs each one for FUZZ_SECONDS seconds
# (default 20) starting from its checked-in corpus. Fails on the first
# crash, leak, sanitizer report or timeout, naming the input that did it
# (saved under build-fuzz/fuzz-artifacts/). New interesting inputs go to a
# scratch directory, so the checked-in corpus only changes by hand: to keep
# a regression input, copy it into tests/fuzz/corpus/<target>/.
#
# Environment: FUZZ_SECONDS (default 20), FUZZ_BUILD_DIR (default
# <repo>/build-fuzz), FUZZ_TARGETS (default: every tests/fuzz/fuzz_*.c), CC (default clang).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-20}
# Default: every target, one per tests/fuzz/fuzz_*.c.
all=$(for f in "$root"/tests/fuzz/fuzz_*.c; do basename "$f" .c; done | tr '\n' ' ')
targets=${FUZZ_TARGETS:-$all}

CC=${CC:-clang} cmake -S "$root" -B "$build" -DVIGIL_FUZZ=ON \
    -DVIGIL_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# shellcheck disable=SC2086  # word splitting of the target list is wanted
cmake --build "$build" -j2 --target $targets

artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

failed=""
for target in $targets; do
    corpus=$root/tests/fuzz/corpus/$target
    dict=$root/tests/fuzz/$target.dict
    mkdir -p "$scratch/$target"
    set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$target-"
    if [ -f "$dict" ]; then
        set -- "$@" -dict="$dict"
    fi
    echo "== $target: ${seconds}s from $corpus"
    if "$build/tests/fuzz/$target" "$@" "$scratch/$target" "$corpus" \
        >"$artifacts/$target.log" 2>&1; then
        grep -E '^Done |^stat::peak_rss_mb|^stat::new_units_added' \
            "$artifacts/$target.log" | sed 's/^/   /'
    else
        echo "!! $target FAILED; log: $artifacts/$target.log"
        grep -E 'ERROR|runtime error|Test unit written|SUMMARY' \
            "$artifacts/$target.log" | sed 's/^/   /' || true
        failed="$failed $target"
    fi
done

if [ -n "$failed" ]; then
    echo "fuzz-smoke: FAILED:$failed"
    exit 1
fi
echo "fuzz-smoke: all targets ran ${seconds}s without a crash"
