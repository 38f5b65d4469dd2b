# Sourced by scripts/fuzz.sh and scripts/sanitize.sh --readers: the one clang build (ASan+UBSan,
# -DT2I_FUZZ=ON) that holds both the fuzz targets and the reader layers' sanitized test suites, so
# the two scripts configure it identically and share its objects.
#   configure_clang_sanitized_build BUILD_DIR SHARED_DATA_DIR
configure_clang_sanitized_build() {
  "$root/scripts/install-deps.sh" --fuzz >/dev/null || return 1
  cmake -S "$root" -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
    -DT2I_FUZZ=ON -DT2I_SHARED_DATA="$2" >/dev/null
}
