#!/usr/bin/env bash
# The README's run command: installs, builds and launches t2i-studio on its built-in demo.
# Without a display, run it as: QT_QPA_PLATFORM=offscreen scripts/run.sh  (or under xvfb-run).
# Arguments go to the application (e.g. --quit-after 3000).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}

"$root/scripts/build.sh"
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
  echo "run: no display found; starting on the offscreen platform (set DISPLAY or use xvfb-run to see the window)" >&2
  export QT_QPA_PLATFORM=offscreen
fi
exec "$build_dir/app/t2i-studio" --demo "$@"
