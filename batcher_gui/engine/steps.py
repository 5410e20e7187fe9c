"""What the engine does for one batch in each state: write -> upload -> create -> poll ->
download -> apply, and cancel and cleanup.

Before every remote call the intent is written to the database and after it the outcome, so a
process killed at any moment resumes correctly: an upload that may have happened is found by
file name, a create that may have happened is found by the batch's metadata, never repeated.
All database and file work runs in the engine's worker threads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial
from pathlib import Path

from batcher_gui.domain.events import Listener, Notice, NoticeLevel
from batcher_gui.domain.models import Batch, Profile
from batcher_gui.domain.remote import (
    METADATA_KEY,
    RESULTS_ARCHIVED,
    NotFoundRemote,
    PermanentError,
    Provider,
    RemoteBatch,
    RetryLater,
    WaitForTurn,
)
from batcher_gui.domain.states import BatchState
from batcher_gui.domain.wording import plural
from batcher_gui.engine.batch_file import (
    batch_file_name,
    remove_batch_file,
    request_count,
    write_batch_file,
)
from batcher_gui.engine.reconcile import (
    SEND_KEY,
    delete_provider_files,
    find_created,
    find_uploaded,
)
from batcher_gui.engine.settings import EngineSettings
from batcher_gui.engine.token_counting import TokenGate
from batcher_gui.engine.workers import DbWorkers
from batcher_gui.paths import private_dir
from batcher_gui.storage.batch_book import BatchBook
from batcher_gui.storage.drafts import Drafts
from batcher_gui.storage.results_apply import apply_and_finish, finish_without_files

log = logging.getLogger(__name__)
B = BatchState

#: Provider statuses and the local state they correspond to while the batch runs.
RUNNING = {"validating": B.VALIDATING, "in_progress": B.IN_PROGRESS, "finalizing": B.FINALIZING}
_ORDER = [B.UPLOADING, B.VALIDATING, B.IN_PROGRESS, B.FINALIZING]
FINAL_FOR = {"completed": B.COMPLETED, "expired": B.EXPIRED, "cancelled": B.CANCELLED}
REMOTE_STATES = (B.VALIDATING, B.IN_PROGRESS, B.FINALIZING)
#: A batch the provider says it does not know this soon after its create is not lost yet.
FRESH_404_SECONDS = 600.0


def cancel_to_send(batch: Batch) -> bool:
    """The user asked to cancel and the provider has not been told yet."""
    return bool(batch.cancel_requested_at) and batch.provider_status not in (
        "cancelling", "cancelled")


class BatchSteps:
    """The per-batch half of the engine (the scheduling half is :class:`Engine`)."""

    workers: DbWorkers
    book: BatchBook
    drafts: Drafts
    settings: EngineSettings
    batches_dir: Path
    results_dir: Path
    listener: Listener | None
    gate: TokenGate
    #: Batches waiting for token-queue room: when to look again.
    _room_check_at: dict[int, float]
    #: Per profile whose batches carry no metadata: one send at a time (see _resume_upload).
    _create_locks: dict[int, asyncio.Lock]
    _profiles: dict[int, Profile]
    #: Statuses read by one listing this pass, by provider batch id (see polling.py).
    _listed: dict[str, RemoteBatch]
    _warned_status: set[tuple[int, str]]

    async def _provider(self, batch: Batch) -> Provider:
        raise NotImplementedError

    def _poll_interval(self, batch: Batch) -> float:
        raise NotImplementedError

    def _capacity_wait(self, batch: Batch) -> None:
        """Look at a batch waiting for token-queue room again after one poll interval (the
        batches ahead of it leave the queue no faster than they are polled)."""
        self._room_check_at[batch.id] = time.time() + min(self._poll_interval(batch), 60.0)

    def _changed(self, batch: Batch, state: BatchState, detail: str = "") -> None:
        raise NotImplementedError

    def _notice(self, level: NoticeLevel, message: str, batch: Batch | None = None,
                needs_user: bool = False) -> None:
        log.info("%s", message)
        if self.listener is not None:
            self.listener(Notice(level, message, batch.id if batch else None,
                                 batch.run_id if batch else None, needs_user))

    async def _reload(self, batch: Batch) -> Batch:
        return await self.workers.read(self.book.get, batch.id)

    # -- per state ---------------------------------------------------------------------------
    def _has_work(self, batch: Batch, now: float) -> bool:
        """Whether :meth:`_drive` would do anything for ``batch`` now.

        A pass starts steps only for these: every step's end wakes the engine (its next step
        may be due), so a step that only returned would wake it again at once — a pass every
        few milliseconds while a batch waits at the provider.
        """
        if batch.state is B.READY_FOR_UPLOAD:
            return ((batch.not_before is None or batch.not_before <= now)
                    and self._room_check_at.get(batch.id, 0.0) <= now)
        if batch.state in REMOTE_STATES:
            return cancel_to_send(batch) or self._poll_due(batch, now)
        return batch.state in (B.UPLOADING, B.DOWNLOADING)

    async def _drive(self, batch: Batch) -> None:
        if batch.state is B.READY_FOR_UPLOAD:
            now = time.time()
            if (batch.not_before is None or batch.not_before <= now) \
                    and self._room_check_at.get(batch.id, 0.0) <= now:
                await self._submit(batch)
        elif batch.state is B.UPLOADING:
            await self._resume_upload(batch)
        elif batch.state in REMOTE_STATES:
            await self._poll(batch)
        elif batch.state is B.DOWNLOADING:
            await self._download(batch)

    async def _submit(self, batch: Batch) -> None:
        await self._provider(batch)  # a missing key is found before the batch is "uploading"
        profile = self._profiles[batch.profile_id]
        # One verdict at a time per model: a batch counts as queued once it is "uploading".
        async with self.gate.lock(batch, profile):
            verdict = await self.gate.check(batch, profile)
            if not verdict.admitted:
                if batch.wait_reason != verdict.reason:
                    await self.workers.write(self.book.set_fields, batch.id,
                                             wait_reason=verdict.reason)
                    self._changed(batch, B.READY_FOR_UPLOAD, verdict.reason)
                self._capacity_wait(batch)
                return
            _, count = await self.workers.read(write_batch_file, self.drafts, batch,
                                               self.batches_dir)
            if count == 0:
                await self.workers.write(
                    self.book.move, batch.id, B.READY_FOR_UPLOAD, B.FAILED,
                    "no pending prompts to send", error="no pending prompts to send",
                    intent="cleanup")
                self._changed(batch, B.FAILED, "empty")
                return
            intent = "create" if batch.input_file_id else "upload"
            await self.workers.write(
                self.book.move, batch.id, B.READY_FOR_UPLOAD, B.UPLOADING,
                f"sending {plural(count, 'prompt')}", intent=intent, intent_at=time.time(),
                not_before=None, wait_reason=None, est_input_tokens=verdict.needed)
        self._changed(batch, B.UPLOADING, plural(count, "prompt"))
        await self._resume_upload(await self._reload(batch))

    async def _resume_upload(self, batch: Batch) -> None:
        provider = await self._provider(batch)
        if provider.capabilities.has_metadata:
            await self._send(batch, provider)
            return
        # Without metadata a lost create is recognised by its time and size (Anthropic). That
        # is unambiguous only if a profile's sends happen one at a time, in the order they were
        # begun, each confirmed (or found again) before the next: else a batch could take
        # another's lost create for its own.
        async with self._create_locks.setdefault(batch.profile_id, asyncio.Lock()):
            batch = await self._reload(batch)
            if batch.state is not B.UPLOADING:
                return
            ahead = await self.workers.read(self.book.send_ahead, batch)
            if ahead is not None:
                raise WaitForTurn(f"waiting until batch #{ahead} is confirmed at the provider "
                                  "(one send at a time)")
            await self._send(batch, provider)

    async def _send(self, batch: Batch, provider: Provider) -> None:
        filename = batch_file_name(batch)
        send = str(await self.workers.read(self.book.send_number, batch.id))
        if batch.cancel_requested_at:
            # Cancelled before the provider had it: do not create it just to cancel it. A create
            # can only have happened once the input file was recorded (intent "create").
            remote = None
            if batch.intent == "create" and batch.input_file_id is not None:
                remote = await self._find_created(provider, batch, send)
            if remote is None:
                await self.workers.write(self.book.cancel_unsent, batch.id, B.UPLOADING,
                                         "cancelled by the user before it was sent")
                self._changed(batch, B.CANCELLED, "before it was sent")
                return
            await self._attach(batch, remote)
            return
        if batch.intent == "upload" or batch.input_file_id is None:
            file_id = await find_uploaded(provider, filename)
            if file_id is None:
                path = self.batches_dir / filename
                if not await self.workers.read(path.exists):
                    path, _ = await self.workers.read(write_batch_file, self.drafts, batch,
                                                      self.batches_dir)
                try:
                    file_id = (await provider.upload_file(path, filename)).id
                except PermanentError as exc:
                    await self._fail(batch, B.UPLOADING, f"upload refused: {exc}")
                    return
            await self.workers.write(self.book.set_fields, batch.id, input_file_id=file_id,
                                     intent="create", intent_at=time.time())
            batch = await self._reload(batch)
        assert batch.input_file_id is not None
        remote = await self._find_created(provider, batch, send)
        if remote is None and (await self._reload(batch)).cancel_requested_at:
            # Cancelled while this step uploaded: the provider never gets the batch.
            await self.workers.write(self.book.cancel_unsent, batch.id, B.UPLOADING,
                                     "cancelled by the user before it was sent")
            self._changed(batch, B.CANCELLED, "before it was sent")
            return
        if remote is None:
            try:
                remote = await provider.create_batch(
                    batch.input_file_id, batch.endpoint,
                    {METADATA_KEY: batch.uuid, SEND_KEY: send})
            except NotFoundRemote as exc:
                # The input file vanished (expired, deleted): upload it again.
                await self.workers.write(self.book.set_fields, batch.id, input_file_id=None,
                                         intent="upload")
                raise RetryLater("input file no longer at the provider; uploading again") from exc
            except PermanentError as exc:
                if exc.code == "token_limit_exceeded":
                    await self._token_limit(batch, B.UPLOADING, str(exc))
                else:
                    await self._fail(batch, B.UPLOADING, f"provider refused the batch: {exc}")
                return
        await self._attach(batch, remote)

    async def _find_created(self, provider: Provider, batch: Batch,
                            send: str) -> RemoteBatch | None:
        """This send's provider batch if a create already happened (lost answer, crash)."""
        requests, claimed = None, set[str]()
        if not provider.capabilities.has_metadata:  # found by time and size instead
            requests = await self.workers.read(request_count, batch, self.batches_dir)
            claimed = await self.workers.read(self.book.provider_ids, batch.profile_id,
                                              batch.id)
        return await find_created(provider, batch, send, requests=requests, claimed=claimed)

    async def _attach(self, batch: Batch, remote: RemoteBatch) -> None:
        """The provider has the batch (just created, or found again by its metadata)."""
        state = RUNNING.get(remote.status, B.VALIDATING)
        await self.workers.write(
            self.book.mark_sent, batch.id, B.UPLOADING, state, remote.id,
            f"created provider batch {remote.id}", provider_status=remote.status,
            expires_at=remote.expires_at, polled_at=time.time())
        self._changed(batch, state, remote.id)

    async def _poll(self, batch: Batch) -> None:
        now = time.time()
        if cancel_to_send(batch):
            await self._cancel_remote(batch)
            return
        if not self._poll_due(batch, now):
            return
        assert batch.provider_batch_id is not None
        remote = self._listed.pop(batch.provider_batch_id, None)
        if remote is None:
            provider = await self._provider(batch)
            try:
                remote = await provider.retrieve_batch(batch.provider_batch_id)
            except NotFoundRemote as exc:
                sent_at = batch.intent_at or batch.updated_at
                if now - sent_at < FRESH_404_SECONDS:
                    # Anthropic may not know a batch for a moment after creating it.
                    raise RetryLater(f"the provider does not list batch "
                                     f"{batch.provider_batch_id} yet") from exc
                raise
        await self.apply_remote(batch, remote)

    def _poll_due(self, batch: Batch, now: float) -> bool:
        """A running batch whose status is due for a check (not one about to be cancelled)."""
        return (batch.state in REMOTE_STATES and not cancel_to_send(batch)
                and (not batch.polled_at or now - batch.polled_at >= self._poll_interval(batch)))

    async def apply_remote(self, batch: Batch, remote: RemoteBatch) -> None:
        """Act on a freshly seen provider batch."""
        fields = dict(provider_status=remote.status, polled_at=time.time(),
                      counts_total=remote.total, counts_completed=remote.completed,
                      counts_failed=remote.failed, input_tokens=remote.input_tokens,
                      output_tokens=remote.output_tokens)
        status = remote.status
        if status in RUNNING or status == "cancelling":
            target = RUNNING.get(status, batch.state)
            if _ORDER.index(target) > _ORDER.index(batch.state):
                await self.workers.write(self.book.move, batch.id, batch.state, target,
                                         f"provider: {status}", **fields)
                self._changed(batch, target)
            else:
                await self.workers.write(self.book.set_fields, batch.id, **fields)
                self._changed(batch, batch.state, "progress")
        elif status in FINAL_FOR and any(e.code == RESULTS_ARCHIVED for e in remote.errors):
            # Ended long ago, its results no longer kept (Anthropic: 29 days): nothing to
            # apply; sending again would be paid again, so that is the user's call.
            await self.workers.write(self.book.set_fields, batch.id, **fields)
            await self._fail(batch, batch.state, "; ".join(
                e.message or "" for e in remote.errors if e.code == RESULTS_ARCHIVED)
                + ": its prompts failed without an answer; retry them to send them again")
        elif status in FINAL_FOR:
            # "completed" always goes through downloading (the state table has no shortcut);
            # without files its prompts count as having no result.
            if remote.output_file_id or remote.error_file_id or status == "completed":
                await self.workers.write(
                    self.book.move, batch.id, batch.state, B.DOWNLOADING, f"provider: {status}",
                    output_file_id=remote.output_file_id, error_file_id=remote.error_file_id,
                    **fields)
                self._changed(batch, B.DOWNLOADING)
                await self._download(await self._reload(batch))
            else:
                final = FINAL_FOR[status]
                await self.workers.read(
                    finish_without_files, self.book.db, batch.id, batch.state, final,
                    self.settings.max_attempts, f"provider: {status}, no files",
                    write=self.workers.write_sync, intent="cleanup", **fields)
                self._changed(batch, final)
        elif status == "failed":
            codes = {e.code for e in remote.errors}
            text = "; ".join(
                f"{e.code}: {e.message}" + (f" (line {e.line})" if e.line else "")
                for e in remote.errors) or "the provider reported the batch failed"
            await self.workers.write(self.book.set_fields, batch.id, **fields)
            if "token_limit_exceeded" in codes:
                await self._token_limit(batch, batch.state, text)
            else:
                await self._fail(batch, batch.state, text)
        else:
            await self.workers.write(self.book.set_fields, batch.id, **fields)
            if (batch.id, status) not in self._warned_status:
                self._warned_status.add((batch.id, status))
                log.warning("batch %s: unknown provider status %r; still polling", batch.id,
                            status)

    async def _token_limit(self, batch: Batch, src: BatchState, text: str) -> None:
        await self.gate.refused(await self._reload(batch))
        waits = self.settings.token_limit_backoff
        n = (await self._reload(batch)).token_limit_attempts
        if n >= len(waits):
            await self._fail(batch, src, f"{text} (gave up after {n} waits)")
            return
        until = time.time() + waits[n]
        reason = (f"token queue full at the provider: retry {n + 1}/{len(waits)} at "
                  f"{time.strftime('%H:%M:%S', time.localtime(until))}")
        await self.workers.write(self.book.wait_for_token_room, batch.id, src, reason, until,
                                 n + 1)
        self._changed(batch, B.READY_FOR_UPLOAD, reason)

    async def _fail(self, batch: Batch, src: BatchState, error: str) -> None:
        await self.workers.write(self.book.fail, batch.id, src, error)
        self._changed(batch, B.FAILED, error)
        self._notice(NoticeLevel.ERROR, f"batch #{batch.id} failed: {error}", batch)

    async def _download(self, batch: Batch) -> None:
        provider = await self._provider(batch)
        folder = self.results_dir / f"batch-{batch.uuid}"
        await self.workers.read(partial(private_dir, parents=True), folder)
        files: list[Path] = []
        for kind, file_id in (("output", batch.output_file_id), ("errors", batch.error_file_id)):
            if not file_id:
                continue
            path = folder / f"{kind}.jsonl"
            if not await self.workers.read(path.exists):  # downloads are written then renamed
                try:
                    await provider.download_file(file_id, path)
                except NotFoundRemote:
                    log.warning("batch %s: %s file %s is gone at the provider", batch.id, kind,
                                file_id)
                    continue
            files.append(path)
        final = FINAL_FOR.get(batch.provider_status or "completed", B.COMPLETED)
        # Parsing runs in a reader thread; each chunk of results is written by the writer.
        summary = await self.workers.read(
            apply_and_finish, self.book.db, batch.id, files, final, self.settings.max_attempts,
            write=self.workers.write_sync, intent="cleanup")
        await self.workers.write(self.book.db.checkpoint)  # a batch's results: a big write
        self._changed(batch, final, f"{summary.processed} ok, {summary.failed} failed, "
                                    f"{summary.retried} to retry")

    async def _cancel_remote(self, batch: Batch) -> None:
        assert batch.provider_batch_id is not None
        try:
            remote = await (await self._provider(batch)).cancel_batch(batch.provider_batch_id)
        except PermanentError as exc:
            # Typically: it finished meanwhile. Polling will tell.
            log.info("batch %s: cancel not accepted (%s); polling instead", batch.id, exc)
            await self.workers.write(self.book.set_fields, batch.id, polled_at=None,
                                     cancel_requested_at=None)
            return
        await self.apply_remote(await self._reload(batch), remote)

    async def _cleanup(self, batch: Batch) -> None:
        """Delete the batch's provider files (RetryLater: the caller tries again later)."""
        sends = await self.workers.read(self.book.send_number, batch.id)
        recorded = [f for f in (batch.input_file_id, batch.output_file_id, batch.error_file_id)
                    if f]
        # A batch never uploaded has nothing at the provider: no key or network needed.
        if sends or recorded:
            await delete_provider_files(
                await self._provider(batch), batch, extra_copies=bool(sends),
                recorded=self.settings.cleanup_provider_files)
        await self.workers.read(remove_batch_file, batch, self.batches_dir)
        await self.workers.write(self.book.set_fields, batch.id, intent=None)


