"""The engine on Anthropic's Message Batches, through the real ``anthropic`` SDK and the
sandbox's Claude face: every guarantee of the OpenAI path, and what differs."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from batcher_gui.domain.capacity import TIER_OPTION
from batcher_gui.domain.models import ProfileKind, ProfileLimits
from batcher_gui.sandbox import FaultSpec
from batcher_gui.storage.batch_book import BatchBook
from batcher_gui.storage.user_actions import UserActions
from tests.engine.conftest import FAST, Workspace, chat

CLAUDE = "claude"
MESSAGES = "/v1/messages"


def claude(i: int, text: str = "", model: str = "claude-haiku-4-5") -> dict[str, Any]:
    """A Claude request as an OpenAI-style batch line aimed at /v1/messages."""
    return {"custom_id": f"m{i}", "method": "POST", "url": MESSAGES,
            "body": {"model": model, "max_tokens": 64,
                     "messages": [{"role": "user", "content": f"question {i} {text}".strip()}]}}


def add_claude(ws: Workspace, name: str = CLAUDE, max_requests: int = 100_000,
               **options: Any) -> None:
    ws.store.add_profile(name, ProfileKind.ANTHROPIC, base_url=ws.sandbox.base_url,
                         limits=ProfileLimits(max_requests=max_requests), options=options)


def claude_stats(ws: Workspace) -> dict[str, Any]:
    stats: dict[str, Any] = ws.sandbox.stats()["anthropic"]
    return stats


def settled(ws: Workspace) -> None:
    """Nothing in flight, nothing left to clean up, each processed prompt applied once."""
    assert ws.scalar("SELECT count(*) FROM batches WHERE state NOT IN "
                     "('completed', 'failed', 'expired', 'cancelled')") == 0
    assert ws.scalar("SELECT count(*) FROM batches WHERE intent IS NOT NULL") == 0
    processed = ws.scalar("SELECT count(*) FROM prompts WHERE state = 'processed'")
    assert ws.scalar(
        "SELECT count(*) FROM prompt_transitions WHERE to_state = 'processed'") == processed
    assert list(ws.batches_dir.glob("*.jsonl")) == []


def test_a_claude_run_goes_through_and_keeps_raw_messages(ws: Workspace) -> None:
    add_claude(ws)
    ws.import_lines([claude(i) for i in range(12)], profile=CLAUDE)

    assert ws.run() is True

    assert ws.prompt_states() == {"processed": 12}
    stats = claude_stats(ws)
    # One batch, deleted at Anthropic once its results were in (cleanup_provider_files).
    assert stats["batches_created"] == 1 and stats["batches_total"] == 0
    assert stats["requests"]["messages.batches.delete"] == 1
    rows = ws.prompts()
    message = orjson.loads(rows[0]["response"])
    assert message["type"] == "message" and message["content"][0]["type"] == "text"
    assert message["model"] == "claude-haiku-4-5"
    usage = message["usage"]
    assert rows[0]["input_tokens"] == (usage["input_tokens"] + usage["cache_read_input_tokens"]
                                       + usage["cache_creation_input_tokens"])
    assert rows[0]["output_tokens"] == usage["output_tokens"]
    # The request went out under Batcher's own id; each answer found its prompt by it (the
    # sandbox returns results out of input order).
    assert {r["user_custom_id"] for r in rows} == {f"m{i}" for i in range(12)}
    assert all(r["attempts"] == 1 for r in rows)
    settled(ws)


def test_result_types_errored_overloaded_and_invalid(ws: Workspace) -> None:
    add_claude(ws)
    ws.import_lines([claude(0), claude(1, "#fail"), claude(2, "#overloaded"),
                     claude(3, "#api_error"), claude(4)], profile=CLAUDE)

    assert ws.run() is True

    rows = {r["user_custom_id"]: r for r in ws.prompts()}
    assert {k: r["state"] for k, r in rows.items()} == {
        "m0": "processed", "m1": "failed", "m2": "processed", "m3": "processed",
        "m4": "processed"}
    # invalid_request_error stays failed, with Anthropic's words; nothing billed for it.
    assert "invalid_request_error" in rows["m1"]["error"]
    assert rows["m1"]["attempts"] == 1 and rows["m1"]["input_tokens"] is None
    # overloaded_error and api_error: sent again, in a second batch, and answered.
    assert rows["m2"]["attempts"] == 2 and rows["m3"]["attempts"] == 2
    assert claude_stats(ws)["batches_created"] == 2
    settled(ws)


def test_expired_requests_are_sent_again_and_only_those(ws: Workspace) -> None:
    add_claude(ws)
    ws.sandbox.config.outcome = "expire"
    ws.sandbox.config.partial_fraction = 0.5
    ws.import_lines([claude(i) for i in range(10)], profile=CLAUDE)

    engine = ws.engine()
    ws.tick_until(engine, lambda: ws.scalar(
        "SELECT count(*) FROM batches WHERE state = 'expired'") == 1)
    ws.sandbox.config.outcome = "complete"
    assert ws.run() is True

    rows = ws.prompts()
    assert ws.prompt_states() == {"processed": 10}
    assert sorted(r["attempts"] for r in rows) == [1] * 5 + [2] * 5
    assert claude_stats(ws)["batches_created"] == 2
    settled(ws)


def test_cancel_keeps_what_finished(ws: Workspace) -> None:
    add_claude(ws)
    ws.sandbox.config.progress_steps = 50  # still running when the cancel is sent
    ws.import_lines([claude(i) for i in range(8)], profile=CLAUDE)
    engine = ws.engine()
    ws.tick_until(engine, lambda: ws.scalar(
        "SELECT count(*) FROM batches WHERE state = 'in_progress'") == 1)
    batch = ws.store.list_batches()[0]
    ws.sandbox.config.outcome = "cancel_partial"
    UserActions(ws.store.db).request_cancel(batch.id)

    assert ws.run() is True

    states = ws.prompt_states()
    assert ws.store.list_batches()[0].state.value == "cancelled"
    assert set(states) <= {"processed", "cancelled"} and sum(states.values()) == 8
    settled(ws)


@pytest.mark.parametrize("kind", ["500_after", "drop_after", "529_after"])
def test_a_lost_create_is_found_again_never_made_twice(ws: Workspace, kind: str) -> None:
    ws.timeout = 1.0
    add_claude(ws, max_requests=4)
    ws.import_lines([claude(i) for i in range(8)], profile=CLAUDE)
    ws.sandbox.config.faults = {
        "messages.batches.create": FaultSpec(rate=1.0, kinds=(kind,), max_count=2)}

    assert ws.run(timeout=60) is True

    stats = claude_stats(ws)
    batches = ws.store.list_batches()
    assert len(batches) == 2 and stats["batches_created"] == 2
    assert len({b.provider_batch_id for b in batches}) == 2
    assert ws.prompt_states() == {"processed": 8}
    assert all(r["attempts"] == 1 for r in ws.prompts())
    settled(ws)


def test_http_faults_on_every_route_lose_nothing(ws: Workspace) -> None:
    ws.timeout = 1.0
    add_claude(ws, max_requests=5)
    ws.import_lines([claude(i) for i in range(15)], profile=CLAUDE)
    ws.sandbox.config.timeout_seconds = 1.3
    ws.sandbox.config.faults = {"*": FaultSpec(rate=0.3, kinds=("429", "500", "529", "drop",
                                                               "timeout"))}

    assert ws.run(timeout=150) is True

    ws.sandbox.config.faults = {}
    stats = claude_stats(ws)
    assert ws.prompt_states() == {"processed": 15}
    assert stats["batches_created"] == 3
    assert all(r["attempts"] == 1 for r in ws.prompts())
    settled(ws)


def test_a_404_just_after_create_is_waited_out(ws: Workspace) -> None:
    add_claude(ws)
    ws.sandbox.config.not_found_reads = 2
    ws.import_lines([claude(i) for i in range(4)], profile=CLAUDE)

    assert ws.run() is True

    assert ws.prompt_states() == {"processed": 4}
    assert claude_stats(ws)["batches_created"] == 1
    settled(ws)


def test_the_processing_queue_admits_by_request_count(ws: Workspace) -> None:
    # Tier of 6 requests: two batches of 4 cannot wait at Anthropic together.
    add_claude(ws, max_requests=4, **{TIER_OPTION: 6})
    ws.sandbox.config.queue_limit = 6  # Anthropic would refuse (429) what Batcher holds back
    ws.sandbox.config.progress_steps = 3
    ws.import_lines([claude(i) for i in range(8)], profile=CLAUDE)
    engine = ws.engine()
    reasons: list[str] = []

    def one_in_flight() -> bool:
        reasons.extend(b.wait_reason or "" for b in ws.store.list_batches())
        return ws.scalar("SELECT count(*) FROM batches WHERE state = 'in_progress'") == 1
    ws.tick_until(engine, one_in_flight)
    ws.tick_until(ws.engine(), lambda: any(
        "processing queue" in (b.wait_reason or "") for b in ws.store.list_batches()))

    assert ws.run() is True

    assert ws.prompt_states() == {"processed": 8}
    stats = claude_stats(ws)
    assert stats["creates_refused"] == 0 and stats["batches_created"] == 2
    settled(ws)


def test_results_no_longer_kept_fail_with_the_reason(ws: Workspace) -> None:
    add_claude(ws)
    ws.sandbox.config.archive_after_seconds = 0  # ended and archived at once
    ws.import_lines([claude(i) for i in range(3)], profile=CLAUDE)

    assert ws.run() is True

    batch = ws.store.list_batches()[0]
    assert batch.state.value == "failed" and "29 days" in (batch.error or "")
    assert ws.prompt_states() == {"failed": 3}
    assert all("retry them" in (r["error"] or "") for r in ws.prompts())


def test_an_openai_run_and_a_claude_run_side_by_side(ws: Workspace) -> None:
    add_claude(ws)
    ws.import_lines([chat(i) for i in range(6)])
    ws.import_lines([claude(i) for i in range(6)], profile=CLAUDE)
    started = time.monotonic()

    assert ws.run() is True

    assert time.monotonic() - started < 60
    assert ws.prompt_states() == {"processed": 12}
    endpoints = {b.endpoint for b in ws.store.list_batches()}
    assert endpoints == {"/v1/chat/completions", MESSAGES}
    stats = ws.sandbox.stats()
    assert stats["batches_created"] == 1 and stats["anthropic"]["batches_created"] == 1
    settled(ws)


def test_a_restart_mid_batch_resumes_the_same_claude_batch(ws: Workspace) -> None:
    add_claude(ws)
    ws.sandbox.config.progress_steps = 4
    ws.import_lines([claude(i) for i in range(5)], profile=CLAUDE)
    ws.tick_until(ws.engine(FAST), lambda: ws.scalar(
        "SELECT count(*) FROM batches WHERE state = 'in_progress'") == 1)

    assert ws.run() is True  # a new engine: the batch is polled, not sent again

    assert claude_stats(ws)["batches_created"] == 1
    assert ws.prompt_states() == {"processed": 5}
    settled(ws)


def test_a_batch_file_gone_since_the_last_send_is_written_again(ws: Workspace) -> None:
    """A local id recorded by an earlier send whose file is gone (the workspace moved, the
    file was removed): the batch is written and sent again, once."""
    add_claude(ws)
    ws.import_lines([claude(i) for i in range(3)], profile=CLAUDE)
    batch = ws.store.list_batches()[0]
    BatchBook(ws.store.db).set_fields(batch.id, input_file_id=f"local:{ws.root}/moved.jsonl")

    assert ws.run() is True

    assert ws.prompt_states() == {"processed": 3}
    assert claude_stats(ws)["batches_created"] == 1
    settled(ws)


def test_waiting_its_turn_to_be_sent_is_no_failure(ws: Workspace) -> None:
    """Claude sends go one at a time per profile; a batch waiting its turn looks again after
    the first wait each time, never after a wait grown as if each look had failed."""
    from dataclasses import replace

    from batcher_gui.domain.events import BatchChanged, Event

    add_claude(ws, max_requests=2)
    ws.import_lines([claude(i) for i in range(10)], profile=CLAUDE)  # five batches
    # Lost creates: the batches behind one wait until it is found again at the provider.
    ws.sandbox.config.faults = {
        "messages.batches.create": FaultSpec(rate=1.0, kinds=("drop_after",), max_count=3)}
    ws.timeout = 1.0
    said: list[str] = []

    def listen(event: Event) -> None:
        if isinstance(event, BatchChanged) and "one send at a time" in event.detail:
            said.append(event.detail)

    engine = ws.engine(replace(FAST, retry_base=0.01, retry_cap=60.0), listener=listen)
    assert ws.run(engine, timeout=120) is True
    assert said, "no batch waited its turn"
    assert all("; retry 1 at " in text for text in said), said  # never a growing backoff
    assert ws.prompt_states() == {"processed": 10}
    settled(ws)
