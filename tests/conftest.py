"""Shared fixtures. Qt runs offscreen; an unexpected logged warning or error fails the test."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
for _var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "BATCHER_HOME", "BATCHER_DATABASE_URL",
             "DATABASE_URL", "BATCHER_SANDBOX_TOKEN"):
    os.environ.pop(_var, None)

import pytest  # noqa: E402

from batcher_gui.storage import Store, open_store  # noqa: E402
from tests.pg_cluster import REQUIRED_VARIABLE, PgCluster  # noqa: E402

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


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A throwaway PostgreSQL server for the whole session (started on first use)."""
    try:
        cluster = PgCluster()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        if os.environ.get(REQUIRED_VARIABLE):
            pytest.fail(f"PostgreSQL is needed for the tests and did not start: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """The URL of a fresh, migrated PostgreSQL workspace database (dropped afterwards)."""
    url = pg_cluster.new_database()
    yield url
    pg_cluster.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str | None:
    """Run the test on both databases: None (SQLite) or a fresh PostgreSQL database's URL."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(workspace: Path, backend: str | None) -> Iterator[Store]:
    """A real, migrated workspace database: a SQLite file, or PostgreSQL (both, in turn)."""
    s = open_store(workspace / "batcher.sqlite3", backend)
    yield s
    s.db.close()
