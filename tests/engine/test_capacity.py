"""Token counting after an import, and the token-queue admission of batches (capacity)."""

from __future__ import annotations

import asyncio
import dataclasses

from batcher_gui.domain.capacity import FALLBACK_LIMIT, admits, token_limit
from batcher_gui.domain.models import ProfileKind
from batcher_gui.domain.states import BatchState
from batcher_gui.engine.token_counting import TokenGate
from batcher_gui.storage.token_book import TokenBook
from batcher_gui.tokens.counting import TokenCounter
from tests.engine.conftest import CHAT, FAST, Workspace, assert_all_settled, chat


# -- the rules (the predecessor's scenarios) ----------------------------------------------------
def test_a_small_batch_passes_big_ones_that_do_not_fit() -> None:
    # 1.2 M in flight, a 2 M cap: a 160 k batch is admitted, two 1.8 M ones wait.
    assert admits(160_000, 1_200_000, 2_000_000).admitted
    held = admits(1_800_000, 1_200_000, 2_000_000)
    assert not held.admitted and "1,800,000 tokens do not fit beside 1,200,000" in held.reason
    assert admits(1_800_000, 0, 2_000_000).admitted  # alone it goes (it can never fit beside)
    assert admits(10**9, 10**9, None).admitted  # no limit


def test_limits_longest_prefix_overrides_and_per_profile() -> None:
    overrides = {"gpt-4o": 1_000, "gpt-4o-mini": 2_000, "eu/gpt-4o-mini": 3_000}
    assert token_limit("openai", "gpt-4o-mini-2024-07-18", overrides, tiered=True) == 2_000
    assert token_limit("openai", "gpt-4o-2024-08-06", overrides, tiered=True) == 1_000
    assert token_limit("EU", "gpt-4o-mini", overrides, tiered=True) == 3_000
    assert token_limit("openai", "gpt-4.1-mini", {}, tiered=True) == 2_000_000  # Tier-1
    assert token_limit("openai", "my-model", {}, tiered=True) == FALLBACK_LIMIT
    assert token_limit("groq", "llama-3", {}, tiered=False) is None  # compatible: none


# -- counting in the background -------------------------------------------------------------------
def test_every_prompt_is_counted_after_an_import(ws: Workspace) -> None:
    lines = [chat(i, "with some text " * (i % 5)) for i in range(300)]
    ws.import_lines(lines)
    engine = ws.engine()
    book = TokenBook(ws.store.db)
    assert book.uncounted_total() == 300

    async def count() -> int:
        try:
            return await engine.counting.run_pass()
        finally:
            await engine.close()

    assert asyncio.run(count()) == 300
    assert book.uncounted_total() == 0
    expected = TokenCounter().count_many((CHAT, "gpt-4o-mini", line["body"]) for line in lines)
    with ws.store.db.read() as conn:
        stored = conn.exec_driver_sql(
            "SELECT est_input_tokens, est_output_tokens FROM prompts ORDER BY id").all()
    assert [tuple(r) for r in stored] == [(c.input, c.output_bound) for c in expected]


# -- admission ----------------------------------------------------------------------------------
def _batch_tokens(ws: Workspace, batch_id: int) -> int:
    return int(ws.scalar("SELECT sum(est_input_tokens) FROM prompts WHERE batch_id = ?",
                         batch_id))


def test_a_batch_waits_for_room_in_the_token_queue_then_goes(ws: Workspace) -> None:
    ws.sandbox.config.progress_steps = 6  # the first batch stays in the queue a while
    first = ws.import_lines([chat(i) for i in range(5)])
    second = ws.import_lines([chat(i) for i in range(5, 10)])
    assert first.id != second.id
    per_batch = sum(c.input for c in TokenCounter().count_many(
        (CHAT, "gpt-4o-mini", chat(i)["body"]) for i in range(5)))
    room = dataclasses.replace(FAST, token_limits={"sb/gpt-4o-mini": per_batch + per_batch // 2})
    engine = ws.engine(room)

    def one_waits() -> bool:
        batches = ws.store.list_batches()
        return sorted(b.state.value for b in batches) == ["in_progress", "ready_for_upload"] \
            and any(b.wait_reason and "token queue" in b.wait_reason for b in batches)

    ws.tick_until(engine, one_waits)
    waiting = next(b for b in ws.store.list_batches() if b.state is BatchState.READY_FOR_UPLOAD)
    flying = next(b for b in ws.store.list_batches() if b.state is BatchState.IN_PROGRESS)
    assert flying.est_input_tokens == _batch_tokens(ws, flying.id) == per_batch
    assert "do not fit beside" in (waiting.wait_reason or "")
    assert ws.run(ws.engine(room)) is True
    assert ws.batch_states() == {"completed": 2}
    # The waiting batch was sent only once the other had left the queue.
    done_at = ws.scalar("SELECT at FROM batch_transitions WHERE batch_id = ? AND to_state = "
                        "'finalizing'", flying.id)
    sent_at = ws.scalar("SELECT at FROM batch_transitions WHERE batch_id = ? AND to_state = "
                        "'uploading'", waiting.id)
    assert sent_at >= done_at
    assert ws.store.get_batch(waiting.id).wait_reason is None
    assert_all_settled(ws)


def test_token_limit_exceeded_teaches_the_gate(ws: Workspace) -> None:
    ws.import_lines([chat(i) for i in range(3)])
    ws.import_lines([chat(i) for i in range(3, 6)])
    a, b = ws.store.list_batches()
    book = TokenBook(ws.store.db)
    with ws.store.db.write() as conn:  # a is at the provider with 1000 tokens; b has 500
        conn.exec_driver_sql("UPDATE batches SET state = 'in_progress', est_input_tokens = 1000 "
                             "WHERE id = ?", (a.id,))
        conn.exec_driver_sql("UPDATE prompts SET est_input_tokens = 100, est_output_tokens = 1 "
                             "WHERE batch_id = ?", (b.id,))
        conn.exec_driver_sql("UPDATE batches SET est_input_tokens = 300 WHERE id = ?", (b.id,))
    profile = ws.store.get_profile("sb")
    assert profile.kind is ProfileKind.OPENAI_COMPATIBLE
    engine = ws.engine()
    gate = TokenGate(book, engine.workers, lambda: {})

    async def go() -> tuple[bool, bool, int | None]:
        try:
            before = (await gate.check(b, profile)).admitted  # no limit for this profile
            await gate.refused(ws.store.get_batch(b.id))  # the provider said no
            after = await gate.check(b, profile)
            return before, after.admitted, after.limit
        finally:
            await engine.close()

    before, after, learned = asyncio.run(go())
    assert before is True and after is False
    assert learned == 1000 + 300 - 1  # below what was queued when the provider refused


def test_a_batch_too_big_for_the_limit_is_split_so_none_exceeds_it(ws: Workspace) -> None:
    lines = [chat(i) for i in range(12)]
    ws.import_lines(lines)  # one draft of 12
    per_prompt = max(c.input for c in TokenCounter().count_many(
        (CHAT, "gpt-4o-mini", line["body"]) for line in lines))
    limit = per_prompt * 5  # at most 5 prompts per batch
    settings = dataclasses.replace(FAST, token_limits={"sb/gpt-4o-mini": limit})
    assert ws.run(ws.engine(settings)) is True
    batches = ws.store.list_batches()
    assert len(batches) >= 3 and all(b.state is BatchState.COMPLETED for b in batches)
    assert all((b.est_input_tokens or 0) <= limit for b in batches)
    assert sum(b.request_count for b in batches) == 12
    assert ws.prompt_states() == {"processed": 12}
    assert_all_settled(ws)


def test_cache_reads_in_results_lower_the_runs_reported_cost(ws: Workspace) -> None:
    from batcher_gui.config.prices import price_table
    from batcher_gui.storage.views import ViewQueries

    ws.import_lines([chat(i, "#cached with a long shared prefix") for i in range(6)])
    ws.import_lines([chat(i, "no cache here") for i in range(6, 12)])
    assert ws.run() is True
    cached_batch, plain_batch = ws.store.list_batches()
    with ws.store.db.read() as conn:
        cached, written = conn.exec_driver_sql(
            "SELECT cached_input_tokens, cache_write_tokens FROM batches WHERE id = ?",
            (cached_batch.id,)).one()
        per_prompt = conn.exec_driver_sql(
            "SELECT input_tokens FROM prompts WHERE batch_id = ?", (cached_batch.id,)).all()
        plain = conn.exec_driver_sql(
            "SELECT cached_input_tokens FROM batches WHERE id = ?", (plain_batch.id,)).scalar()
    assert cached == sum(t // 2 for (t,) in per_prompt) > 0 and written == 0
    assert plain == 0
    views = ViewQueries(ws.store.db.url or ws.store.db.path)
    try:
        run = next(r for r in views.run_overviews() if r.run.id == cached_batch.run_id)
    finally:
        views.close()
    prices = price_table()
    assert run.cache == {"gpt-4o-mini": (cached, 0, 0)}
    full = prices.usage_cost(run.usage)
    with_cache = prices.usage_cost(run.usage, run.cache)
    assert full is not None and with_cache is not None and with_cache < full
