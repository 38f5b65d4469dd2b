#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and running t2i-studio needs.
# Idempotent: packages already present are left alone and apt is not touched at all when
# nothing is missing. Uses sudo only when not already root. `--fuzz` adds what scripts/fuzz.sh
# needs (clang and its libFuzzer/sanitizer runtimes), which the normal build does not.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config
  # libraries
  qt6-base-dev qt6-base-dev-tools qt6-svg-dev libqcustomplot-dev libqcustomplot2.1-qt6
  libtorch-dev libsentencepiece-dev sentencepiece
  # the Gloo headers that LibTorch's c10d ProcessGroupGloo.hpp includes (data-parallel training)
  libgloo-dev
  libspdlog-dev nlohmann-json3-dev libcli11-dev
  libpng-dev libjpeg62-turbo-dev
  # LibTorch otherwise runs on Debian's reference BLAS, ~18x slower (design.md section 8)
  libopenblas0-pthread
  # headless GUI runs and packaging checks
  xvfb xauth desktop-file-utils appstream dpkg-dev file help2man
)
if [ "${1:-}" = "--fuzz" ]; then packages+=(clang-14 libclang-rt-14-dev); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
