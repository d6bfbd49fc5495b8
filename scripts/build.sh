#!/usr/bin/env bash
# Configures and builds svpc into build/ (override with SVPC_BUILD_DIR).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SVPC_BUILD_DIR:-$root/build}
# Warnings are errors (SVPC_WERROR=OFF to build through them while working).
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=${SVPC_BUILD_TYPE:-RelWithDebInfo} \
  -DCMAKE_COMPILE_WARNING_AS_ERROR=${SVPC_WERROR:-ON} >/dev/null
cmake --build "$build" -j"$(nproc)"
