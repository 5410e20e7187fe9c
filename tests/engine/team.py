"""A team workspace run by real processes: one PostgreSQL database, "machines" that are
``batcher`` processes with local folders of their own, and the sandbox as a server process of
its own so every engine talks to the same provider (whose batches can then be counted).

Used by the multi-process tests and by ``bench/takeover.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import psycopg

CLI = [sys.executable, "-m", "batcher_gui.cli"]
KEY = "sk-team"
ENV = {**os.environ, "TEAM_KEY": KEY, "BATCHER_SANDBOX_TOKEN": KEY,
       "NO_PROXY": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1",
       "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
IN_FLIGHT = ("validating", "in_progress", "finalizing")


class SandboxProcess:
    """``python -m batcher_gui.sandbox`` on a free port (batches take ``progress_steps``
    polls to finish, so they are in flight for a while)."""

    def __init__(self, state_dir: Path, progress_steps: int = 8) -> None:
        self._log = (state_dir.parent / "sandbox.log").open("wb")
        self.proc = subprocess.Popen(
            [*CLI[:1], "-m", "batcher_gui.sandbox", "--port", "0", "--state-dir",
             str(state_dir), "--steps-per-poll", "1", "--progress-steps", str(progress_steps)],
            stdout=subprocess.PIPE, stderr=self._log, env=ENV)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        if "listening on http://" not in line:
            self.stop()
            raise AssertionError(f"the sandbox did not start: {line!r}")
        self.base_url = line.rsplit(" ", 1)[1].strip()

    def provider_batches(self) -> list[dict[str, Any]]:
        """Every batch created at the sandbox (all pages)."""
        return provider_batches(self.base_url, KEY)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


class Team:
    """One PostgreSQL workspace and the folders of the machines that use it."""

    def __init__(self, url: str, base: Path, sandbox_url: str) -> None:
        self.url = url
        self.base = base
        self.sandbox_url = sandbox_url
        self._logs: list[Any] = []

    def machine(self, name: str) -> list[str]:
        """The CLI's workspace options for machine ``name`` (a local folder of its own)."""
        return ["--database", self.url, "--data-dir", str(self.base / name)]

    def cli(self, machine: str, *args: str, timeout: float = 120) -> str:
        done = subprocess.run([*CLI, *self.machine(machine), *args], env=ENV,
                              capture_output=True, timeout=timeout, check=False)
        assert done.returncode == 0, (args, done.stdout.decode(), done.stderr.decode())
        return done.stdout.decode()

    def set_up(self, *, max_requests: int = 10) -> None:
        """A profile on the sandbox (each machine's key from its environment), fast polls,
        drafts sent at once."""
        self.cli("a", "profile", "add", "team", "--kind", "openai-compatible", "--base-url",
                 self.sandbox_url, "--key-env", "TEAM_KEY", "--max-requests", str(max_requests))
        self.cli("a", "config", "set", "poll_interval_seconds", "0.2")
        self.cli("a", "config", "set", "auto_seal_quiet_seconds", "0")

    def import_prompts(self, machine: str, n: int, name: str = "work") -> None:
        path = self.base / f"{name}.jsonl"
        path.write_bytes(b"".join(orjson.dumps({
            "custom_id": f"{name}-{i}", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini",
                     "messages": [{"role": "user", "content": f"{name} question {i}"}]},
        }) + b"\n" for i in range(n)))
        self.cli(machine, "import", str(path), "--profile", "team", "--name", name)

    def sync(self, machine: str, timeout: float = 90) -> subprocess.Popen[bytes]:
        """``batcher sync --wait`` on ``machine``: an engine process (its output in a log)."""
        log = (self.base / f"sync-{machine}.log").open("ab")
        self._logs.append(log)
        return subprocess.Popen(
            [*CLI, *self.machine(machine), "sync", "--wait", "--timeout", str(timeout)],
            env=ENV, stdout=log, stderr=subprocess.STDOUT)

    def log_of(self, machine: str) -> str:
        return (self.base / f"sync-{machine}.log").read_text(errors="replace")

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def driver_pid(self) -> int | None:
        rows = self.query("SELECT pid FROM engine_lease")
        return int(rows[0][0]) if rows else None

    def wait_for(self, what: str, check: Any, timeout: float = 60, step: float = 0.02,
                 ) -> float:
        """Poll ``check()`` until true; returns the seconds it took."""
        started = time.monotonic()
        while not check():
            if time.monotonic() - started > timeout:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(step)
        return time.monotonic() - started

    def close(self) -> None:
        for log in self._logs:
            log.close()


def provider_batches(base_url: str, key: str) -> list[dict[str, Any]]:
    """Every batch a sandbox server holds (all pages): what was created at the provider."""
    found: list[dict[str, Any]] = []
    after = ""
    while True:
        request = urllib.request.Request(f"{base_url}/batches?limit=100{after}",
                                         headers={"Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(request, timeout=10) as resp:
            page = orjson.loads(resp.read())
        found += page["data"]
        if not page["has_more"]:
            return found
        after = f"&after={page['last_id']}"
