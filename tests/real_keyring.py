"""Running a child Python script under a real OS keyring: a private HOME, its own D-Bus
session and an unlocked gnome-keyring (Secret Service), as on a Linux desktop."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_with_keyring(tmp_path: Path, child: str, *, stdin: str | None = None,
                     env: dict[str, str] | None = None, timeout: float = 60
                     ) -> tuple[dict[str, Any], Path]:
    """Run ``child`` (Python source) there; returns the JSON it printed after ``RESULT `` and
    the private HOME. Skips when dbus-run-session or gnome-keyring-daemon is missing."""
    missing = [tool for tool in ("dbus-run-session", "gnome-keyring-daemon")
               if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the real keyring test needs {' and '.join(missing)} (Debian packages "
                    "dbus-daemon, gnome-keyring; `make sysdeps` installs them)")
    home = tmp_path / "home"
    home.mkdir()
    script_file = tmp_path / "child.py"
    script_file.write_text(child)
    full_env = {key: value for key, value in os.environ.items()
                if not key.startswith(("DBUS_", "XDG_", "PYTHON_KEYRING", "GNOME_KEYRING"))}
    full_env.update(HOME=str(home), PYTHONPATH=str(REPO), LANG="C.UTF-8", **(env or {}))
    script = ("echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; "
              f"exec {sys.executable} {script_file}")
    result = subprocess.run(["dbus-run-session", "--", "sh", "-c", script], input=stdin,
                            env=full_env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=timeout)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stdout + result.stderr
    return json.loads(lines[-1][len("RESULT "):]), home
