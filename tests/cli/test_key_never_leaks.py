"""An API key never reaches the database, settings, logs, batch/result files or exports."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BATCHER = str(Path(sys.executable).with_name("batcher"))
SECRET = "sk-live-TOPSECRET-0123456789abcdef"


@pytest.fixture
def sandbox_url(tmp_path: Path) -> Iterator[str]:
    proc = subprocess.Popen(
        [BATCHER, "sandbox", "serve", "--port", "0", "--state-dir", str(tmp_path / "provider"),
         "--steps-per-poll", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "BATCHER_SANDBOX_TOKEN": SECRET})  # the one key it answers
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/v1)", line)
        assert match, line + (proc.stderr.read() if proc.stderr else "")
        yield match.group(1)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_key_from_environment_is_used_but_never_stored(tmp_path: Path, sandbox_url: str) -> None:
    ws = tmp_path / "ws"
    env = {**os.environ, "LEAKY_KEY": SECRET, "OPENAI_API_KEY": SECRET}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([BATCHER, "-v", "--data-dir", str(ws), *args], env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result

    prompts = tmp_path / "p.jsonl"
    prompts.write_text("\n".join(json.dumps(
        {"custom_id": f"k{i}", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "m", "messages": [{"role": "user", "content": "hi"}]}})
        for i in range(3)) + "\n")
    outputs = [
        run("profile", "add", "leaky", "--kind", "openai-compatible", "--base-url", sandbox_url,
            "--key-env", "LEAKY_KEY"),
        run("config", "set", "poll_interval_seconds", "0.1"),
        run("config", "set", "auto_seal_quiet_seconds", "0"),
        run("import", str(prompts), "--profile", "leaky"),
        run("sync", "--wait", "--timeout", "60"),
        run("status"),
        run("batches", "--json"),
        run("profile", "list"),
        run("export", "p", "--out", str(tmp_path / "out.jsonl")),
        run("export", "p", "--out", str(tmp_path / "out.csv")),
    ]
    # The key was really used: the batch went through the provider.
    status = json.loads(run("status", "--json").stdout)
    assert status["runs"][0]["by_state"] == {"processed": 3}

    for result in outputs:
        assert SECRET not in result.stdout and SECRET not in result.stderr
    for path in [*ws.rglob("*"), tmp_path / "out.jsonl", tmp_path / "out.csv"]:
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"key found in {path}"
    # Also not in the SQLite pages (WAL included) under any encoding we write.
    with (ws / "batcher.sqlite3").open("rb") as fh:
        assert b"TOPSECRET" not in fh.read()
