#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan + UBSan + the fuzzer's coverage on every
# library) in build-fuzz/ and runs each for SECONDS (default 60):
#   svpc_fuzz_packet  frames through the real dataplane::Pipeline (tests/fuzz/fuzz_packet.cc)
#   svpc_fuzz_config  configuration files through LoadConfig (tests/fuzz/fuzz_config.cc)
#   bgp_fuzz_message  the BGP decoder (bgp/fuzz_message.cc)
# Fails on any crash, leak, sanitizer report or timeout (libFuzzer exits non-zero); the input is
# kept in build-fuzz/artifacts/. Seeds: tests/fuzz/corpus/*, bgp/fuzz_corpus; what the fuzzer
# adds goes to build-fuzz/corpus/ (not into the repository).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
build=${SVPC_FUZZ_BUILD_DIR:-$root/build-fuzz}
flags="-fsanitize=fuzzer-no-link"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSVPC_SANITIZE=ON \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" >/dev/null
cmake --build "$build" -j"$(nproc)" --target svpc_fuzz_packet svpc_fuzz_config bgp_fuzz_message

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
mkdir -p "$build/artifacts"
run() {  # NAME BINARY SEEDS
  local name=$1 binary=$2 seeds=$3
  mkdir -p "$build/corpus/$name"
  echo "fuzz: $name for ${seconds}s"
  "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$name-" "$build/corpus/$name" "$seeds" \
    >"$build/$name.log" 2>&1 || {
    tail -n 60 "$build/$name.log"
    echo "FAIL: $name: see $build/$name.log and $build/artifacts/"
    return 1
  }
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' "$build/$name.log"
  grep -E 'cov: [0-9]+' "$build/$name.log" | tail -n 1
}
run packet "$build/tests/fuzz/svpc_fuzz_packet" "$root/tests/fuzz/corpus/packet"
run config "$build/tests/fuzz/svpc_fuzz_config" "$root/tests/fuzz/corpus/config"
run bgp "$build/bgp/bgp_fuzz_message" "$root/bgp/fuzz_corpus"
echo "fuzz: every target ran ${seconds}s without a finding"
