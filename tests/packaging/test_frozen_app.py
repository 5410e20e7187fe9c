"""The packaged app: build it with PyInstaller, run it, install its tarball into a fresh HOME.

Marked ``packaging``: ``make test`` leaves it out; ``.ci/run`` runs it after the main suite
(``pytest -m packaging tests/packaging``). Linux only (the Windows and macOS builds are made
by .github/workflows/release.yml on their own machines). Needs PyInstaller in the venv
(``pip install -e ".[package]"``; ``make package`` installs it).
"""

from __future__ import annotations

import configparser
import csv
import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import batcher_gui

REPO = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT = 1500  # two shared cores: a build takes 1-3 minutes

pytestmark = [
    pytest.mark.packaging,
    pytest.mark.timeout(BUILD_TIMEOUT + 300),
    pytest.mark.skipif(not sys.platform.startswith("linux"),
                       reason="the packaging test builds the Linux app"),
]


class Built:
    """The fresh build: the app folder and the tarball."""

    def __init__(self, app: Path, tarball: Path, seconds: float) -> None:
        self.app = app
        self.tarball = tarball
        self.seconds = seconds


@pytest.fixture(scope="module")
def built() -> Built:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        pytest.fail('PyInstaller is not installed: pip install -e ".[package]" (make package)')
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(REPO / "packaging" / "build.py")], cwd=REPO,
                          capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    assert done.returncode == 0, f"build failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    seconds = time.monotonic() - started
    tarball = REPO / "dist" / f"batcher-{batcher_gui.__version__}-linux-x86_64.tar.gz"
    app = REPO / "dist" / "batcher-gui"
    assert (app / "batcher-gui").is_file() and tarball.is_file(), done.stdout
    print(f"\nbuilt in {seconds:.0f} s: {_mb(app):.0f} MB folder, {_mb(tarball):.0f} MB tarball")
    return Built(app, tarball, seconds)


def _mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*")
               if p.is_file() and not p.is_symlink()) / 2**20


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A fresh HOME; the frozen app gets a clean environment pointing at it."""
    folder = tmp_path / "home"
    folder.mkdir()
    yield folder


def _env(home: Path, **extra: str) -> dict[str, str]:
    keep = ("PATH", "LANG", "TMPDIR", "NO_PROXY")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.update(HOME=str(home), LANG="C.UTF-8", QT_QPA_PLATFORM="offscreen",
               NO_PROXY="127.0.0.1,localhost")
    env.update(extra)
    return env


def _run(command: list[str], env: dict[str, str], timeout: float = 120,
         **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, capture_output=True, text=True,
                          timeout=timeout, **kwargs)  # type: ignore[call-overload]


def test_the_build_is_slim(built: Built) -> None:
    internal = built.app / "_internal"
    assert (internal / "resources" / "sample" / "sample-prompts.jsonl").is_file()
    assert (internal / "batcher_gui" / "storage" / "migrations" / "env.py").is_file()
    names = {p.name for p in internal.rglob("*")}
    for unwanted in ("libQt6Qml.so.6", "libQt6Quick.so.6", "libQt6Network.so.6",
                     "libQt6Pdf.so.6", "libQt6WebEngineCore.so.6", "libQt6PrintSupport.so.6"):
        assert unwanted not in names
    assert not (internal / "PySide6" / "Qt" / "translations").exists()
    assert _mb(built.app) < 175, f"the app folder grew to {_mb(built.app):.0f} MB"


def test_version_and_the_command_line(built: Built, home: Path, tmp_path: Path) -> None:
    env = _env(home)
    gui, cli = str(built.app / "batcher-gui"), str(built.app / "batcher")
    done = _run([gui, "--version"], env)
    assert done.returncode == 0 and done.stdout.strip() == f"Batcher {batcher_gui.__version__}"
    ws = str(tmp_path / "ws")
    done = _run([gui, "--cli", "--data-dir", ws, "status"], env)
    assert done.returncode == 0 and "No runs yet" in done.stdout, done.stderr

    # An Excel workbook (openpyxl, frozen), run on the built-in sandbox (a spawned process of
    # the frozen executable) through `batcher sync`, then exported.
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["id", "word"])
    for i in range(5):
        sheet.append([f"w{i}", f"word {i}"])
    xlsx = tmp_path / "words.xlsx"
    book.save(xlsx)
    done = _run([cli, "--data-dir", ws, "import", str(xlsx), "--profile", "sandbox",
                 "--model", "gpt-4o-mini", "--template", "Define {word}", "--id-column", "id"],
                env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _run([cli, "--data-dir", ws, "submit"], env).returncode == 0
    done = _run([cli, "--data-dir", ws, "sync", "--wait", "--timeout", "150"], env, timeout=200)
    assert done.returncode == 0, done.stdout + done.stderr
    out = tmp_path / "answers.csv"
    done = _run([cli, "--data-dir", ws, "export", "words", "--out", str(out)], env)
    assert done.returncode == 0, done.stdout + done.stderr
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["custom_id"] for r in rows] == [f"w{i}" for i in range(5)]
    assert all(r["state"] == "processed" and r["output_text"] for r in rows)

    # The same workbook through Claude (the frozen anthropic SDK, the sandbox's Claude face):
    # estimated by Anthropic's count_tokens, sent as a Message Batch, answered.
    claude = ["--profile", "sandbox-claude", "--model", "claude-haiku-4-5", "--template",
              "Define {word}", "--id-column", "id", "--max-tokens", "50"]
    done = _run([cli, "--data-dir", ws, "estimate", str(xlsx), *claude], env)
    assert done.returncode == 0 and "Claude's by the provider" in done.stdout, done.stderr
    done = _run([cli, "--data-dir", ws, "import", str(xlsx), *claude, "--name", "claude"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _run([cli, "--data-dir", ws, "submit"], env).returncode == 0
    done = _run([cli, "--data-dir", ws, "sync", "--wait", "--timeout", "150"], env, timeout=200)
    assert done.returncode == 0, done.stdout + done.stderr
    done = _run([cli, "--data-dir", ws, "export", "claude", "--out", str(out)], env)
    assert done.returncode == 0, done.stdout + done.stderr
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert all(r["state"] == "processed" and r["endpoint"] == "/v1/messages"
               and r["output_text"].startswith("Sandbox reply") for r in rows), rows

    # Review: a JSON Schema check (jsonschema and its metaschemas, frozen) and a compare.
    schema = tmp_path / "schema.json"
    schema.write_text('{"type": "object", "required": ["word"]}', encoding="utf-8")
    done = _run([cli, "--data-dir", ws, "checks", "words", "--schema", str(schema)], env)
    assert done.returncode == 0 and "0 passed, 5 failed" in done.stdout, done.stdout + done.stderr
    done = _run([cli, "--data-dir", ws, "compare", "words", "claude"], env)
    assert done.returncode == 0 and "Paired by custom_id: 5 pairs" in done.stdout, \
        done.stdout + done.stderr


def test_smoke_test(built: Built, home: Path) -> None:
    done = _run([str(built.app / "batcher-gui"), "--smoke-test"], _env(home), timeout=240)
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "frozen" in done.stdout and "smoke test passed" in done.stdout
    assert "through the reader process" in done.stdout  # the import's child process, frozen


def test_api_key_in_a_real_keyring(built: Built, home: Path, tmp_path: Path) -> None:
    """The frozen app finds keyring's Secret Service backend (secretstorage, jeepney)."""
    missing = [tool for tool in ("dbus-run-session", "gnome-keyring-daemon")
               if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {' and '.join(missing)} (Debian: dbus-daemon, gnome-keyring)")
    cli, ws = built.app / "batcher", tmp_path / "ws"
    script = (
        "echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; "
        f"printf sk-frozen-123 | '{cli}' --data-dir '{ws}' keys set openai && "
        f"'{cli}' --data-dir '{ws}' profile list && "
        f"'{cli}' --data-dir '{ws}' keys delete openai && "
        f"'{cli}' --data-dir '{ws}' profile list")
    done = _run(["dbus-run-session", "--", "sh", "-c", script], _env(home), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Stored the API key for 'openai'" in done.stdout
    first, second = done.stdout.split("Removed the API key")
    assert "key available" in first and "no key" in second


def test_the_tarball_installs_and_uninstalls(built: Built, home: Path, tmp_path: Path) -> None:
    with tarfile.open(built.tarball) as tar:
        tar.extractall(tmp_path / "unpacked", filter="tar")
    top = tmp_path / "unpacked" / f"batcher-{batcher_gui.__version__}"
    env = _env(home)
    done = _run(["sh", str(top / "install.sh")], env)
    assert done.returncode == 0, done.stdout + done.stderr

    data, appdir = home / ".local" / "share", home / ".local" / "opt" / "batcher-gui"
    desktop = data / "applications" / "batcher-gui.desktop"
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(desktop)
    assert entry["Desktop Entry"]["Exec"] == f'"{appdir}/batcher-gui" %F'
    assert entry["Desktop Entry"]["Icon"] == "batcher-gui"
    assert "application/x-ndjson" in entry["Desktop Entry"]["MimeType"]
    icons = [data / "icons" / "hicolor" / f"{s}x{s}" / "apps" / "batcher-gui.png"
             for s in (16, 24, 32, 48, 64, 128, 256, 512)]
    icons.append(data / "icons" / "hicolor" / "scalable" / "apps" / "batcher-gui.svg")
    assert all(icon.is_file() for icon in icons)
    mime = data / "mime" / "packages" / "batcher-gui.xml"
    assert mime.is_file()
    if shutil.which("update-mime-database"):
        assert "application/x-ndjson:*.jsonl" in (data / "mime" / "globs2").read_text()
    mimeapps = (home / ".config" / "mimeapps.list").read_text()
    assert "application/x-ndjson=batcher-gui.desktop" in mimeapps

    bindir = home / ".local" / "bin"
    ws = tmp_path / "ws"
    done = _run([str(bindir / "batcher"), "--data-dir", str(ws), "status"], env)
    assert done.returncode == 0 and "No runs yet" in done.stdout, done.stderr
    done = _run([str(bindir / "batcher-gui"), "--version"], env)
    assert done.stdout.strip() == f"Batcher {batcher_gui.__version__}"

    done = _run(["sh", str(appdir / "uninstall.sh")], env)
    assert done.returncode == 0, done.stdout + done.stderr
    leftovers = [p for p in [desktop, mime, appdir, bindir / "batcher", bindir / "batcher-gui",
                             *icons] if p.exists() or p.is_symlink()]
    assert leftovers == []
    assert "batcher-gui.desktop" not in (home / ".config" / "mimeapps.list").read_text()
    assert (ws / "batcher.sqlite3").is_file()  # the user's workspace stays
