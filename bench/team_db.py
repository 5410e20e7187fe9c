"""``--database pg`` for the benches: a throwaway PostgreSQL server (tests/pg_cluster.py) and
a fresh workspace database on it, stopped when the bench ends."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def database_url(given: str | None) -> Iterator[str | None]:
    """``given`` as it is, or for ``"pg"`` the URL of a new database on a throwaway server."""
    if given != "pg":
        yield given
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.pg_cluster import PgCluster

    cluster = PgCluster()
    try:
        yield cluster.new_database()
    finally:
        cluster.stop()
