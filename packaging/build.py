"""Build Batcher for the machine this runs on (``make package``).

    python packaging/build.py [--clean] [--no-tarball]

Runs PyInstaller with ``packaging/batcher.spec`` into ``dist/`` (``dist/batcher-gui/``; on
macOS also ``dist/Batcher.app``). On Linux it then packs
``dist/batcher-<version>-linux-<arch>.tar.gz``: the app folder with ``install.sh`` and
``uninstall.sh`` (see packaging/README.md). Windows installers and macOS disk images are made
by ``packaging/windows/batcher.iss`` and ``packaging/macos/make-dmg.sh`` from this build.
Nothing is downloaded: PyInstaller and the app's packages come from the venv.
"""

from __future__ import annotations

import argparse
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
SPEC = ROOT / "packaging" / "batcher.spec"
LINUX_FILES = ROOT / "packaging" / "linux"


def version() -> str:
    text = (ROOT / "batcher_gui" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'__version__ = "([^"]+)"', text)
    assert found, "no __version__ in batcher_gui/__init__.py"
    return found.group(1)


def arch() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def pyinstaller(clean: bool) -> Path:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        sys.exit("PyInstaller is not installed: run `make package`, or "
                 "`pip install -e \".[package]\"` in this Python's environment")
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
               "--distpath", str(DIST), "--workpath", str(WORK), str(SPEC)]
    if clean:
        command.insert(3, "--clean")
    subprocess.run(command, cwd=ROOT, check=True)
    app = DIST / "batcher-gui"
    if not (app / ("batcher-gui.exe" if sys.platform == "win32" else "batcher-gui")).exists():
        sys.exit(f"PyInstaller did not make {app}")
    return app


def tarball(app: Path) -> Path:
    """dist/batcher-<v>-linux-<arch>.tar.gz: batcher-<v>/{batcher-gui/, install.sh, ...}."""
    top = f"batcher-{version()}"
    out = DIST / f"{top}-linux-{arch()}.tar.gz"

    def executable(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    with tarfile.open(out, "w:gz", compresslevel=6) as tar:
        tar.add(app, arcname=f"{top}/batcher-gui", filter=executable)
        for name in ("install.sh", "uninstall.sh", "batcher-gui-mime.xml"):
            tar.add(LINUX_FILES / name, arcname=f"{top}/{name}", filter=executable)
        tar.add(ROOT / "packaging" / "linux" / "README.txt", arcname=f"{top}/README.txt",
                filter=executable)
    return out


def size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()
               ) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true",
                        help="rebuild from scratch (ignore PyInstaller's cache in build/)")
    parser.add_argument("--no-tarball", action="store_true", help="Linux: only the app folder")
    args = parser.parse_args()
    started = time.perf_counter()
    for old in (DIST / "batcher-gui", DIST / "Batcher.app"):
        shutil.rmtree(old, ignore_errors=True)
    app = pyinstaller(args.clean)
    print(f"built {app.relative_to(ROOT)} ({size_mb(app):.0f} MB) in "
          f"{time.perf_counter() - started:.0f} s")
    if sys.platform.startswith("linux") and not args.no_tarball:
        out = tarball(app)
        print(f"packed {out.relative_to(ROOT)} ({size_mb(out):.0f} MB)")
    elif sys.platform == "darwin":
        print("macOS: dist/Batcher.app; make a disk image with packaging/macos/make-dmg.sh")
    elif sys.platform == "win32":
        print("Windows: make the installer with Inno Setup: "
              f"iscc /DAppVersion={version()} packaging\\windows\\batcher.iss")
    return 0


if __name__ == "__main__":
    sys.exit(main())
