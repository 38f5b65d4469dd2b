#!/usr/bin/env bash
# Installs the dependencies (when missing), configures and builds t2i-studio in ./build.
#   BUILD_DIR   build folder (default: build)
#   BUILD_TYPE  CMake build type (default: Release)
#   JOBS        parallel compile jobs (default: all cores)
# Extra arguments go to CMake's configure step (e.g. -DCMAKE_PREFIX_PATH=… for a CUDA LibTorch).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}
jobs=${JOBS:-$(nproc)}

"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" "$@"
cmake --build "$build_dir" --parallel "$jobs"
