#!/usr/bin/env bash
# Builds the libFuzzer targets of the readers (clang, sanitizers, ./build-fuzz) and runs each for
# SECONDS (default 20), after replaying its regression corpus tests/fuzz/corpus/<target>/ (every
# input that once crashed). A new crash, sanitizer report, timeout or out-of-memory input is
# written to that folder, the script goes on with the next target and exits non-zero at the end.
#   FUZZ_TARGETS  space-separated subset of targets (default: all)
#   BUILD_DIR     build folder (default: build-fuzz); JOBS: parallel compile jobs (default: all cores)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
build_dir=${BUILD_DIR:-$root/build-fuzz}
shared=${T2I_SHARED_DATA:-$root/../shared/data}
all="fuzz_safetensors fuzz_shard_index fuzz_pickle fuzz_torch_save fuzz_zip fuzz_preset fuzz_cascade fuzz_checkpoint_meta
     fuzz_coco_json fuzz_csv fuzz_jsonl fuzz_png_text fuzz_image_decode fuzz_tokenizer"
targets=${FUZZ_TARGETS:-$all}

source "$root/scripts/clang-sanitized-build.sh"
configure_clang_sanitized_build "$build_dir" "$shared" || exit 1
start=$(date +%s)
cmake --build "$build_dir" --target fuzz_all --parallel "${JOBS:-$(nproc)}" || exit 1
echo "fuzz build: $(( $(date +%s) - start )) s"

# Seeds: small files we own and the shared test data, where present (never copied into the repo).
fixtures=$root/tests/fixtures/0.1.0
seeds() {
  case $1 in
    fuzz_safetensors) echo "$shared/torch-pickle/statedict_expected.safetensors $shared/fid/inception-random/fid_inception_random_golden.safetensors" ;;
    fuzz_shard_index) echo "$root/tests/fuzz/seeds/shard_index" ;;
    fuzz_pickle|fuzz_torch_save) echo "$shared/torch-pickle/statedict_legacy.pth $shared/torch-pickle/statedict_zip.pth $shared/torch-pickle/statedict_nested_zip.pth $shared/torch-pickle/statedict_plaindict_zip.pth" ;;
    fuzz_zip) echo "$shared/torch-pickle/statedict_zip.pth $shared/torch-pickle/statedict_nested_zip.pth" ;;
    fuzz_preset) echo "$root/presets/small.json $root/presets/demo.json $fixtures/tiny-demo.json" ;;
    fuzz_cascade) echo "$root/tests/fuzz/seeds/cascade" ;;
    fuzz_checkpoint_meta) echo "$fixtures/run/config.json" ;;
    fuzz_coco_json) echo "$shared/coco-mini/annotations/captions_val2017.json" ;;
    fuzz_csv) echo "$root/tests/fuzz/seeds/csv" ;;
    fuzz_jsonl) echo "$root/tests/fuzz/seeds/jsonl $fixtures/run/metrics.jsonl" ;;
    fuzz_png_text|fuzz_image_decode) echo "$fixtures/sample.png $fixtures/image-cache/red.png $fixtures/image-cache/broken.png $(ls "$shared"/coco-mini/val2017/*.jpg 2>/dev/null | head -3)" ;;
    fuzz_tokenizer) echo "$root/tests/fuzz/seeds/tokenizer" ;;
  esac
}

failed=0
summary=""
for target in $targets; do
  # The tokenizer target reads T5's SentencePiece model from the shared data (never copied here).
  if [ "$target" = fuzz_tokenizer ] && [ ! -f "$shared/t5/spiece.model" ]; then
    summary+="$target: skipped, no $shared/t5/spiece.model"$'\n'
    continue
  fi
  binary=$build_dir/tests/fuzz/$target
  regression=$root/tests/fuzz/corpus/$target
  work=$build_dir/fuzz-corpus/$target
  mkdir -p "$regression" "$work"
  for seed in $(seeds "$target"); do
    if [ -d "$seed" ]; then cp "$seed"/* "$work"/; elif [ -f "$seed" ]; then cp "$seed" "$work"/; fi
  done
  log=$build_dir/fuzz-logs/$target.log
  mkdir -p "$(dirname "$log")"
  if [ -n "$(ls -A "$regression")" ] && ! "$binary" -runs=0 "$regression" >"$log.replay" 2>&1; then
    echo "$target: REGRESSION (see $log.replay)"; failed=1
  fi
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: an input needing 2 GB is a finding.
  "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$regression/" "$work" >"$log" 2>&1
  status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  if [ $status -ne 0 ]; then
    failed=1
    summary+="$target: FOUND after ${runs:-?} executions: $(grep -m1 -E 'ERROR|runtime error|Test unit written' "$log")"$'\n'
  else
    summary+="$target: ${runs} executions in ${seconds} s, no findings"$'\n'
  fi
done
printf '%s' "$summary"
exit $failed
