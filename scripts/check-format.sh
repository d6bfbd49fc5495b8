#!/usr/bin/env bash
# Fails when a tracked C++ file is not formatted with the project's .clang-format (run by
# scripts/test.sh; fix with `clang-format -i FILE`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror
echo "clang-format: every tracked .cc/.h file is formatted"
