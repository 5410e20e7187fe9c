"""The service API the window and the command line share: imports, events, keys, settings."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from batcher_gui.config.profiles import ProfileFields
from batcher_gui.domain.errors import Cancelled, InvalidInput, NotFound
from batcher_gui.domain.events import (
    BatchChanged,
    Event,
    ImportProgress,
    Notice,
    PromptsChanged,
    RunsChanged,
)
from batcher_gui.domain.models import ImportOptions, ProfileKind
from batcher_gui.domain.states import BatchState, PromptState
from batcher_gui.sandbox import SandboxConfig
from batcher_gui.sandbox.host import SandboxThread
from tests.app.conftest import OpenService, run, write_chat
from tests.cli.conftest import Cli
from tests.fakes import MemoryKeyring


def test_import_reports_progress_and_shows_the_run_all_at_once(
        open_service: OpenService, tmp_path: Path) -> None:
    data = write_chat(tmp_path / "p.jsonl", 20_000)

    async def scenario() -> tuple[list[Event], list[int]]:
        service = await open_service()
        events: list[Event] = []
        threads: set[int] = set()

        def listen(event: Event) -> None:
            events.append(event)
            threads.add(threading.get_ident())
        service.subscribe(listen)
        visible_during: list[int] = []

        async def watch() -> None:  # what a view sees while the import writes its chunks
            while True:
                visible_during.extend(r.prompt_count for r in await service.runs())
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(watch())
        try:
            summary = await service.import_file(data, ImportOptions(), profile="sandbox",
                                                parallel_from_bytes=1)
        finally:
            watcher.cancel()
        assert summary.prompts == 20_000 and len(await service.runs()) == 1
        assert threads == {threading.get_ident()}  # every event on the loop's thread
        await service.close()
        return events, visible_during

    events, visible = run(scenario())
    progress = [e for e in events if isinstance(e, ImportProgress)]
    assert progress and progress[-1].done == progress[-1].total == data.stat().st_size
    assert [p.done for p in progress] == sorted(p.done for p in progress)
    assert progress[-1].prompts == 20_000
    assert any(isinstance(e, RunsChanged) for e in events)
    assert set(visible) <= {20_000}  # never a half run


def _counts(db: Path, url: str | None = None) -> tuple[int, int, int]:
    """Rows of runs, prompts and batches: in the SQLite file ``db``, or at ``url``."""
    if url:
        import psycopg

        with psycopg.connect(url) as pg:
            return tuple(pg.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore
                         for t in ("runs", "prompts", "batches"))
    conn = sqlite3.connect(db)
    try:
        return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore
                     for t in ("runs", "prompts", "batches"))
    finally:
        conn.close()


def test_cancelled_import_leaves_nothing(open_service: OpenService, tmp_path: Path,
                                        backend: str | None) -> None:
    data = write_chat(tmp_path / "p.jsonl", 200_000)

    async def scenario() -> None:
        service = await open_service()
        cancel = threading.Event()

        def on_event(event: Event) -> None:
            if isinstance(event, ImportProgress) and event.prompts > 0:
                cancel.set()  # the user pressed Cancel once rows were being written
        service.subscribe(on_event)
        with pytest.raises(Cancelled):
            await service.import_file(data, ImportOptions(), profile="sandbox", cancel=cancel)
        assert await service.runs() == []
        await service.close()

    run(scenario())
    assert _counts(tmp_path / "ws" / "batcher.sqlite3", backend) == (0, 0, 0)


def test_an_import_killed_half_way_is_removed_on_next_open(
        open_service: OpenService, tmp_path: Path, backend: str | None) -> None:
    if backend:
        pytest.skip("SQLite only: a first import into PostgreSQL is staged in an unlogged "
                    "table, so a killed one leaves no prompts behind (tests/storage)")
    data = write_chat(tmp_path / "p.jsonl", 300_000)
    ws = tmp_path / "ws"
    db = ws / "batcher.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "batcher_gui.cli", "--data-dir", str(ws), "import", str(data),
         "--profile", "sandbox"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if db.exists() and proc.poll() is None:
                try:
                    if _counts(db)[1] > 10_000:  # chunks committed, run still hidden
                        break
                except sqlite3.OperationalError:
                    pass
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    runs, prompts, _ = _counts(db)
    assert runs == 1 and prompts > 10_000  # what the killed import left behind

    async def reopen() -> None:
        service = await open_service()
        assert await service.runs() == []
        await service.close()

    run(reopen())
    assert _counts(db) == (0, 0, 0)


def test_engine_events_are_typed_and_counts_follow(open_service: OpenService,
                                                   tmp_path: Path) -> None:
    data = write_chat(tmp_path / "p.jsonl", 30)

    async def scenario() -> list[Event]:
        service = await open_service()
        events: list[Event] = []
        service.subscribe(events.append)
        summary = await service.import_file(data, ImportOptions(), profile="sandbox")
        await service.submit(summary.run.id)
        assert await service.sync(timeout=60) is True
        await asyncio.sleep(0.3)  # prompt counts are sent at most every quarter second
        await service.close()
        return events

    events = run(scenario())
    states = [e.state for e in events if isinstance(e, BatchChanged)]
    assert all(isinstance(s, BatchState) for s in states)
    assert states[-1] is BatchState.COMPLETED
    counts = [e.counts for e in events if isinstance(e, PromptsChanged)]
    assert counts and counts[-1] == {PromptState.PROCESSED: 30}


def test_a_changed_key_is_used_by_the_next_call(open_service: OpenService, tmp_path: Path,
                                                keyring_memory: MemoryKeyring) -> None:
    server = SandboxThread(tmp_path / "provider", SandboxConfig(instant=True,
                                                                api_keys=("sk-new",)))
    url = server.start()
    data = write_chat(tmp_path / "p.jsonl", 3)

    async def scenario() -> None:
        service = await open_service()
        try:
            await service.add_profile(_fields("acme", url))
            await service.set_key("acme", "sk-old")
            notices: list[Notice] = []
            service.subscribe(lambda e: notices.append(e) if isinstance(e, Notice) else None)
            run_ = (await service.import_file(data, ImportOptions(), profile="acme")).run
            await service.submit(run_.id)
            assert await service.sync(timeout=10) is False  # the provider refused the key
            assert any(n.needs_user and "API key" in n.message for n in notices)
            (batch,) = await service.batches()
            assert batch.state is BatchState.UPLOADING and "waiting for you" in (
                batch.problem or "")
            await service.set_key("acme", "sk-new")
            assert await service.sync(timeout=30) is True
            assert await service.run_counts(run_.id) == {PromptState.PROCESSED: 3}
        finally:
            await service.close()
            server.stop()

    run(scenario())
    assert keyring_memory.entries[("batcher-gui", "acme")] == "sk-new"


def _fields(name: str, url: str) -> object:
    from batcher_gui.config.profiles import ProfileFields

    return ProfileFields(name, ProfileKind.OPENAI_COMPATIBLE, url)


def test_settings_are_typed_checked_and_applied(open_service: OpenService) -> None:
    async def scenario() -> None:
        service = await open_service()
        try:
            assert await service.set_setting("poll_interval_seconds", "45") == 45.0
            assert service.settings.poll_interval_seconds == 45.0
            refused = [
                ("poll_interval_seconds", "soon", InvalidInput,
                 "poll_interval_seconds must be a number of seconds from 0.1 to 86400, got "
                 "'soon'"),
                ("poll_interval_seconds", "-1", InvalidInput,  # what was typed, not -1.0
                 "poll_interval_seconds must be a number of seconds from 0.1 to 86400, got "
                 "'-1'"),
                ("max_prompt_attempts", "2.5", InvalidInput,
                 "max_prompt_attempts must be a whole number from 1 to 20, got '2.5'"),
                ("prices", '{"gpt-4o-mini": "cheap"}', InvalidInput,
                 "prices: 'gpt-4o-mini' must map to [input, output] USD per 1M tokens"),
                ("default_profile", "nope", NotFound,
                 "no provider profile named 'nope' (profiles: openai, sandbox, sandbox-claude)"),
            ]
            for key, value, error, message in refused:
                with pytest.raises(error) as caught:
                    await service.set_setting(key, value)
                assert str(caught.value).startswith(message), caught.value
            assert service.settings.poll_interval_seconds == 45.0  # nothing changed
            assert service.settings.default_profile == "openai"
            with pytest.raises(InvalidInput, match="Did you mean poll_interval_seconds"):
                await service.set_setting("poll_interval_secs", "5")
            await service.unset_setting("poll_interval_seconds")
            assert service.settings.poll_interval_seconds == 30.0
        finally:
            await service.close()

    run(scenario())


def test_connection_verdicts_for_claude_profiles(open_service: OpenService,
                                                  tmp_path: Path) -> None:
    """The same verdicts through Anthropic's API (the sandbox's Claude face, the real SDK)."""
    server = SandboxThread(tmp_path / "provider", SandboxConfig(api_keys=("sk-ant-good",)))
    url = server.start()

    async def scenario() -> None:
        service = await open_service()
        try:
            for name, where in (("claude", url), ("gone", "http://127.0.0.1:9")):
                await service.add_profile(ProfileFields(name, ProfileKind.ANTHROPIC,
                                                        base_url=where, key_env="NO_SUCH_KEY"))
            good = await service.test_connection("claude", "sk-ant-good")
            bad = await service.test_connection("claude", "sk-ant-wrong")
            none = await service.test_connection("claude")
            gone = await service.test_connection("gone", "sk-any")
            builtin = await service.test_connection("sandbox-claude")
            assert (good.ok, good.kind) == (True, "works")
            assert (bad.ok, bad.kind) == (False, "key refused")
            assert (none.ok, none.kind) == (False, "no key")
            assert (gone.ok, gone.kind) == (False, "unreachable")
            assert builtin.ok, builtin
        finally:
            await service.close()
            server.stop()

    run(scenario())


def test_a_bad_stored_setting_falls_back_to_its_default(
        open_service: OpenService, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        backend: str | None) -> None:
    async def first() -> None:
        service = await open_service()
        with service.store.db.write() as conn:  # what an older Batcher let `config set` store
            conn.exec_driver_sql("UPDATE settings SET value = '\"soon\"' "
                                 "WHERE key = 'poll_interval_seconds'")
        await service.close()

    run(first())
    # Said by its label (the window shows it too), never by its key.
    problem = ("“Poll interval, real providers” held 'soon', not a number of seconds from 0.1 "
               "to 86400; using the default, 30")

    async def second() -> None:
        service = await open_service()
        assert service.settings.poll_interval_seconds == 30.0
        assert service.startup_problems == (problem,)
        await service.close()

    with caplog.at_level(logging.INFO, logger="batcher_gui.app.service"):
        run(second())
    assert f"a workspace setting was ignored: {problem}" in [
        r.getMessage() for r in caplog.records if r.levelno == logging.INFO]

    # The command line tells the user, once, and goes on.
    status = Cli(tmp_path / "ws")(*(("--database", backend) if backend else ()), "status")
    assert status.returncode == 0, status.stderr
    assert status.stderr.splitlines() == [
        f"warning: a workspace setting was ignored: {problem} (`batcher config list` shows the "
        "settings)"]


@pytest.mark.skipif(sys.platform == "win32", reason="signals")
def test_cli_ctrl_c_during_an_import_leaves_nothing_and_exits_130(tmp_path: Path) -> None:
    data = write_chat(tmp_path / "p.jsonl", 300_000)
    ws = tmp_path / "ws"
    proc = subprocess.Popen(
        [sys.executable, "-m", "batcher_gui.cli", "--data-dir", str(ws), "import", str(data),
         "--profile", "sandbox"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    db = ws / "batcher.sqlite3"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if db.exists() and _counts(db)[1] > 5_000:
                break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "nothing was imported" in err
    assert _counts(db) == (0, 0, 0)
    assert os.path.exists(db)


def test_connection_verdicts(open_service: OpenService, tmp_path: Path) -> None:
    server = SandboxThread(tmp_path / "provider", SandboxConfig(api_keys=("sk-good",)))
    url = server.start()

    async def scenario() -> None:
        service = await open_service()
        try:
            await service.add_profile(_fields("acme", url))
            await service.add_profile(_fields("gone", "http://127.0.0.1:9/v1"))
            good = await service.test_connection("acme", "sk-good")
            bad = await service.test_connection("acme", "sk-wrong")
            none = await service.test_connection("acme")
            gone = await service.test_connection("gone", "sk-any")
            builtin = await service.test_connection("sandbox")
            assert (good.ok, good.kind) == (True, "works")
            assert (bad.ok, bad.kind) == (False, "key refused")
            assert (none.ok, none.kind) == (False, "no key")
            assert (gone.ok, gone.kind) == (False, "unreachable")
            assert builtin.ok
        finally:
            await service.close()
            server.stop()

    run(scenario())
