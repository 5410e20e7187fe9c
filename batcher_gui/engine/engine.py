"""The batch lifecycle engine: seal -> write -> upload -> create -> poll -> download -> apply.

One pass (:meth:`Engine.tick`) looks at every batch that needs something and does the next step.
Before every remote call the intent is written to the database and after it the outcome, so a
process killed at any moment resumes correctly: an upload that may have happened is found by
file name, a create that may have happened is found by the batch's metadata, never repeated.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from batcher_gui.domain.errors import BatcherError, InvalidTransition
from batcher_gui.domain.models import Batch, Profile
from batcher_gui.domain.remote import (
    METADATA_KEY,
    NotFoundRemote,
    PermanentError,
    Provider,
    ProviderError,
    RemoteBatch,
    RetryLater,
)
from batcher_gui.domain.states import BatchState
from batcher_gui.engine.delivery import Deliverer
from batcher_gui.engine.events import BatchChanged, EngineEvent, EngineNotice, Listener
from batcher_gui.engine.polling import statuses_by_listing
from batcher_gui.engine.reconcile import (
    SEND_KEY,
    delete_provider_files,
    find_created,
    find_uploaded,
)
from batcher_gui.engine.settings import EngineSettings
from batcher_gui.storage.lifecycle import Lifecycle
from batcher_gui.storage.results_apply import apply_and_finish, finish_without_files
from batcher_gui.storage.store import Store

log = logging.getLogger(__name__)
B = BatchState

ProviderFor = Callable[[Profile], Provider]

#: Provider statuses and the local state they correspond to while the batch runs.
_RUNNING = {"validating": B.VALIDATING, "in_progress": B.IN_PROGRESS, "finalizing": B.FINALIZING}
_ORDER = [B.UPLOADING, B.VALIDATING, B.IN_PROGRESS, B.FINALIZING]
_FINAL_FOR = {"completed": B.COMPLETED, "expired": B.EXPIRED, "cancelled": B.CANCELLED}
_REMOTE_STATES = (B.VALIDATING, B.IN_PROGRESS, B.FINALIZING)


def _cancel_to_send(batch: Batch) -> bool:
    """The user asked to cancel and the provider has not been told yet."""
    return bool(batch.cancel_requested_at) and batch.provider_status not in (
        "cancelling", "cancelled")


@dataclass(slots=True)
class _Backoff:
    until: float
    failures: int


class Engine:
    """Drives every batch of one workspace. Only the lease holder drives; see :meth:`run`."""

    def __init__(self, store: Store, provider_for: ProviderFor, batches_dir: Path,
                 results_dir: Path, settings: EngineSettings | None = None,
                 listener: Listener | None = None) -> None:
        self.store = store
        self.life = Lifecycle(store)
        self.provider_for = provider_for
        self.batches_dir = batches_dir
        self.results_dir = results_dir
        self.settings = settings or EngineSettings()
        self.listener = listener
        self._providers: dict[int, Provider] = {}
        self._backoff: dict[int, _Backoff] = {}
        self._warned_status: set[tuple[int, str]] = set()
        self.deliverer = Deliverer(store, self.settings, listener)
        #: Statuses read by one listing this pass, by provider batch id (see polling.py).
        self._listed: dict[str, RemoteBatch] = {}

    # -- plumbing ----------------------------------------------------------------------------
    def _emit(self, event: EngineEvent) -> None:
        if self.listener is not None:
            self.listener(event)

    def _changed(self, batch_id: int, state: BatchState, detail: str = "") -> None:
        log.info("batch %s -> %s %s", batch_id, state.value, detail)
        self._emit(BatchChanged(batch_id, state.value, detail))

    def _provider(self, batch: Batch) -> Provider:
        provider = self._providers.get(batch.profile_id)
        if provider is None:
            profile = self.store.get_profile_by_id(batch.profile_id)
            try:
                provider = self.provider_for(profile)
            except BatcherError as exc:  # no API key, unusable base URL...
                if isinstance(exc, ProviderError):
                    raise
                raise PermanentError(f"profile {profile.name!r}: {exc}",
                                     code="profile_config") from exc
            self._providers[batch.profile_id] = provider
        return provider

    async def close(self) -> None:
        await self.deliverer.close()
        for provider in self._providers.values():
            await provider.close()
        self._providers.clear()

    def _due(self, batch_id: int, now: float) -> bool:
        backoff = self._backoff.get(batch_id)
        return backoff is None or backoff.until <= now

    def _retry_later(self, batch: Batch, exc: RetryLater, what: str) -> None:
        previous = self._backoff.get(batch.id)
        failures = previous.failures + 1 if previous else 1
        delay = min(self.settings.retry_base * 2 ** (failures - 1), self.settings.retry_cap)
        if exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        self._backoff[batch.id] = _Backoff(time.time() + delay, failures)
        message = f"batch {batch.id}: {what} failed ({exc}); retrying in {delay:.0f}s"
        log.info(message)
        self._emit(EngineNotice("info", message, batch.id))

    # -- the loop ----------------------------------------------------------------------------
    async def tick(self) -> bool:
        """One pass over the workspace. Returns True while anything is still in flight."""
        s = self.settings
        for batch_id in await asyncio.to_thread(self.life.rebatch_orphans):
            self._changed(batch_id, B.READY_FOR_UPLOAD, "retry batch")
        for batch_id in await asyncio.to_thread(self.life.drafts_to_seal, s.quiet_seconds):
            self.store.seal_drafts([batch_id], reason="sealed: full or quiet")
            self._changed(batch_id, B.READY_FOR_UPLOAD)
        now = time.time()
        in_flight = False
        active = self.life.batches_in(
            [B.READY_FOR_UPLOAD, B.UPLOADING, *_REMOTE_STATES, B.DOWNLOADING])
        self._listed = await statuses_by_listing(
            (b for b in active if self._poll_due(b, now)), self._provider)
        for batch in active:
            in_flight = True
            if not self._due(batch.id, now):
                continue
            try:
                await self._drive(batch)
                self._backoff.pop(batch.id, None)
            except RetryLater as exc:
                self._retry_later(batch, exc, "provider call")
            except (ProviderError, OSError, InvalidTransition) as exc:
                # Not worth crashing the loop for one batch: say it loudly and try later.
                log.warning("batch %s: %s", batch.id, exc)
                needs_user = isinstance(exc, PermanentError) and (
                    exc.code == "profile_config" or exc.status in (401, 403))
                self._emit(EngineNotice("error", f"batch {batch.id}: {exc}", batch.id,
                                        needs_user=needs_user))
                self._retry_later(batch, RetryLater(str(exc)), "step")
            except BatcherError as exc:
                # Typically the user cancelled the batch while this pass was working on it
                # ("batch N is no longer ready_for_upload"): the next pass sees the new state.
                log.info("batch %s changed meanwhile: %s", batch.id, exc)
                self._retry_later(batch, RetryLater(str(exc)), "step")
        for batch in self.life.cleanup_candidates():
            # Provider files left behind are a leak: idle only once they are all deleted.
            if not self._due(batch.id, now):
                in_flight = True
                continue
            try:
                await self._cleanup(batch)
                self._backoff.pop(batch.id, None)
            except RetryLater as exc:
                in_flight = True
                self._retry_later(batch, exc, "deleting provider files")
            except ProviderError as exc:  # e.g. the key was removed: later, without blocking
                log.warning("batch %s: cannot delete provider files: %s", batch.id, exc)
                self._retry_later(batch, RetryLater(str(exc)), "deleting provider files")
        if await self.deliverer.run_pass():
            in_flight = True
        return in_flight

    async def run(self, *, until_idle: bool = False, timeout: float | None = None,
                  stop: asyncio.Event | None = None) -> bool:
        """Drive the workspace until stopped (or idle). Returns True if it ended idle.

        Only one engine drives a workspace: if another holds the lease this waits for it.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                if self.life.acquire_lease(self.settings.lease_ttl):
                    busy = await self.tick()
                    if until_idle and not busy and not self._drafts_waiting():
                        return True
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                pause = self._next_pause()
                if stop is not None:
                    try:
                        await asyncio.wait_for(stop.wait(), pause)
                        return False
                    except TimeoutError:
                        pass
                else:
                    await asyncio.sleep(pause)
        finally:
            self.life.release_lease()

    def _drafts_waiting(self) -> bool:
        return bool(self.life.batches_in([B.DRAFT]))

    def _next_pause(self) -> float:
        pause = min(self.settings.tick, self.settings.poll_interval)
        if self._backoff:
            soonest = min(b.until for b in self._backoff.values()) - time.time()
            pause = min(pause, max(soonest, 0.01))
        return max(pause, 0.01)

    # -- per state ---------------------------------------------------------------------------
    async def _drive(self, batch: Batch) -> None:
        if batch.state is B.READY_FOR_UPLOAD:
            if batch.not_before is None or batch.not_before <= time.time():
                await self._submit(batch)
        elif batch.state is B.UPLOADING:
            await self._resume_upload(batch)
        elif batch.state in _REMOTE_STATES:
            await self._poll(batch)
        elif batch.state is B.DOWNLOADING:
            await self._download(batch)

    async def _submit(self, batch: Batch) -> None:
        self._provider(batch)  # a missing key is found before the batch claims to be uploading
        path, count = await asyncio.to_thread(self.life.write_batch_file, batch, self.batches_dir)
        if count == 0:
            self.life.move(batch.id, B.READY_FOR_UPLOAD, B.FAILED, "no pending prompts to send",
                           error="no pending prompts to send", intent="cleanup")
            self._changed(batch.id, B.FAILED, "empty")
            return
        intent = "create" if batch.input_file_id else "upload"
        self.life.move(batch.id, B.READY_FOR_UPLOAD, B.UPLOADING, f"sending {count} prompt(s)",
                       intent=intent, intent_at=time.time(), not_before=None, wait_reason=None)
        self._changed(batch.id, B.UPLOADING)
        await self._resume_upload(self.store.get_batch(batch.id))

    async def _resume_upload(self, batch: Batch) -> None:
        provider = self._provider(batch)
        filename = f"batch-{batch.uuid}.jsonl"
        send = str(await asyncio.to_thread(self.life.send_number, batch.id))
        if batch.cancel_requested_at:
            # Cancelled before the provider had it: do not create it just to cancel it. A create
            # can only have happened once the input file was recorded (intent "create").
            remote = None
            if batch.intent == "create" and batch.input_file_id is not None:
                remote = await find_created(provider, batch, send)
            if remote is None:
                await asyncio.to_thread(self.life.cancel_unsent, batch.id, B.UPLOADING,
                                        "cancelled by the user before it was sent")
                self._changed(batch.id, B.CANCELLED, "before it was sent")
                return
            self._attach(batch, remote)
            return
        if batch.intent == "upload" or batch.input_file_id is None:
            file_id = await find_uploaded(provider, filename)
            if file_id is None:
                path = self.batches_dir / filename
                if not path.exists():
                    path, _ = await asyncio.to_thread(
                        self.life.write_batch_file, batch, self.batches_dir)
                try:
                    file_id = (await provider.upload_file(path, filename)).id
                except PermanentError as exc:
                    self._fail(batch, B.UPLOADING, f"upload refused: {exc}")
                    return
            self.life.set_fields(batch.id, input_file_id=file_id, intent="create",
                                 intent_at=time.time())
            batch = self.store.get_batch(batch.id)
        assert batch.input_file_id is not None
        remote = await find_created(provider, batch, send)
        if remote is None:
            try:
                remote = await provider.create_batch(
                    batch.input_file_id, batch.endpoint,
                    {METADATA_KEY: batch.uuid, SEND_KEY: send})
            except NotFoundRemote as exc:
                # The input file vanished (expired, deleted): upload it again.
                self.life.set_fields(batch.id, input_file_id=None, intent="upload")
                raise RetryLater("input file no longer at the provider; uploading again") from exc
            except PermanentError as exc:
                if exc.code == "token_limit_exceeded":
                    self._token_limit(batch, B.UPLOADING, str(exc))
                else:
                    self._fail(batch, B.UPLOADING, f"provider refused the batch: {exc}")
                return
        self._attach(batch, remote)

    def _attach(self, batch: Batch, remote: RemoteBatch) -> None:
        """The provider has the batch (just created, or found again by its metadata)."""
        state = _RUNNING.get(remote.status, B.VALIDATING)
        self.life.mark_sent(batch.id, B.UPLOADING, state, remote.id,
                            f"created provider batch {remote.id}", provider_status=remote.status,
                            expires_at=remote.expires_at, polled_at=time.time())
        self._changed(batch.id, state, remote.id)

    async def _poll(self, batch: Batch) -> None:
        now = time.time()
        if _cancel_to_send(batch):
            await self._cancel_remote(batch)
            return
        if not self._poll_due(batch, now):
            return
        assert batch.provider_batch_id is not None
        remote = self._listed.pop(batch.provider_batch_id, None)
        if remote is None:
            remote = await self._provider(batch).retrieve_batch(batch.provider_batch_id)
        await self.apply_remote(batch, remote)

    def _poll_due(self, batch: Batch, now: float) -> bool:
        """A running batch whose status is due for a check (not one about to be cancelled)."""
        return (batch.state in _REMOTE_STATES and self._due(batch.id, now)
                and not _cancel_to_send(batch)
                and (not batch.polled_at or now - batch.polled_at >= self.settings.poll_interval))

    async def apply_remote(self, batch: Batch, remote: RemoteBatch) -> None:
        """Act on a freshly seen provider batch."""
        fields = dict(provider_status=remote.status, polled_at=time.time(),
                      counts_total=remote.total, counts_completed=remote.completed,
                      counts_failed=remote.failed, input_tokens=remote.input_tokens,
                      output_tokens=remote.output_tokens)
        status = remote.status
        if status in _RUNNING or status == "cancelling":
            target = _RUNNING.get(status, batch.state)
            if _ORDER.index(target) > _ORDER.index(batch.state):
                self.life.move(batch.id, batch.state, target, f"provider: {status}", **fields)
                self._changed(batch.id, target)
            else:
                self.life.set_fields(batch.id, **fields)
                self._emit(BatchChanged(batch.id, batch.state.value, "progress"))
        elif status in _FINAL_FOR:
            # "completed" always goes through downloading (the state table has no shortcut);
            # without files its prompts count as having no result.
            if remote.output_file_id or remote.error_file_id or status == "completed":
                self.life.move(batch.id, batch.state, B.DOWNLOADING, f"provider: {status}",
                               output_file_id=remote.output_file_id,
                               error_file_id=remote.error_file_id, **fields)
                self._changed(batch.id, B.DOWNLOADING)
                await self._download(self.store.get_batch(batch.id))
            else:
                final = _FINAL_FOR[status]
                finish_without_files(self.store, batch.id, batch.state, final,
                                     self.settings.max_attempts, f"provider: {status}, no files",
                                     intent="cleanup", **fields)
                self._changed(batch.id, final)
        elif status == "failed":
            codes = {e.code for e in remote.errors}
            text = "; ".join(
                f"{e.code}: {e.message}" + (f" (line {e.line})" if e.line else "")
                for e in remote.errors) or "the provider reported the batch failed"
            self.life.set_fields(batch.id, **fields)
            if "token_limit_exceeded" in codes:
                self._token_limit(batch, batch.state, text)
            else:
                self._fail(batch, batch.state, text)
        else:
            self.life.set_fields(batch.id, **fields)
            if (batch.id, status) not in self._warned_status:
                self._warned_status.add((batch.id, status))
                log.warning("batch %s: unknown provider status %r; still polling", batch.id,
                            status)

    def _token_limit(self, batch: Batch, src: BatchState, text: str) -> None:
        waits = self.settings.token_limit_backoff
        n = self.store.get_batch(batch.id).token_limit_attempts
        if n >= len(waits):
            self._fail(batch, src, f"{text} (gave up after {n} waits)")
            return
        until = time.time() + waits[n]
        reason = (f"waiting for enqueued-token room at the provider (attempt {n + 1}/"
                  f"{len(waits)}, next try at {time.strftime('%H:%M:%S', time.localtime(until))})")
        self.life.wait_for_token_room(batch.id, src, reason, until, n + 1)
        self._changed(batch.id, B.READY_FOR_UPLOAD, reason)

    def _fail(self, batch: Batch, src: BatchState, error: str) -> None:
        self.life.fail_batch(batch.id, src, error)
        self._changed(batch.id, B.FAILED, error)
        self._emit(EngineNotice("error", f"batch {batch.id} failed: {error}", batch.id))

    async def _download(self, batch: Batch) -> None:
        provider = self._provider(batch)
        folder = self.results_dir / f"batch-{batch.uuid}"
        folder.mkdir(parents=True, exist_ok=True)
        files: list[Path] = []
        for kind, file_id in (("output", batch.output_file_id), ("errors", batch.error_file_id)):
            if not file_id:
                continue
            path = folder / f"{kind}.jsonl"
            if not path.exists():  # complete files only: downloads are written then renamed
                try:
                    await provider.download_file(file_id, path)
                except NotFoundRemote:
                    log.warning("batch %s: %s file %s is gone at the provider", batch.id, kind,
                                file_id)
                    continue
            files.append(path)
        final = _FINAL_FOR.get(batch.provider_status or "completed", B.COMPLETED)
        summary = await asyncio.to_thread(
            apply_and_finish, self.store, batch.id, files, final, self.settings.max_attempts,
            intent="cleanup")
        self._changed(batch.id, final, f"{summary.processed} ok, {summary.failed} failed, "
                                       f"{summary.retried} to retry")

    async def _cancel_remote(self, batch: Batch) -> None:
        assert batch.provider_batch_id is not None
        try:
            remote = await self._provider(batch).cancel_batch(batch.provider_batch_id)
        except PermanentError as exc:
            # Typically: it finished meanwhile. Polling will tell.
            log.info("batch %s: cancel not accepted (%s); polling instead", batch.id, exc)
            self.life.set_fields(batch.id, polled_at=None, cancel_requested_at=None)
            return
        await self.apply_remote(self.store.get_batch(batch.id), remote)

    async def _cleanup(self, batch: Batch) -> None:
        """Delete the batch's provider files (RetryLater: the caller tries again later)."""
        extra_copies = bool(await asyncio.to_thread(self.life.send_number, batch.id))
        await delete_provider_files(self._provider(batch), batch, extra_copies=extra_copies,
                                    recorded=self.settings.cleanup_provider_files)
        for leftover in (f"batch-{batch.uuid}.jsonl", f"batch-{batch.uuid}.jsonl.part"):
            (self.batches_dir / leftover).unlink(missing_ok=True)  # .part: a write cut short
        self.life.set_fields(batch.id, intent=None)
