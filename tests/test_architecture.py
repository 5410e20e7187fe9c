"""Layering is enforced by import-linter (contracts in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--config", str(REPO / "pyproject.toml")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout
    assert "Contracts: " in result.stdout and " kept, 0 broken" in result.stdout


def test_contracts_catch_a_violation(tmp_path: Path) -> None:
    """The forbidden-module contract really fails when storage imports Qt (it can fail)."""
    bad = REPO / "batcher_gui" / "storage" / "_arch_probe.py"
    bad.write_text("import PySide6  # noqa: F401\n")
    try:
        lint = Path(sys.executable).with_name("lint-imports")
        result = subprocess.run(
            [str(lint), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )
    finally:
        bad.unlink()
    assert result.returncode != 0
    assert "Only ui imports Qt" in result.stdout
