#!/usr/bin/env bash
# The demo preset's acceptance benchmark: trains `t2i train --preset demo --demo` on this machine for
# at most MINUTES minutes (default 60), then samples the demo dataset's held-out (test split)
# captions with fixed seeds and prints the demo checker's agreement per guidance scale as JSON
# (demo_colour, demo_shape, demo_match: fractions of samples).
#
#   scripts/bench-demo.sh [MINUTES]   RUN=folder  BUILD=build folder  SAMPLES=per scale  THREADS=training threads
#
# An existing RUN folder is resumed rather than retrained, so the script can be re-run to score it.
set -euo pipefail

minutes="${1:-60}"
build="${BUILD:-build}"
run="${RUN:-${TMPDIR:-/tmp}/t2i-demo-run}"
samples="${SAMPLES:-200}"
threads="${THREADS:-0}"   # 0: every core
t2i="$build/app/t2i"
[[ -x "$t2i" ]] || { echo "bench-demo: $t2i not found; build first (scripts/build.sh)" >&2; exit 1; }

start=$(date +%s)
if [[ -d "$run/checkpoints" ]]; then
  "$t2i" --threads "$threads" train --preset demo --demo --out "$run" --resume --max-minutes "$minutes"
else
  "$t2i" --threads "$threads" train --preset demo --demo --out "$run" --max-minutes "$minutes"
fi
trained=$(( $(date +%s) - start ))

checkpoint="$run/checkpoints/best.safetensors"
[[ -f "$checkpoint" ]] || checkpoint=$(ls -1 "$run"/checkpoints/step_*.safetensors | sort -V | tail -1)
echo "bench-demo: trained for ${trained} s; scoring $checkpoint on $samples held-out captions" >&2
"$t2i" eval --checkpoint "$checkpoint" --split test --n "$samples" --cfg 1,3,5 --json
