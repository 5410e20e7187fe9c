"""Kill ``batcher sync`` at random moments, over and over: nothing lost, nothing done twice.

The sandbox runs as its own process, the workspace is built and driven with the real CLI, and
each ``sync --wait`` is SIGKILLed a random 0.05-1.5 s after its engine took the workspace lease
(the CLI spends its first second importing the SDK; killing it there would test nothing). New
prompts are imported every few kills, so kills land across the whole batch lifecycle, and
whenever the workspace has run out of work: a fast machine finishes a wave between two kills,
and a kill of an idle ``sync`` proves nothing (the loop once waited for kills that could no
longer come). So the test is paced by kills, never by the machine's speed, and bounded in rounds.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from batcher_gui.domain.models import ImportOptions
from batcher_gui.engine.run_import import import_file
from batcher_gui.sandbox import SandboxConfig
from batcher_gui.storage import open_store

SEED = 20240611
KILLS = 20
WAVES = 5  # imported on a schedule (every KILLS // WAVES kills) ...
MAX_WAVES = 12  # ... and more whenever the work ran out before KILLS kills
MAX_ROUNDS = 3 * KILLS  # one `sync` each; all but a few end in a kill
PER_WAVE = 120  # 40 for profile "crash" (one batch), 40 for "small" (two batches of 20),
# 40 for "claude" (Anthropic's Message Batches on the sandbox's Claude face, batches of 20)
IN_FLIGHT = frozenset({"ready_for_upload", "uploading", "validating", "in_progress",
                       "finalizing", "downloading"})
CLI = [sys.executable, "-m", "batcher_gui.cli"]
# The sandbox answers only its token (given here, so the profile can be pointed at it).
ENV = {**os.environ, "CRASH_KEY": "sk-x", "BATCHER_SANDBOX_TOKEN": "sk-x",
       "NO_PROXY": "127.0.0.1,localhost",
       "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


@pytest.fixture
def sandbox_process(tmp_path: Path) -> Iterator[str]:
    """``python -m batcher_gui.sandbox`` on a free port; yields its base URL."""
    assert SandboxConfig().steps_per_poll == 1
    log = (tmp_path / "sandbox.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "batcher_gui.sandbox", "--port", "0",
         "--state-dir", str(tmp_path / "sandbox"), "--steps-per-poll", "1",
         "--progress-steps", "6", "--seed", str(SEED),
         # lost create answers (the batch exists, the client never hears) and light 5xx noise
         "--fault", "batches.create=0.2:500_after,drop_after",
         "--fault", "messages.batches.create=0.2:500_after,drop_after",
         "--fault", "*=0.05:429,500"],
        stdout=subprocess.PIPE, stderr=log, env=ENV)
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


def _cli(data_dir: Path, *args: str, timeout: float = 60) -> str:
    done = subprocess.run([*CLI, "--data-dir", str(data_dir), *args], env=ENV,
                          capture_output=True, timeout=timeout, check=False)
    assert done.returncode == 0, (args, done.stdout.decode(), done.stderr.decode())
    return done.stdout.decode()


def _query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _get(url: str) -> Any:
    """GET with the test's key, retrying the sandbox's injected 429/500 faults."""
    request = urllib.request.Request(url, headers={"Authorization": "Bearer sk-x"})
    for _ in range(20):
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return orjson.loads(resp.read())
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code not in (429, 500):
                raise
    raise AssertionError(f"GET {url} kept failing")


def _provider_batches(base_url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = ""
    while True:
        page = _get(f"{base_url}/batches?limit=100{after}")
        found += page["data"]
        if not page["has_more"]:
            return found
        after = f"&after={page['last_id']}"


def _write_wave(path: Path, wave: int, rng: random.Random, claude: bool = False) -> None:
    lines = []
    for i in range(PER_WAVE // 3):
        text = f"wave {wave} question {i}"
        if rng.random() < 0.05:  # a retryable line: goes round a second time
            text += " #overloaded" if claude else " #server_error"
        message = {"role": "user", "content": text}
        lines.append({"custom_id": f"w{wave}-{i}", "method": "POST",
                      "url": "/v1/messages", "body": {"model": "claude-haiku-4-5",
                                                      "max_tokens": 50, "messages": [message]}}
                     if claude else
                     {"custom_id": f"w{wave}-{i}", "method": "POST",
                      "url": "/v1/chat/completions",
                      "body": {"model": "gpt-4o-mini", "messages": [message]}})
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))


def _import_wave(tmp_path: Path, db: Path, wave: int, rng: random.Random) -> None:
    # In-process (the CLI takes a second to start): the same import_file `batcher import` runs.
    store = open_store(db)
    try:
        for n, profile in enumerate(("crash", "small", "claude")):
            path = tmp_path / f"wave{wave}-{profile}.jsonl"
            _write_wave(path, wave * 3 + n, rng, claude=profile == "claude")
            import_file(store, path, ImportOptions(), profile_name=profile)
    finally:
        store.db.close()


def _work_left(db: Path) -> bool:
    """Whether `sync` has anything left to do: a prompt without its outcome, a batch not done."""
    [(prompts,)] = _query(db, "SELECT count(*) FROM prompts WHERE state != 'processed'")
    [(batches,)] = _query(db, "SELECT count(*) FROM batches WHERE state != 'completed' "
                              "OR intent IS NOT NULL")
    return bool(prompts or batches)


def _wait_for_lease(db: Path, proc: subprocess.Popen[bytes]) -> bool:
    """True once the process's engine holds the lease; False if it ended before that."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if _query(db, "SELECT pid FROM engine_lease") == [(proc.pid,)]:
            return True
        time.sleep(0.02)
    raise AssertionError("the engine never took the lease")


@pytest.mark.slow
def test_sigkill_at_random_moments(tmp_path: Path, sandbox_process: str) -> None:
    base_url = sandbox_process
    ws = tmp_path / "ws"
    db = ws / "batcher.sqlite3"
    rng = random.Random(SEED)
    _cli(ws, "profile", "add", "crash", "--kind", "openai-compatible", "--base-url", base_url,
         "--key-env", "CRASH_KEY")
    _cli(ws, "profile", "add", "small", "--kind", "openai-compatible", "--base-url", base_url,
         "--key-env", "CRASH_KEY", "--max-requests", "20")
    _cli(ws, "profile", "add", "claude", "--kind", "anthropic", "--base-url", base_url,
         "--key-env", "CRASH_KEY", "--max-requests", "20")
    _cli(ws, "config", "set", "poll_interval_seconds", "0.1")
    _cli(ws, "config", "set", "auto_seal_quiet_seconds", "0")

    kills = 0
    wave = 0
    rounds = 0
    at_kill: Counter[str] = Counter()  # kills that left a batch in this state
    busy_kills = 0
    sync_log = (tmp_path / "sync.log").open("ab")

    def sync() -> subprocess.Popen[bytes]:
        return subprocess.Popen([*CLI, "--data-dir", str(ws), "sync", "--wait", "--timeout",
                                 "90"], env=ENV, stdout=subprocess.DEVNULL, stderr=sync_log)

    # The next `sync` starts while the current one drives: it waits for the lease (and takes
    # it over from the killed process at once), so its start-up costs no wall time.
    following: subprocess.Popen[bytes] | None = sync()
    try:
        while kills < KILLS:
            rounds += 1
            assert rounds <= MAX_ROUNDS, f"only {kills} kills in {MAX_ROUNDS} rounds"
            scheduled = wave < WAVES and kills >= wave * (KILLS // WAVES)
            if scheduled or not _work_left(db):  # never kill a `sync` that has nothing to do
                assert wave < MAX_WAVES, f"work ran out after {kills} kills and {wave} waves"
                _import_wave(tmp_path, db, wave, rng)
                wave += 1
            assert following is not None
            current, following = following, None
            try:
                took_lease = _wait_for_lease(db, current)
                following = sync()
                if took_lease:
                    try:  # a `sync` that runs out of work ends early: no need to sleep on
                        current.wait(rng.uniform(0.05, 1.5))
                    except subprocess.TimeoutExpired:
                        pass
            finally:
                if current.poll() is None:
                    current.send_signal(signal.SIGKILL)
                    kills += 1
                returncode = current.wait()  # reaped: a zombie would still "hold" the lease
            if returncode != -signal.SIGKILL:
                assert returncode == 0, "sync ended with an error: see sync.log"
                continue
            states = {s for (s,) in _query(db, "SELECT state FROM batches")}
            at_kill.update(states)
            busy_kills += bool(states & IN_FLIGHT)
        assert following is not None
        final, following = following, None
        final_code = final.wait(120)  # the last sync runs to the end
    finally:
        if following is not None:
            following.kill()
            following.wait()
        sync_log.close()
    batches_listing = _cli(ws, "batches")
    assert final_code == 0, batches_listing

    total = wave * PER_WAVE
    assert WAVES <= wave <= MAX_WAVES and kills == KILLS
    # Kills landed while batches were on their way, in several states, not only while idle.
    print(f"kills: {kills} in {rounds} rounds, waves: {wave}, with batches in flight: "
          f"{busy_kills}, states: {dict(at_kill)}")
    assert busy_kills >= 10 and len(IN_FLIGHT.intersection(at_kill)) >= 3, at_kill
    # Every prompt has exactly one outcome: processed once, with its response.
    assert _query(db, "SELECT state, count(*), count(response) FROM prompts GROUP BY state") \
        == [("processed", total, total)]
    assert _query(db, "SELECT count(*) FROM prompt_transitions "
                      "WHERE to_state = 'processed'") == [(total,)]
    assert _query(db, "SELECT count(DISTINCT prompt_id) FROM prompt_transitions "
                      "WHERE to_state = 'processed'") == [(total,)]
    # Every batch finished and cleaned up.
    assert _query(db, "SELECT count(*) FROM batches WHERE state != 'completed' "
                      "OR intent IS NOT NULL OR provider_batch_id IS NULL") == [(0,)]
    # Exactly one provider batch per local batch: no duplicate created across the kills.
    local = dict(_query(db, "SELECT uuid, provider_batch_id FROM batches "
                            "WHERE endpoint != '/v1/messages'"))
    claude = [b for (b,) in _query(db, "SELECT provider_batch_id FROM batches "
                                       "WHERE endpoint = '/v1/messages'")]
    remote = _provider_batches(base_url)
    assert sorted(b["metadata"]["batcher_batch"] for b in remote) == sorted(local)
    assert {b["metadata"]["batcher_batch"]: b["id"] for b in remote} == local
    stats = _get(f"{base_url}/sandbox/stats")
    # Claude batches carry no metadata: each created once all the same, then deleted at
    # Anthropic once their results were in (cleanup).
    assert len(claude) >= WAVES * 2 and len(set(claude)) == len(claude)
    assert stats["anthropic"]["batches_created"] == len(claude)
    assert stats["anthropic"]["batches_total"] == 0
    assert stats["batches_created"] == len(local)
    assert stats["batches_by_status"] == {"completed": len(local)}
    # No provider file leaked: inputs, outputs, error files and stray upload copies are gone.
    assert stats["live_files"] == 0
    assert list((ws / "batches").glob("batch-*")) == []
