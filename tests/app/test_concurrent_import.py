"""A million-line import in one process while another drives the workspace (the window and a
terminal, or two terminals): the driver keeps going, and "database is locked" kills nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.app.conftest import write_chat

CLI = [sys.executable, "-m", "batcher_gui.cli"]


def _cli(ws: Path, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*CLI, "--data-dir", str(ws), *args], capture_output=True, text=True,
                          timeout=600, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done  # type: ignore[no-any-return]


@pytest.mark.slow
def test_a_million_line_import_while_sync_runs(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "batcher_gui.sandbox", "--port", "0", "--state-dir",
         str(tmp_path / "sandbox"), "--steps-per-poll", "1", "--progress-steps", "40"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "BATCHER_SANDBOX_TOKEN": "sk-x"})  # the key SB_KEY gives below
    try:
        assert server.stdout is not None
        url = server.stdout.readline().rsplit(" ", 1)[1].strip()
        ws = tmp_path / "ws"
        _cli(ws, "profile", "add", "sb", "--base-url", url, "--key-env", "SB_KEY")
        _cli(ws, "config", "set", "poll_interval_seconds", "0.2")
        small = write_chat(tmp_path / "small.jsonl", 20)
        _cli(ws, "import", str(small), "--profile", "sb", "--name", "small")
        _cli(ws, "submit", "--run", "small")
        big = write_chat(tmp_path / "big.jsonl", 1_000_000)
        env = {**os.environ, "SB_KEY": "sk-x"}
        sync = subprocess.Popen([*CLI, "--data-dir", str(ws), "sync", "--wait", "--timeout",
                                 "300"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        started = time.monotonic()
        imported = _cli(ws, "import", str(big), "--profile", "sb", "--name", "big")
        import_seconds = time.monotonic() - started
        assert "Imported 1,000,000 prompts" in imported.stdout
        # The driver went on while the import wrote: its batch moved meanwhile.
        polls_during_import = sync.poll() is not None or _batch_moved(ws)
        _cli(ws, "cancel", "--run", "big")  # not sending a million prompts from a test
        out, err = sync.communicate(timeout=300)
        assert sync.returncode == 0, err
        assert "locked" not in err and "Traceback" not in err
        assert "batch #1 (run #1): completed" in out + err
        assert polls_during_import, f"no progress during the {import_seconds:.0f} s import"
        status = _cli(ws, "status").stdout
        assert "20 prompts   20 done" in status
        # Full batches of the big run were sealed as the import wrote them, and the driver
        # (woken by the import) may have sent one before the cancel: what it answered is kept,
        # the rest is cancelled, nothing is left pending or in flight.
        (big_run,) = [r for r in json.loads(_cli(ws, "status", "--json").stdout)["runs"]
                      if r["name"] == "big"]
        groups = big_run["groups"]
        assert big_run["prompts"] == 1_000_000 and groups["cancelled"] > 0
        assert groups["done"] + groups["cancelled"] == 1_000_000, groups
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        if server.stdout is not None:
            server.stdout.close()


def _batch_moved(ws: Path) -> bool:
    import sqlite3

    conn = sqlite3.connect(ws / "batcher.sqlite3")
    try:
        moves = conn.execute("SELECT count(*) FROM batch_transitions WHERE batch_id = 1"
                             ).fetchone()[0]
    finally:
        conn.close()
    return bool(moves >= 4)
