#!/bin/sh
# Remove what install.sh installed: the app, the batcher-gui/batcher commands, the menu entry,
# the icons, the .jsonl file type and Batcher as their program. Your workspaces
# (~/.local/share/batcher-gui by default) and window settings stay.
# Run it from the install (~/.local/opt/batcher-gui/uninstall.sh) or from the tarball (then
# set BATCHER_INSTALL_DIR as for install.sh if you chose another folder).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if [ -f "$here/.install-paths" ] && [ -x "$here/batcher-gui" ]; then
    appdir=$here
else
    appdir=${BATCHER_INSTALL_DIR:-$HOME/.local/opt/batcher-gui}
fi
data=${XDG_DATA_HOME:-$HOME/.local/share}
config=${XDG_CONFIG_HOME:-$HOME/.config}
bindir=${BATCHER_BIN_DIR:-$HOME/.local/bin}
if [ -f "$appdir/.install-paths" ]; then
    . "$appdir/.install-paths"  # where install.sh put things
fi
MIME_TYPES="application/x-ndjson application/jsonl"

echo "Removing Batcher from $appdir"
for cmd in batcher-gui batcher; do
    link="$bindir/$cmd"
    if [ -L "$link" ] && [ "$(readlink "$link")" = "$appdir/$cmd" ]; then
        rm -f "$link"
    fi
done
rm -f "$data/applications/batcher-gui.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
for size in 16 24 32 48 64 128 256 512; do
    rm -f "$data/icons/hicolor/${size}x${size}/apps/batcher-gui.png"
done
rm -f "$data/icons/hicolor/scalable/apps/batcher-gui.svg"
if [ -d "$data/icons/hicolor" ]; then
    touch "$data/icons/hicolor"
    if [ -f "$data/icons/hicolor/icon-theme.cache" ] && command -v gtk-update-icon-cache >/dev/null; then
        gtk-update-icon-cache -q -t -f "$data/icons/hicolor" || true
    fi
fi
if [ -f "$data/mime/packages/batcher-gui.xml" ]; then
    rm -f "$data/mime/packages/batcher-gui.xml"
    command -v update-mime-database >/dev/null && update-mime-database "$data/mime" || true
fi
mimeapps="$config/mimeapps.list"
if [ -f "$mimeapps" ]; then
    for type in $MIME_TYPES; do
        awk -v entry="$type=batcher-gui.desktop" '$0 != entry' "$mimeapps" > "$mimeapps.new" \
            && mv "$mimeapps.new" "$mimeapps"
    done
fi
if [ -x "$appdir/batcher-gui" ] && [ -d "$appdir/_internal" ]; then
    rm -rf "$appdir"
elif [ -e "$appdir" ]; then
    echo "  left $appdir alone: it does not look like a Batcher install" >&2
fi
echo "Batcher is uninstalled. Your workspaces (by default ${data}/batcher-gui) are still there."
