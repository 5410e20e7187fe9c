"""The views see another process's writes: ``data_version`` changes after a commit made
elsewhere — on PostgreSQL by the notification every write sends, and by the polling fallback
when a write sends none (another program's)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batcher_gui.storage import Store
from batcher_gui.storage.views import ViewQueries

REPO = Path(__file__).resolve().parents[2]

#: Another process: a label renamed through Batcher's own write (which notifies on PostgreSQL).
_BATCHER_WRITE = """
import sys
from pathlib import Path
from batcher_gui.storage import open_store
url = sys.argv[2] if len(sys.argv) > 2 else None
store = open_store(Path(sys.argv[1]), url)
with store.db.write() as conn:
    conn.exec_driver_sql("UPDATE label_names SET name = 'elsewhere' WHERE key = 1")
store.db.close()
"""

#: Another program writing with psycopg: no notification at all.
_PLAIN_WRITE = """
import sys
import psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    conn.execute("UPDATE label_names SET name = 'by hand' WHERE key = 2")
"""


def _run(script: str, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", script, *args], check=True, env=env, timeout=120,
                   capture_output=True)


def _changed(views: ViewQueries, before: int, seconds: float) -> bool:
    """Whether data_version moves from ``before`` within ``seconds`` (polled as the window
    does, every second at most)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if views.data_version() != before:
            return True
        time.sleep(0.2)
    return False


def test_a_write_from_another_process_changes_the_data_version(store: Store) -> None:
    views = ViewQueries(store.db.url or store.db.path)
    try:
        before = views.data_version()
        assert views.data_version() == before  # nothing happened: no refresh
        _run(_BATCHER_WRITE, str(store.db.path), *([store.db.url] if store.db.url else []))
        assert _changed(views, before, 10)
        assert views.label_names()[1] == "elsewhere"  # and the change is read at once
    finally:
        views.close()


def test_postgresql_notices_a_write_that_sent_no_notification(pg_url: str) -> None:
    views = ViewQueries(pg_url)
    try:
        before = views.data_version()
        _run(_PLAIN_WRITE, pg_url)
        # The server's write statistics trail a write (by up to ten seconds).
        assert _changed(views, before, 30)
        assert views.label_names()[2] == "by hand"
    finally:
        views.close()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_running_query_is_stopped_by_interrupt(store: Store) -> None:
    """PostgreSQL's cancel plays SQLite's interrupt(): the query raises what the reader turns
    into Superseded, and the connection reads on."""
    import threading

    from batcher_gui.storage.readconn import interrupted

    views = ViewQueries(store.db.url or store.db.path)
    try:
        conn = views._conn
        started = threading.Event()
        errors: list[BaseException] = []

        def slow() -> None:
            started.set()
            try:
                conn.execute("SELECT pg_sleep(30)")
            except Exception as exc:
                errors.append(exc)

        worker = threading.Thread(target=slow)
        worker.start()
        started.wait()
        while not errors and worker.is_alive():
            views.interrupt()  # again until it lands: the statement may not have begun yet
            worker.join(0.2)
        worker.join()
        assert len(errors) == 1 and interrupted(errors[0])
        assert views.label_names()  # the same connection answers the next query
    finally:
        views.close()
