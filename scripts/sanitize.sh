#!/usr/bin/env bash
# The sanitizer suite, in one of two scopes:
#   scripts/sanitize.sh            the core, the command line and their tests built with GCC's
#                                  AddressSanitizer and UndefinedBehaviorSanitizer (./build-asan,
#                                  nothing shared with the Release build) and run. The GUI tests
#                                  (label "gui") and the studio are left out: under ASan the studio's
#                                  tests take longer than CI allows, and they drive the same core code
#                                  the command-line tests run.
#   scripts/sanitize.sh --readers  CI's stage: the test suites of the four layers that read outside
#                                  data (runtime, io, data, text) built with clang's ASan+UBSan in the
#                                  fuzz targets' build (./build-fuzz), on the same objects, and run.
# Every finding fails its test.
#   BUILD_DIR  build folder; JOBS: parallel compile jobs (default: all cores)
#   Extra arguments go to ctest (e.g. -R test_io).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
readers=0
if [ "${1:-}" = "--readers" ]; then
  readers=1
  shift
fi

start=$(date +%s)
if [ $readers = 1 ]; then
  build_dir=${BUILD_DIR:-$root/build-fuzz}
  source "$root/scripts/clang-sanitized-build.sh"
  configure_clang_sanitized_build "$build_dir" "${T2I_SHARED_DATA:-$root/../shared/data}"
  cmake --build "$build_dir" --target sanitized_tests --parallel "${JOBS:-$(nproc)}"
  selection=(-L sanitized)
else
  build_dir=${BUILD_DIR:-$root/build-asan}
  "$root/scripts/install-deps.sh"
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DT2I_BUILD_UI=OFF \
    -DT2I_SANITIZE=address,undefined
  cmake --build "$build_dir" --parallel "${JOBS:-$(nproc)}"
  selection=(-LE gui)
fi
echo "sanitizer build: $(( $(date +%s) - start )) s"

# LibTorch, OpenMP and the libraries below them keep some allocations until exit; those leaks
# are theirs and listed by library in the suppression file. Nothing of ours is suppressed.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0:strict_string_checks=1
export LSAN_OPTIONS=suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$root/tests/sanitizers/ubsan.supp
cd "$build_dir"
start=$(date +%s)
status=0
ctest --output-on-failure --timeout 1800 "${selection[@]}" "$@" || status=$?
echo "sanitizer tests: $(( $(date +%s) - start )) s"
exit $status
