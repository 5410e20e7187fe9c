#!/bin/sh
# macOS disk image of dist/Batcher.app (made by `python packaging/build.py` on a Mac):
#   packaging/macos/make-dmg.sh  ->  dist/batcher-<version>-macos-<arch>.dmg
# The image holds Batcher.app and a link to /Applications to drag it onto. Uses hdiutil
# (part of macOS). The app is ad-hoc signed by PyInstaller, not notarized: the first start
# needs right-click -> Open (or System Settings -> Privacy & Security -> Open Anyway).
# Written from hdiutil's manual; not run here (it needs macOS).
set -eu

cd "$(dirname "$0")/../.."
app=dist/Batcher.app
[ -d "$app" ] || { echo "make-dmg.sh: build $app first (python packaging/build.py)" >&2; exit 1; }
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' batcher_gui/__init__.py)
arch=$(uname -m)
out="dist/batcher-$version-macos-$arch.dmg"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
rm -f "$out"
hdiutil create -volname "Batcher $version" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$out"
hdiutil verify "$out"
echo "made $out"
