"""Shared fixtures. Qt runs offscreen; an unexpected logged warning or error fails the test."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
for _var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "BATCHER_HOME", "BATCHER_DATABASE_URL",
             "DATABASE_URL", "BATCHER_SANDBOX_TOKEN"):
    os.environ.pop(_var, None)

import pytest  # noqa: E402

from batcher_gui.storage import Store, open_store  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fail_on_unexpected_log(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    yield
    if request.node.get_closest_marker("expect_log"):
        return
    bad = [
        r for phase in ("setup", "call", "teardown") for r in caplog.get_records(phase)
        if r.levelno >= logging.WARNING
    ]
    if bad:
        lines = "\n".join(f"{r.levelname} {r.name}: {r.getMessage()}" for r in bad)
        pytest.fail(f"unexpected warnings/errors logged:\n{lines}")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty workspace folder."""
    root = tmp_path / "ws"
    root.mkdir()
    return root


@pytest.fixture
def store(workspace: Path) -> Iterator[Store]:
    """A real, migrated workspace database on disk."""
    s = open_store(workspace / "batcher.sqlite3")
    yield s
    s.db.close()
