#!/usr/bin/env bash
# The README's test command: installs, builds and runs the whole test suite.
# GUI tests run on Qt's offscreen platform, so no display is needed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}

"$root/scripts/build.sh" "$@"
cd "$build_dir"
ctest --output-on-failure --timeout 1800 -j "${TEST_JOBS:-1}"
