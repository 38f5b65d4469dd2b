#!/usr/bin/env bash
# Builds t2i-studio (scripts/build.sh) and its Debian package, and prints the package's path.
#   BUILD_DIR   build folder (default: build)
# Install it with: sudo apt install ./build/t2i-studio_<version>_amd64.deb
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}

"$root/scripts/build.sh"
(cd "$build_dir" && cpack -G DEB -B "$build_dir" >/dev/null)
ls -1 "$build_dir"/t2i-studio_*_amd64.deb
