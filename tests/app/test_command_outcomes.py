"""What the service's commands return: figures the window and the command line word."""

from __future__ import annotations

from pathlib import Path

import pytest

from batcher_gui.domain.errors import BatcherError, Cancelled, OverBudget
from batcher_gui.domain.events import Event, ExportProgress
from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.outcomes import (
    BatchCancel,
    BudgetCap,
    CancelKind,
    CancelOutcome,
    DeleteOutcome,
    DeliveryOutcome,
    RetryOutcome,
    SubmitOutcome,
)
from batcher_gui.domain.states import BatchState, PromptState
from tests.app.conftest import OpenService, run, write_chat


def test_submit_cancel_deliver_and_delete_return_figures(open_service: OpenService,
                                                        tmp_path: Path) -> None:
    data = write_chat(tmp_path / "p.jsonl", 5)

    async def scenario() -> None:
        service = await open_service()
        try:
            summary = await service.import_file(data, ImportOptions(), profile="sandbox")
            run_ = summary.run
            (draft,) = summary.drafts

            folder = await service.set_delivery(run_.id, folder=str(tmp_path / "out"))
            assert folder == DeliveryOutcome(run_.id, run_.label, "folder",
                                             str((tmp_path / "out").resolve()))
            hook = await service.set_delivery(run_.name, webhook="https://example.com/h")
            assert hook == DeliveryOutcome(run_.id, run_.label, "webhook",
                                           "https://example.com/h")
            assert await service.set_delivery(run_.id) == DeliveryOutcome(run_.id, run_.label)

            assert await service.submit(run_.id) == SubmitOutcome(sealed=(draft,))
            assert await service.submit(run_.id) == SubmitOutcome()  # nothing left to seal

            # The engine is not running: the sealed batch never left, it is cancelled at once.
            assert await service.cancel_batch(draft) == CancelOutcome((BatchCancel(
                draft, CancelKind.CANCELLED, BatchState.READY_FOR_UPLOAD, 5),))
            assert await service.cancel_run(run_.id) == CancelOutcome()
            assert await service.run_counts(run_.id) == {PromptState.CANCELLED: 5}
            with pytest.raises(BatcherError, match=f"batch #{draft} is cancelled: too late"):
                await service.cancel_batch(draft)

            assert await service.retry(run_.id, prompts_too=True) == RetryOutcome(0, 0, 0, 0)
            assert await service.sync(timeout=30) is True  # the cancelled batch is tidied up
            assert await service.delete_run(run_.id) == DeleteOutcome(run_.id, run_.label, 5,
                                                                      (draft,))
            assert await service.runs() == []
        finally:
            await service.close()

    run(scenario())


def test_retry_counts_the_failed_prompts_it_sends_again(open_service: OpenService,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "q.txt"
    path.write_text("fine\nnot this one #fail\nthis one neither #fail\n")

    async def scenario() -> None:
        service = await open_service()
        try:
            summary = await service.import_file(path, ImportOptions(model="gpt-4o-mini"),
                                                profile="sandbox")
            await service.submit(summary.run.id)
            assert await service.sync(timeout=60) is True
            assert await service.run_counts(summary.run.id) == {
                PromptState.PROCESSED: 1, PromptState.FAILED: 2}
            assert await service.retry(summary.run.id) == RetryOutcome(0, 0, 0, 0)
            assert await service.retry(summary.run.id, prompts_too=True) == RetryOutcome(
                batches_restarted=0, prompts_in_restarted=0, prompts_requeued=2,
                delivery_failures_left=0)
            assert await service.run_counts(summary.run.id) == {
                PromptState.PROCESSED: 1, PromptState.PENDING: 2}
        finally:
            await service.close()

    run(scenario())


def test_over_budget_submit_carries_the_figures(open_service: OpenService,
                                                tmp_path: Path) -> None:
    data = write_chat(tmp_path / "p.jsonl", 3)

    async def scenario() -> None:
        service = await open_service()
        try:
            profile = await service.profile("sandbox")
            await service.edit_profile("sandbox", options={**profile.options,
                                                           "budget_run_usd": 0.000001})
            summary = await service.import_file(data, ImportOptions(), profile="sandbox")
            with pytest.raises(OverBudget) as caught:
                await service.submit(summary.run.id)
            refusal = caught.value.refusal
            assert (refusal.profile, refusal.cap, refusal.cap_usd, refusal.run_label) == (
                "sandbox", BudgetCap.RUN, 0.000001, summary.run.label)
            assert refusal.run_high_usd > 0.000001
            assert [b.state for b in await service.batches()] == [BatchState.DRAFT]

            allowed = await service.submit(summary.run.id, allow_over_budget=True)
            assert allowed == SubmitOutcome(sealed=tuple(summary.drafts),
                                            over_budget_allowed=(summary.run.id,))
        finally:
            await service.close()

    run(scenario())


def test_two_exports_at_once_tell_their_progress_apart(open_service: OpenService,
                                                       tmp_path: Path) -> None:
    data = write_chat(tmp_path / "p.jsonl", 50)

    async def scenario() -> None:
        import asyncio

        service = await open_service()
        events: list[Event] = []
        service.subscribe(events.append)
        try:
            summary = await service.import_file(data, ImportOptions(), profile="sandbox")
            first, second = service.new_job_id(), service.new_job_id()
            assert first != second
            counts = await asyncio.gather(
                service.export_run(summary.run.id, tmp_path / "a.jsonl", job_id=first),
                service.export_run(summary.run.id, tmp_path / "b.csv", job_id=second))
            assert counts == [50, 50]
        finally:
            await service.close()
        progress = [e for e in events if isinstance(e, ExportProgress)]
        by_job = {e.job_id: e.path for e in progress}
        assert by_job == {first: str(tmp_path / "a.jsonl"), second: str(tmp_path / "b.csv")}
        assert all(e.total == 50 for e in progress)

    run(scenario())


def test_preview_examples_and_check_go_through_the_service(open_service: OpenService,
                                                           tmp_path: Path) -> None:
    data = write_chat(tmp_path / "p.jsonl", 3)
    with data.open("ab") as fh:
        fh.write(b"not json\n")
    big = write_chat(tmp_path / "big.jsonl", 60_000)

    async def scenario() -> None:
        import asyncio
        import threading

        service = await open_service()
        try:
            preview = await service.preview_file(data, ImportOptions())
            assert (preview.format.value, preview.models, len(preview.rows)) == (
                "jsonl", ["gpt-4o-mini"], 4)
            examples = await service.example_requests(data, ImportOptions(), "sandbox")
            assert [e[0] for e in examples if isinstance(e, tuple)] == ["c0", "c1", "c2"]
            seen: list[tuple[int, int]] = []
            report = await service.check_file(data, ImportOptions(), "sandbox",
                                              progress=lambda d, t: seen.append((d, t)))
            assert (report.valid, report.invalid, report.batches) == (3, 1, 1)
            assert report.models == {"gpt-4o-mini": 3} and report.errors[0].line == 4
            assert seen[-1] == (data.stat().st_size, data.stat().st_size)

            stop = threading.Event()
            stop.set()  # stopped before it starts: it reads one stretch and gives up
            with pytest.raises(Cancelled):
                await service.check_file(big, ImportOptions(), cancel=stop)

            running = asyncio.ensure_future(service.check_file(big, ImportOptions()))
            await asyncio.sleep(0)
            running.cancel()
            with pytest.raises(asyncio.CancelledError):
                await running
        finally:
            await service.close()

    run(scenario())
