"""A workspace is owner-only (folders 0700, files 0600) whatever the umask: a new one after a
real run, and an old 0755/0644 one once opened (the user is told once)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

from tests.cli.conftest import BATCHER, ENV, StartSandbox

TIGHTENED = "made owner-only"
SB_KEY = "sk-sandbox-any"  # the key the sandbox server is told to answer


def batcher(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([BATCHER, "--data-dir", str(ws), *args], capture_output=True,
                            text=True, env={**ENV, "SB_KEY": SB_KEY}, timeout=180,
                            preexec_fn=lambda: os.umask(0o022))  # the usual umask
    assert result.returncode == 0, (args, result.stderr)
    return result


def loose_entries(root: Path) -> list[str]:
    """Everything under ``root`` (itself included) that others may read or enter."""
    entries = [root, *root.rglob("*")]
    return [f"{p.relative_to(root.parent)} {stat.S_IMODE(p.lstat().st_mode):o}"
            for p in entries
            if stat.S_IMODE(p.lstat().st_mode) != (0o700 if p.is_dir() else 0o600)]


def run_once(ws: Path, sandbox_url: str, tmp_path: Path) -> list[subprocess.CompletedProcess[str]]:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("\n".join(json.dumps(
        {"custom_id": f"k{i}", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "m", "messages": [{"role": "user", "content": "hi"}]}})
        for i in range(3)) + "\n")
    return [
        batcher(ws, "profile", "add", "sb", "--kind", "openai-compatible", "--base-url",
                sandbox_url, "--key-env", "SB_KEY"),
        batcher(ws, "config", "set", "poll_interval_seconds", "0.1"),
        batcher(ws, "config", "set", "auto_seal_quiet_seconds", "0"),
        batcher(ws, "import", str(prompts), "--profile", "sb"),
        batcher(ws, "sync", "--wait", "--timeout", "60"),
        batcher(ws, "status"),
    ]


def test_a_new_workspace_is_owner_only_after_a_real_run(
        tmp_path: Path, sandbox_server: StartSandbox) -> None:
    ws = tmp_path / "ws"
    outputs = run_once(ws, sandbox_server("--steps-per-poll", "2", "--api-key", SB_KEY), tmp_path)
    assert json.loads(batcher(ws, "status", "--json").stdout)["runs"][0]["by_state"] == {
        "processed": 3}
    names = {p.name for p in ws.rglob("*")}
    assert {"batcher.sqlite3", "batcher.log", "batches", "results"} <= names
    assert any(name.endswith(".jsonl") for name in names)  # batch and result files too
    assert loose_entries(ws) == []
    assert not any(TIGHTENED in r.stderr for r in outputs)  # nothing was loose: nothing said


def test_an_old_loose_workspace_is_tightened_on_open_and_the_user_told_once(
        tmp_path: Path, sandbox_server: StartSandbox) -> None:
    ws = tmp_path / "ws"
    run_once(ws, sandbox_server("--api-key", SB_KEY), tmp_path)
    for path in [ws, *ws.rglob("*")]:  # as Batcher left workspaces before
        path.chmod(0o755 if path.is_dir() else 0o644)
    assert loose_entries(ws) != []

    first = batcher(ws, "status")
    assert TIGHTENED in first.stderr and "other users" in first.stderr
    assert loose_entries(ws) == []
    again = batcher(ws, "status")
    assert TIGHTENED not in again.stderr
