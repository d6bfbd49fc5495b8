#!/usr/bin/env bash
# Builds svpc with AddressSanitizer + UndefinedBehaviorSanitizer (gcc, -DSVPC_SANITIZE=ON) in
# build-asan/ and runs the unit, pipeline and scenario tests under them. Left out: the TAP tests
# (tap.*: namespaces and a daemon, covered by the normal run) and the BGP interop tests (label
# interop: timing against a real BIRD). Any sanitizer report fails the test that hit it:
# UBSan aborts (-fno-sanitize-recover), ASan stops at the first error, LeakSanitizer fails the
# process at exit. DPDK's own libraries are not instrumented; no suppression is needed (see the
# "Robustness" section of README.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SVPC_ASAN_BUILD_DIR:-$root/build-asan}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSVPC_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" --timeout 1200 -E '^tap\.' -LE interop
