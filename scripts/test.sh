#!/usr/bin/env bash
# Installs, builds, and runs every test: gtest units per library, pipeline tests, scenario
# replays, and (as root) the TAP test with real network namespaces. `.ci/run` calls exactly this.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
# Formatting first: it takes a second and names the file to fix.
"$root/scripts/check-format.sh"
"$root/scripts/check-includes.sh"
"$root/scripts/build.sh"
build=${SVPC_BUILD_DIR:-$root/build}
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" --timeout 600

# Robustness (README.md "Robustness"): the unit, pipeline and scenario tests again under ASan +
# UBSan (gcc, build-asan/), then every libFuzzer target for SVPC_FUZZ_SECONDS seconds (default
# 60; clang-14, build-fuzz/). SVPC_SKIP_ROBUSTNESS=1 leaves both out.
if [ "${SVPC_SKIP_ROBUSTNESS:-0}" != 1 ]; then
  "$root/scripts/test-sanitized.sh"
  "$root/scripts/fuzz.sh" "${SVPC_FUZZ_SECONDS:-60}"
fi
