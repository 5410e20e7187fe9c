"""What the provider answers, and what happens to the prompts: failures, expiry, cancel, limits."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.remote import RemoteBatch
from batcher_gui.domain.states import BatchState
from batcher_gui.engine.engine import ACTIVE
from tests.engine.conftest import Workspace, assert_all_settled, chat


def test_partial_request_failures(ws: Workspace) -> None:
    ws.import_lines([chat(i, "#fail" if i % 3 == 0 else "") for i in range(9)])

    assert ws.run() is True

    rows = ws.prompts()
    failed = [r for r in rows if r["state"] == "failed"]
    assert [r["user_custom_id"] for r in failed] == ["c0", "c3", "c6"]
    for row in failed:
        assert "HTTP 400" in row["error"] and "#fail" in row["error"]
        assert row["response"] is not None  # the provider's error body is kept
    assert {r["state"] for r in rows if r not in failed} == {"processed"}
    (batch,) = ws.store.list_batches()
    assert batch.state is BatchState.COMPLETED
    assert (batch.counts_completed, batch.counts_failed) == (6, 3)
    assert_all_settled(ws)


def test_every_request_fails_error_file_only(ws: Workspace) -> None:
    ws.import_lines([chat(i, "#fail") for i in range(4)])

    assert ws.run() is True

    (batch,) = ws.store.list_batches()
    assert batch.state is BatchState.COMPLETED
    assert batch.output_file_id is None and batch.error_file_id is not None
    assert ws.prompt_states() == {"failed": 4}
    assert all("#fail" in r["error"] for r in ws.prompts())
    assert ws.sandbox.stats()["files_deleted"] == 2  # the input and the error file
    assert_all_settled(ws)


def test_expiry_with_partial_output_resubmits_the_rest(ws: Workspace) -> None:
    ws.sandbox.config.outcome = "expire"
    ws.sandbox.config.partial_fraction = 0.5
    ws.import_lines([chat(i) for i in range(10)])
    engine = ws.engine()

    ws.tick_until(engine, lambda: ws.batch_states().get("expired") == 1)

    done_first = {r["id"] for r in ws.prompts() if r["state"] == "processed"}
    assert len(done_first) == 5
    first = ws.store.list_batches([BatchState.EXPIRED])[0]
    assert first.output_file_id and first.error_file_id  # batch_expired lines for the rest
    ws.sandbox.config.outcome = "complete"
    assert ws.run(engine) is True

    rows = ws.prompts()
    assert {r["state"] for r in rows} == {"processed"}
    for row in rows:  # the first five were kept, not sent again; the rest went once more
        assert row["attempts"] == (1 if row["id"] in done_first else 2)
        assert (row["batch_id"] == first.id) == (row["id"] in done_first)
    states = [b.state.value for b in ws.store.list_batches()]
    assert states == ["expired", "completed"]
    assert ws.sandbox.stats()["batches_created"] == 2
    assert_all_settled(ws)


def test_expiry_without_any_output(ws: Workspace) -> None:
    ws.sandbox.config.outcome = "expire"
    ws.sandbox.config.partial_fraction = 0.0
    ws.sandbox.config.expired_error_lines = False
    ws.import_lines([chat(i) for i in range(4)])
    engine = ws.engine()

    ws.tick_until(engine, lambda: ws.batch_states().get("expired") == 1)

    first = ws.store.list_batches()[0]
    assert first.output_file_id is None and first.error_file_id is None
    assert ws.prompt_states() == {"pending": 4}
    ws.sandbox.config.outcome = "complete"
    assert ws.run(engine) is True
    assert ws.prompt_states() == {"processed": 4}
    assert all(r["attempts"] == 2 for r in ws.prompts())
    assert [b.state.value for b in ws.store.list_batches()] == ["expired", "completed"]
    assert_all_settled(ws)


def test_expiry_gives_up_after_max_attempts(ws: Workspace) -> None:
    ws.sandbox.config.outcome = "expire"
    ws.sandbox.config.partial_fraction = 0.0
    ws.import_lines([chat(i) for i in range(3)])

    assert ws.run() is True

    assert ws.prompt_states() == {"expired": 3}
    assert all(r["attempts"] == 3 for r in ws.prompts())
    assert ws.batch_states() == {"expired": 3}
    assert_all_settled(ws)


def test_token_limit_backoff_then_success(ws: Workspace) -> None:
    ws.sandbox.config.token_limit_failures = 2
    ws.import_lines([chat(i) for i in range(4)])
    engine = ws.engine()

    ws.tick_until(engine, lambda: ws.batch_states() == {"ready_for_upload": 1}
                  and ws.store.list_batches()[0].token_limit_attempts == 1)

    (batch,) = ws.store.list_batches()
    assert batch.wait_reason and "token queue full" in batch.wait_reason
    assert batch.not_before is not None and batch.provider_batch_id is None
    assert ws.prompt_states() == {"pending": 4}
    assert ws.run(engine) is True

    batch = ws.store.get_batch(batch.id)
    assert batch.state is BatchState.COMPLETED
    assert batch.token_limit_attempts == 2
    assert ws.prompt_states() == {"processed": 4}
    assert all(r["attempts"] == 1 for r in ws.prompts())  # refused sends never ran
    stats = ws.sandbox.stats()
    assert stats["batches_by_status"] == {"failed": 2, "completed": 1}
    assert stats["files_created"] == 1  # the input file is uploaded once and reused
    assert_all_settled(ws)


def test_token_limit_exhaustion_fails_the_batch(ws: Workspace) -> None:
    ws.sandbox.config.token_limit_failures = 100
    ws.import_lines([chat(i) for i in range(3)])

    assert ws.run() is True

    (batch,) = ws.store.list_batches()
    assert batch.state is BatchState.FAILED
    assert "token_limit_exceeded" in (batch.error or "")
    assert "gave up after 5 waits" in (batch.error or "")
    assert ws.prompt_states() == {"failed": 3}
    assert all("token_limit_exceeded" in r["error"] for r in ws.prompts())
    assert ws.sandbox.stats()["batches_by_status"] == {"failed": 6}
    assert_all_settled(ws)


def test_validation_failure_fails_the_batch(ws: Workspace) -> None:
    ws.sandbox.config.batch_failure = "model_mismatch"
    ws.import_lines([chat(i) for i in range(2)])

    assert ws.run() is True

    (batch,) = ws.store.list_batches()
    assert batch.state is BatchState.FAILED and "model_mismatch" in (batch.error or "")
    assert ws.prompt_states() == {"failed": 2}
    assert_all_settled(ws)


def test_retryable_server_errors_go_into_a_new_batch(ws: Workspace) -> None:
    ws.import_lines([chat(i, "#server_error" if i < 2 else "") for i in range(5)])

    assert ws.run() is True

    rows = ws.prompts()
    assert {r["state"] for r in rows} == {"processed"}
    assert [r["attempts"] for r in rows] == [2, 2, 1, 1, 1]
    first, second = ws.store.list_batches()
    assert (first.state, second.state) == (BatchState.COMPLETED, BatchState.COMPLETED)
    assert {r["batch_id"] for r in rows[:2]} == {second.id}
    assert {r["batch_id"] for r in rows[2:]} == {first.id}
    with ws.store.db.read() as conn:
        path = conn.exec_driver_sql(
            "SELECT from_state, to_state FROM prompt_transitions WHERE prompt_id = ? "
            "ORDER BY id", (rows[0]["id"],)).all()
    assert [tuple(p) for p in path] == [("pending", "processing"), ("processing", "pending"),
                                        ("pending", "processing"), ("processing", "processed")]
    assert_all_settled(ws)


@pytest.mark.expect_log
def test_unknown_provider_status_is_tolerated(ws: Workspace,
                                               caplog: pytest.LogCaptureFixture) -> None:
    ws.import_lines([chat(i) for i in range(2)])
    engine = ws.engine()
    ws.tick_until(engine, lambda: ws.batch_states() == {"validating": 1})
    (batch,) = ws.store.list_batches()
    assert batch.provider_batch_id is not None

    async def paused() -> None:
        for _ in range(2):  # said once per batch and status, not at every poll
            await engine.apply_remote(ws.store.get_batch(batch.id),
                                      RemoteBatch(id=batch.provider_batch_id or "",
                                                  status="paused"))

    asyncio.run(paused())
    again = ws.store.get_batch(batch.id)
    assert again.state is BatchState.VALIDATING and again.provider_status == "paused"
    warnings = [r for r in caplog.records if "unknown provider status" in r.getMessage()]
    assert len(warnings) == 1

    assert ws.run(engine) is True
    assert ws.prompt_states() == {"processed": 2}
    assert_all_settled(ws)


def test_completed_without_any_file_resends_the_prompts(ws: Workspace) -> None:
    ws.import_lines([chat(i) for i in range(3)])
    engine = ws.engine()
    ws.tick_until(engine, lambda: ws.batch_states() == {"validating": 1})
    (batch,) = ws.store.list_batches()

    # A provider may say "completed" and offer no file at all: nothing came back.
    asyncio.run(engine.apply_remote(batch, RemoteBatch(id=batch.provider_batch_id or "",
                                                       status="completed", total=3)))

    assert ws.store.get_batch(batch.id).state is BatchState.COMPLETED
    assert ws.prompt_states() == {"pending": 3}
    assert ws.run(engine) is True
    assert ws.prompt_states() == {"processed": 3}
    assert all(r["attempts"] == 2 for r in ws.prompts())
    assert_all_settled(ws)


def test_a_step_that_ends_while_the_batches_are_read_gets_no_second_step(
        ws: Workspace, caplog: pytest.LogCaptureFixture) -> None:
    """The pass reads the active batches while a step is still working on one of them: the
    row it read is old once that step ends (here: sent back to wait for token room), so no
    step may start from it. A second step on the old row once failed the batch's prompts
    while the batch itself had moved on ("no pending prompts to send")."""
    ws.sandbox.config.token_limit_failures = 100
    ws.import_lines([chat(i) for i in range(3)])
    engine = ws.engine()
    caplog.set_level(logging.INFO, "batcher_gui.engine")

    async def go() -> None:
        try:
            while ws.batch_states() != {"validating": 1}:
                await engine.tick()
            (batch,) = ws.store.list_batches()
            read = engine.workers.read
            before_the_step = await read(engine.book.in_states, ACTIVE)
            # A poll that will find "failed: token_limit_exceeded" and send the batch back.
            await engine.tick(wait=False)
            (step,) = [t for t in asyncio.all_tasks() if t.get_name() == f"batch-{batch.id}"]

            async def read_while_the_step_ends(fn: Any, *args: Any, **kwargs: Any) -> Any:
                if fn == engine.book.in_states:  # read before the step wrote, back after
                    await asyncio.wait({step})
                    return before_the_step
                return await read(fn, *args, **kwargs)

            engine.workers.read = read_while_the_step_ends  # type: ignore[method-assign]
            await engine.tick()
            engine.workers.read = read  # type: ignore[method-assign]
        finally:
            await engine.close()

    asyncio.run(go())
    assert "changed meanwhile" not in caplog.text
    (batch,) = ws.store.list_batches()
    assert batch.state is BatchState.READY_FOR_UPLOAD and batch.token_limit_attempts == 1
    assert ws.prompt_states() == {"pending": 3}


def test_a_step_working_from_an_old_reading_leaves_the_prompts_alone(ws: Workspace) -> None:
    ws.import_lines([chat(i) for i in range(3)])
    engine = ws.engine()
    ws.tick_until(engine, lambda: ws.batch_states() == {"validating": 1})
    (batch,) = ws.store.list_batches()
    book = engine.book
    old = BatchState.IN_PROGRESS  # what a step read before another moved the batch on
    with pytest.raises(BatcherError, match="no longer in_progress"):
        book.fail(batch.id, old, "boom")
    with pytest.raises(BatcherError, match="no longer in_progress"):
        book.wait_for_token_room(batch.id, old, "full", 0.0, 1)
    assert ws.prompt_states() == {"processing": 3}
    book.fail(batch.id, BatchState.VALIDATING, "boom")  # from where it is: it fails
    assert ws.prompt_states() == {"failed": 3}
