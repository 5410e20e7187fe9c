"""Per-request errors, expiry, cancellation and per-batch knob overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from openai import AsyncOpenAI, BadRequestError

from batcher_gui.sandbox import SandboxConfig, SandboxServer

from .helpers import Runner, chat, chat_file, download, jsonl, poll, submit

EXPIRED = {
    "code": "batch_expired",
    "message": "This request could not be executed before the completion window expired.",
}


def test_fail_and_server_error_triggers(run: Runner, tmp_path: Path) -> None:
    rows = [
        chat("ok-1", "fine"),
        chat("bad", "please #fail"),
        chat("flaky", "please #server_error"),
        chat("ok-2", "fine too"),
    ]

    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        final = (await poll(client, (await submit(client, jsonl(rows))).id))[-1]
        assert final.status == "completed" and final.request_counts is not None
        assert (final.request_counts.completed, final.request_counts.failed) == (2, 2)
        assert final.output_file_id and final.error_file_id
        ok = await download(client, final.output_file_id, tmp_path / "ok.jsonl")
        assert {line["custom_id"] for line in ok} == {"ok-1", "ok-2"}
        errors = await download(client, final.error_file_id, tmp_path / "err.jsonl")
        by_id = {line["custom_id"]: line for line in errors}
        bad, flaky = by_id["bad"], by_id["flaky"]
        assert bad["error"] is None and bad["response"]["status_code"] == 400
        assert bad["response"]["body"]["error"]["type"] == "invalid_request_error"
        assert flaky["response"]["status_code"] == 500
        assert flaky["response"]["body"]["error"]["type"] == "server_error"
        assert set(bad["response"]["body"]["error"]) == {"message", "type", "param", "code"}
        # Resubmitting the same requests: the transient 500 is gone, #fail is not.
        again = (await poll(client, (await submit(client, jsonl(rows))).id))[-1]
        assert again.request_counts is not None
        assert (again.request_counts.completed, again.request_counts.failed) == (3, 1)

    run(scenario)


def test_all_requests_failed_still_completes_without_output(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        data = jsonl([chat(f"r{i}", "#fail") for i in range(3)])
        final = (await poll(client, (await submit(client, data)).id))[-1]
        assert final.status == "completed" and final.output_file_id is None
        assert final.error_file_id is not None

    run(scenario)


def test_request_error_rate_is_deterministic(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> list[int]:
        failed = []
        for _ in range(2):
            final = (await poll(client, (await submit(client, chat_file(40))).id))[-1]
            assert final.request_counts is not None
            failed.append(final.request_counts.failed)
        return failed

    failed = run(scenario, SandboxConfig(request_error_rate=0.5))
    assert failed[0] == failed[1] and 5 < failed[0] < 35


def test_expire_with_partial_output(run: Runner, tmp_path: Path) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        final = (await poll(client, (await submit(client, chat_file(10))).id))[-1]
        assert final.status == "expired" and final.expired_at is not None
        assert final.completed_at is None and final.request_counts is not None
        assert (final.request_counts.completed, final.request_counts.failed) == (5, 5)
        assert final.output_file_id and final.error_file_id
        done = await download(client, final.output_file_id, tmp_path / "ok.jsonl")
        expired = await download(client, final.error_file_id, tmp_path / "err.jsonl")
        assert len(done) == 5 and len(expired) == 5
        assert {ln["custom_id"] for ln in done} | {ln["custom_id"] for ln in expired} == {
            f"req-{i}" for i in range(10)
        }
        for line in expired:
            assert line["response"] is None and line["error"] == EXPIRED

    run(scenario, SandboxConfig(outcome="expire"))


@pytest.mark.parametrize("error_lines", [True, False])
def test_expire_with_nothing_done(run: Runner, error_lines: bool) -> None:
    meta = {
        "sandbox_outcome": "expire",
        "sandbox_partial_fraction": "0",
        "sandbox_expired_error_lines": str(error_lines).lower(),
    }

    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        final = (await poll(client, (await submit(client, chat_file(4), metadata=meta)).id))[-1]
        assert final.status == "expired" and final.output_file_id is None
        assert (final.error_file_id is not None) is error_lines

    run(scenario)


def test_cancel_mid_flight_keeps_partial_output(run: Runner, tmp_path: Path) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        batch = await submit(client, chat_file(8))
        await client.batches.retrieve(batch.id)  # in_progress, 0 done
        progressed = await client.batches.retrieve(batch.id)  # in_progress, 2 done
        assert progressed.status == "in_progress" and progressed.request_counts is not None
        assert progressed.request_counts.completed == 2
        cancelling = await client.batches.cancel(batch.id)
        assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None
        again = await client.batches.cancel(batch.id)  # idempotent while cancelling
        assert again.status == "cancelling"
        final = (await poll(client, batch.id))[-1]
        assert final.status == "cancelled" and final.cancelled_at is not None
        assert final.request_counts is not None and final.request_counts.completed == 2
        assert final.output_file_id is not None and final.error_file_id is None
        assert len(await download(client, final.output_file_id, tmp_path / "o.jsonl")) == 2
        with pytest.raises(BadRequestError):
            await client.batches.cancel(batch.id)

    run(scenario, SandboxConfig(progress_steps=4, cancel_steps=2))


def test_cancel_while_validating_and_after_completion(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        batch = await submit(client, chat_file(3))
        cancelled = await client.batches.cancel(batch.id)
        assert cancelled.status == "cancelled"  # cancel_steps=0
        assert cancelled.output_file_id is None and cancelled.error_file_id is None
        server.config.instant = True
        done = await submit(client, chat_file(3))
        assert done.status == "completed"
        with pytest.raises(BadRequestError) as info:
            await client.batches.cancel(done.id)
        assert info.value.status_code == 400 and "completed" in info.value.message
        # 400, not 409: the SDK (max_retries=2 here) must not retry it.
        assert server.stats()["requests"]["batches.cancel"] == 2

    run(scenario, SandboxConfig(cancel_steps=0), max_retries=2)


def test_cancel_partial_outcome_and_mixed_scenarios(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        plain = await submit(client, chat_file(4))
        self_cancel = await submit(
            client, chat_file(4), metadata={"sandbox_outcome": "cancel_partial"}
        )
        fast = await submit(client, chat_file(4), metadata={"sandbox_instant": "true"})
        assert fast.status == "completed"
        cancelled = [b.status for b in await poll(client, self_cancel.id)]
        assert cancelled[-2:] == ["cancelling", "cancelled"]
        assert (await poll(client, plain.id))[-1].status == "completed"

    run(scenario)
