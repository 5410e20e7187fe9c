"""The entry points a packaged app relies on, run from source (part of the main suite).

``batcher-gui --cli ARGS`` is the command line; ``--smoke-test`` runs the sample end to end in
a temporary workspace. The packaged versions are checked by test_frozen_app.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import batcher_gui

GUI = [sys.executable, "-m", "batcher_gui"]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("BATCHER_HOME", "DATABASE_URL", "OPENAI_API_KEY")}
    env.update(HOME=str(tmp_path / "home"), QT_QPA_PLATFORM="offscreen", LANG="C.UTF-8",
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"))
    return env


def test_version_and_the_command_line_through_the_window_command(tmp_path: Path) -> None:
    env = _env(tmp_path)
    done = subprocess.run([*GUI, "--version"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == f"Batcher {batcher_gui.__version__}"
    ws = tmp_path / "ws"
    done = subprocess.run([*GUI, "--cli", "--data-dir", str(ws), "status"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "No runs yet" in done.stdout, done.stderr
    done = subprocess.run([*GUI, "a.jsonl", "--cli", "status"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "--cli must be the first argument" in done.stderr


def test_smoke_test_from_source(tmp_path: Path) -> None:
    done = subprocess.run([*GUI, "--smoke-test"], env=_env(tmp_path), capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "from source" in done.stdout and "smoke test passed" in done.stdout
    assert "all 34 prompts answered" in done.stdout
