#!/usr/bin/env bash
# Builds the Debian package from a build folder, unpacks it into a throwaway root and checks
# that what a user installs works: the CLI, the GUI (offscreen, for a second), the presets it
# finds, the desktop file and the AppStream metadata.
#   check_package.sh BUILD_DIR
set -euo pipefail
build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$build_dir" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/out/t2i-studio_*_amd64.deb)
echo "package: $(basename "$deb") ($(du -h "$deb" | cut -f1))"

depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for needed in libtorch libsentencepiece libqcustomplot libspdlog libopenblas0-pthread libqt6widgets6; do
  grep -q "$needed" <<<"$depends" || { echo "FAIL: Depends lacks $needed"; exit 1; }
done

root="$work/root"
dpkg-deb -x "$deb" "$root"
"$root/usr/bin/t2i" --version | grep -q "t2i-studio" || { echo "FAIL: installed t2i --version"; exit 1; }
"$root/usr/bin/t2i" info >/dev/null
"$root/usr/bin/t2i" presets | grep -q "share/t2i-studio/presets/demo.json" || { echo "FAIL: the installed CLI does not find its presets"; exit 1; }
demo_model="$root/usr/share/t2i-studio/demo/demo.safetensors"
if [[ -f "$source_dir/resources/demo/demo.safetensors" ]]; then
  test -f "$demo_model" || { echo "FAIL: the package lacks the demo model"; exit 1; }
fi
if [[ -f "$demo_model" ]]; then
  "$root/usr/bin/t2i" sample --checkpoint "$demo_model" --prompt "a red circle" --steps 4 --seed 1 --out "$work/samples" >/dev/null ||
    { echo "FAIL: the installed CLI cannot sample from the installed demo model"; exit 1; }
fi
demo_cascade="$root/usr/share/t2i-studio/demo/demo-cascade.json"
if [[ -f "$source_dir/resources/demo/demo-cascade.json" ]]; then
  "$root/usr/bin/t2i" sample --cascade "$demo_cascade" --prompt "a red circle" --steps 4,4 --seed 1 --out "$work/cascade" >/dev/null ||
    { echo "FAIL: the installed CLI cannot sample the installed demo cascade"; exit 1; }
fi
QT_QPA_PLATFORM=offscreen "$root/usr/bin/t2i-studio" --quit-after 1000 >"$work/studio.log" 2>&1 ||
  { cat "$work/studio.log"; echo "FAIL: installed t2i-studio did not start and quit"; exit 1; }
desktop-file-validate "$root/usr/share/applications/org.t2istudio.Studio.desktop"
appstreamcli validate --no-net "$root/usr/share/metainfo/org.t2istudio.Studio.metainfo.xml" >/dev/null
test -f "$root/usr/share/icons/hicolor/256x256/apps/t2i-studio.png"
test -f "$root/usr/share/man/man1/t2i.1.gz" || test -f "$root/usr/share/man/man1/t2i.1"
echo "package check passed"
