"""The CLI as a user meets it: real subprocesses, a real sandbox server process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

BATCHER = str(Path(sys.executable).with_name("batcher"))
#: No OS keyring in these tests: a profile without a key has none.
ENV = {k: v for k, v in os.environ.items()
       if k not in ("BATCHER_HOME", "BATCHER_DATABASE_URL", "DATABASE_URL", "OPENAI_API_KEY",
                     "ANTHROPIC_API_KEY", "BATCHER_SANDBOX_TOKEN")}
ENV["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"


class Cli:
    """``batcher --data-dir <ws> ...`` for one workspace."""

    def __init__(self, ws: Path) -> None:
        self.ws = ws

    def __call__(self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None,
                 timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run([BATCHER, "--data-dir", str(self.ws), *args], capture_output=True,
                              text=True, env={**ENV, **(env or {})}, input=stdin,
                              timeout=timeout)

    def ok(self, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        result = self(*args, **kwargs)  # type: ignore[arg-type]
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        return result

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen([BATCHER, "--data-dir", str(self.ws), *args],
                                env={**ENV, **(env or {})},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "ws")


StartSandbox = Callable[..., str]


@pytest.fixture
def sandbox_server(tmp_path: Path) -> Iterator[StartSandbox]:
    """``sandbox_server("--fail-batch", "x")``: a sandbox process; returns its base URL."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> str:
        proc = subprocess.Popen(
            [BATCHER, "sandbox", "serve", "--port", "0", "--state-dir",
             str(tmp_path / f"provider{len(procs)}"), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/v1)", line)
        assert match, line
        return match.group(1)

    yield start
    for proc in procs:
        proc.terminate()
        proc.communicate(timeout=15)


def text_file(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path
