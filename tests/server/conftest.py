"""``batcher serve`` as a user runs it: a real subprocess on a real workspace (a SQLite folder
or a PostgreSQL database), the sandbox provider as a process of its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from batcher_gui.storage import open_store
from tests.cli.conftest import BATCHER
from tests.cli.conftest import ENV as CLI_ENV
from tests.engine import team

#: The sandbox answers only this token; profiles read it from $SERVE_KEY.
KEY = "sk-serve-test-0123456789abcdefghij"
ENV = {**CLI_ENV, "SERVE_KEY": KEY, "BATCHER_SANDBOX_TOKEN": KEY,
       "NO_PROXY": "127.0.0.1,localhost"}


def http_get(url: str, timeout: float = 15) -> tuple[int, str, str]:
    """(status, content type, body) of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers["Content-Type"], exc.read().decode()


def wait_until(what: str, check: Callable[[], Any], timeout: float = 60,
               every: float = 0.1) -> Any:
    """Call ``check`` until it returns something true; that value (fails after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


class Workspace:
    """One workspace, SQLite (``url`` None) or PostgreSQL, seen from one machine's folder."""

    def __init__(self, folder: Path, url: str | None) -> None:
        self.folder = folder
        self.url = url

    def args(self, folder: Path | None = None) -> list[str]:
        base = ["--data-dir", str(folder or self.folder)]
        return [*base, "--database", self.url] if self.url else base

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([BATCHER, *self.args(), *args], capture_output=True, text=True,
                              env=ENV, timeout=timeout)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` (SQLite's words: both databases read them), straight from the
        database: the truth the served figures are checked against."""
        store = open_store(self.folder / "batcher.sqlite3", self.url)
        try:
            with store.db.read() as conn:
                return [tuple(row) for row in conn.exec_driver_sql(sql).all()]
        finally:
            store.db.close()


class Served:
    """A running ``batcher serve``: its JSON log lines (each one parsed as it arrives)."""

    def __init__(self, command: list[str], log_path: Path) -> None:
        self.lines: list[dict[str, Any]] = []
        self.bad_lines: list[str] = []
        self._stderr = log_path.open("w")
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self._stderr,
                                     text=True, env=ENV)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = wait_until("the listening line",
                              lambda: self.find(event="listening") or self._died())["url"]

    def _died(self) -> None:
        if self.proc.poll() is not None:
            self._reader.join(5)
            raise AssertionError(f"serve ended ({self.proc.returncode}) before listening: "
                                 f"{self.lines} {Path(self._stderr.name).read_text()}")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.lines.append(json.loads(line))
            except ValueError:
                self.bad_lines.append(line)

    def find(self, **fields: Any) -> dict[str, Any] | None:
        """The last log line with these fields, if any."""
        for line in reversed(list(self.lines)):
            if all(line.get(k) == v for k, v in fields.items()):
                return line
        return None

    def get(self, path: str) -> tuple[int, str, str]:
        return http_get(self.url + path)

    def health(self) -> dict[str, Any]:
        status, _type, body = self.get("/healthz")
        assert status in (200, 503), (status, body)
        return dict(json.loads(body))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Send ``sig``; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self.close()
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()

    @property
    def stderr(self) -> str:
        return Path(self._stderr.name).read_text()


StartServe = Callable[..., Served]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[StartServe]:
    """``serve(workspace, *extra_args, folder=None)`` starts ``batcher serve`` on a free port."""
    started: list[Served] = []

    def start(ws: Workspace, *extra: str, folder: Path | None = None) -> Served:
        command = [BATCHER, *ws.args(folder), "serve", "--listen", "127.0.0.1:0", *extra]
        served = Served(command, tmp_path / f"serve{len(started)}.stderr")
        started.append(served)
        return served

    yield start
    for served in started:
        served.close()


@pytest.fixture
def sqlite_or_pg(tmp_path: Path, backend: str | None) -> Workspace:
    """A workspace on each database in turn (PostgreSQL: a fresh migrated database)."""
    return Workspace(tmp_path / "machine-a", backend)


@pytest.fixture
def sandbox_process(tmp_path: Path) -> Iterator[str]:
    """``python -m batcher_gui.sandbox``: a batch takes a few seconds of wall time, so a
    SIGTERM can land while batches are at the provider. Yields its base URL."""
    log = (tmp_path / "sandbox.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "batcher_gui.sandbox", "--port", "0",
         "--state-dir", str(tmp_path / "sandbox"), "--step-seconds", "0.4",
         "--progress-steps", "4"],
        stdout=subprocess.PIPE, stderr=log, env={**os.environ, **ENV})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert "listening on http://" in line, line
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        log.close()


def provider_batches(base_url: str) -> list[dict[str, Any]]:
    """Every batch the sandbox holds (paged)."""
    return team.provider_batches(base_url, KEY)


def write_prompts(path: Path, n: int, prefix: str = "q") -> Path:
    lines = [{"custom_id": f"{prefix}{i}", "method": "POST", "url": "/v1/chat/completions",
              "body": {"model": "gpt-4o-mini",
                       "messages": [{"role": "user", "content": f"question {i}"}]}}
             for i in range(n)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path
