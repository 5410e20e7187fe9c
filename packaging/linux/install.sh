#!/bin/sh
# Install Batcher for the current user (no root, nothing outside your home folder):
#   the app          ~/.local/opt/batcher-gui/          (BATCHER_INSTALL_DIR to choose another)
#   commands         ~/.local/bin/batcher-gui, batcher  (BATCHER_BIN_DIR to choose another)
#   menu entry       ~/.local/share/applications/batcher-gui.desktop
#   icons            ~/.local/share/icons/hicolor/<size>/apps/batcher-gui.png (and .svg)
#   .jsonl files     ~/.local/share/mime/packages/batcher-gui.xml; Batcher opens them
#                    unless you already chose another program for them (~/.config/mimeapps.list)
# Run it again to update; uninstall with ~/.local/opt/batcher-gui/uninstall.sh.
# Your workspaces (~/.local/share/batcher-gui by default) are never touched.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
config=${XDG_CONFIG_HOME:-$HOME/.config}
appdir=${BATCHER_INSTALL_DIR:-$HOME/.local/opt/batcher-gui}
bindir=${BATCHER_BIN_DIR:-$HOME/.local/bin}
MIME_TYPES="application/x-ndjson application/jsonl"

fail() { echo "install.sh: $*" >&2; exit 1; }
quote() { printf "'%s'" "$(printf %s "$1" | sed "s/'/'\\\\''/g")"; }

[ -x "$here/batcher-gui/batcher-gui" ] || fail "run me from the unpacked tarball (no batcher-gui/ beside me)"
case $appdir in
    /*) ;;
    *) fail "BATCHER_INSTALL_DIR must be an absolute path" ;;
esac
case $appdir in  # it goes into the desktop entry's Exec= line and into sed
    *[\"\`\$\\\|\&%]*) fail "choose an install folder without \" \` \$ \\ | & % in its name" ;;
esac
"$here/batcher-gui/batcher-gui" --version >/dev/null 2>&1 \
    || fail "the app does not start here: $("$here/batcher-gui/batcher-gui" --version 2>&1 | tail -n 3)"
version=$("$here/batcher-gui/batcher-gui" --version)

echo "Installing $version into $appdir"
# 1. The app, replacing an earlier install at once.
mkdir -p "$(dirname "$appdir")"
rm -rf "$appdir.new"
cp -a "$here/batcher-gui" "$appdir.new"
cp "$here/uninstall.sh" "$here/batcher-gui-mime.xml" "$appdir.new/"
{
    echo "# written by install.sh, read by uninstall.sh"
    echo "bindir=$(quote "$bindir")"
    echo "data=$(quote "$data")"
    echo "config=$(quote "$config")"
} > "$appdir.new/.install-paths"
rm -rf "$appdir"
mv "$appdir.new" "$appdir"
res="$appdir/_internal/resources"

# 2. The commands.
mkdir -p "$bindir"
for cmd in batcher-gui batcher; do
    if [ -e "$bindir/$cmd" ] && [ ! -L "$bindir/$cmd" ]; then
        echo "  left $bindir/$cmd alone: it is not a link an earlier install made"
        continue
    fi
    ln -sfn "$appdir/$cmd" "$bindir/$cmd"
done

# 3. Icons.
for size in 16 24 32 48 64 128 256 512; do
    mkdir -p "$data/icons/hicolor/${size}x${size}/apps"
    cp "$res/icons/batcher-$size.png" "$data/icons/hicolor/${size}x${size}/apps/batcher-gui.png"
done
mkdir -p "$data/icons/hicolor/scalable/apps"
cp "$res/icons/batcher.svg" "$data/icons/hicolor/scalable/apps/batcher-gui.svg"
touch "$data/icons/hicolor"  # icon caches compare their folder's time
if [ -f "$data/icons/hicolor/icon-theme.cache" ] && command -v gtk-update-icon-cache >/dev/null; then
    gtk-update-icon-cache -q -t -f "$data/icons/hicolor" || true
fi

# 4. The menu entry: the shipped one, with this install's path.
mkdir -p "$data/applications"
desktop="$data/applications/batcher-gui.desktop"
while IFS= read -r line || [ -n "$line" ]; do
    case $line in
        Exec=*) echo "Exec=\"$appdir/batcher-gui\" %F"; echo "TryExec=$appdir/batcher-gui" ;;
        TryExec=*) ;;
        MimeType=*) echo "$line" | sed 's|application/x-ndjson;|application/x-ndjson;application/jsonl;|' ;;
        *) echo "$line" ;;
    esac
done < "$res/batcher-gui.desktop" > "$desktop.new"
mv "$desktop.new" "$desktop"

# 5. .jsonl files: their type, and Batcher as their program unless one was chosen.
mkdir -p "$data/mime/packages"
cp "$here/batcher-gui-mime.xml" "$data/mime/packages/batcher-gui.xml"
if command -v update-mime-database >/dev/null; then
    update-mime-database "$data/mime" || true
else
    echo "  note: update-mime-database (package shared-mime-info) is missing: .jsonl files"
    echo "        are recognised once it has run (usually at your next login)"
fi
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
mkdir -p "$config"
mimeapps="$config/mimeapps.list"
for type in $MIME_TYPES; do
    if ! grep -qs "^$type=" "$mimeapps"; then
        [ -f "$mimeapps" ] || : > "$mimeapps"
        awk -v entry="$type=batcher-gui.desktop" '
            { print }
            $0 == "[Default Applications]" && !done { print entry; done = 1 }
            END { if (!done) { if (NR) print ""; print "[Default Applications]"; print entry } }
        ' "$mimeapps" > "$mimeapps.new" && mv "$mimeapps.new" "$mimeapps"
    fi
done

echo "Installed. Start Batcher from your applications menu, or run: batcher-gui"
echo "  command line: batcher --help      uninstall: $appdir/uninstall.sh"
case ":$PATH:" in
    *":$bindir:"*) ;;
    *) echo "  note: $bindir is not on your PATH: add it (e.g. in ~/.profile) to type batcher" ;;
esac
