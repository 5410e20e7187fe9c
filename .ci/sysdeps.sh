#!/usr/bin/env bash
# Installs the system packages Qt needs (offscreen and under Xvfb), fonts, and the tools the
# tests use — on Debian/Ubuntu (apt), only the missing ones, only as root. Safe to run again.
# Elsewhere it installs nothing: macOS needs nothing (the Qt wheels carry what they need);
# other Linux systems get a list of what to install if the window does not start.
set -euo pipefail
PKGS=(libglib2.0-0 libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 fonts-dejavu-core
      xvfb xauth libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
      dbus-daemon gnome-keyring binutils
      # Team workspaces: the tests start a throwaway PostgreSQL server (tests/pg_cluster.py).
      postgresql)

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  case "$(uname -s)" in
    Darwin) ;;  # nothing needed
    Linux)
      echo "sysdeps: no apt here; installing nothing. If the window does not start, install" \
           "with your package manager: OpenGL/EGL (mesa), libxkbcommon(-x11), fontconfig and" \
           "a font, D-Bus, and for X11 the xcb-cursor, xcb-icccm, xcb-keysyms and xcb-shape" \
           "libraries (Fedora: dnf install mesa-libGL mesa-libEGL libxkbcommon-x11" \
           "xcb-util-cursor xcb-util-wm xcb-util-keysyms fontconfig dejavu-sans-fonts)." >&2 ;;
    *) ;;
  esac
  exit 0
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them (as root): apt-get install -y --no-install-recommends ${missing[*]}" >&2
  echo "Continuing: the command line works without them; the window may not start." >&2
  exit 0
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
