#!/usr/bin/env bash
# Installs, builds, and runs every test: gtest units per library, pipeline tests, scenario
# replays, and (as root) the TAP test with real network namespaces. `.ci/run` calls exactly this.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
build=${SVPC_BUILD_DIR:-$root/build}
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" --timeout 600
