"""Running one step of one batch, and what happens when it goes wrong.

Whatever goes wrong stays with that batch: the problem is logged (an unexpected one with its
traceback), shown on the batch and as a notice, and the step is tried again after a backoff.
A profile that needs the user (no key, key refused) parks only its own batches.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from batcher_gui.domain.errors import BatcherError, DatabaseBusy
from batcher_gui.domain.events import BatchChanged, Event, NoticeLevel, ProfileWait, WaitKind
from batcher_gui.domain.models import Batch
from batcher_gui.domain.remote import PermanentError, ProviderError, RetryLater, WaitForTurn
from batcher_gui.engine.backoff import Backoffs
from batcher_gui.engine.claim import ClaimLost
from batcher_gui.engine.providers import ProfileUnusable
from batcher_gui.engine.steps import BatchSteps

log = logging.getLogger(__name__)


class StepRunner(BatchSteps):
    """Runs batch steps as tasks, a few at a time, each with its own problem handling."""

    _backoff: Backoffs
    _tasks: dict[int, asyncio.Task[None]]
    _gate: asyncio.Semaphore | None
    blocked_profiles: dict[int, ProfileWait]

    def _emit(self, event: Event) -> None:
        raise NotImplementedError

    def wake(self) -> None:
        raise NotImplementedError

    def _due(self, batch_id: int, now: float) -> bool:
        return self._backoff.due(batch_id, now)

    async def _retry_later(self, batch: Batch, problem: str, *, wait: float | None = None,
                           at_least: float | None = None, needs_user: bool = False) -> None:
        backoff = self._backoff.schedule(batch.id, batch.profile_id, wait=wait,
                                         at_least=at_least, needs_user=needs_user)
        text = (f"{problem}; retry {backoff.failures} at "
                f"{time.strftime('%H:%M:%S', time.localtime(backoff.until))}")
        await self.workers.write(self.book.set_fields, batch.id, problem=text)
        self._emit(BatchChanged(batch.id, batch.state, text, batch.run_id))

    async def _recovered(self, batch: Batch) -> None:
        if self._backoff.clear(batch.id) or batch.problem:
            await self.workers.write(self.book.set_fields, batch.id, problem=None)
        self.blocked_profiles.pop(batch.profile_id, None)

    # -- running one step ----------------------------------------------------------------------
    def _start(self, batch: Batch, step: Callable[[Batch], Coroutine[Any, Any, None]]
               ) -> asyncio.Task[None]:
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.settings.max_concurrent)
        task = asyncio.get_running_loop().create_task(self._guarded(batch, step),
                                                      name=f"batch-{batch.id}")
        self._tasks[batch.id] = task
        return task

    async def _guarded(self, batch: Batch, step: Callable[[Batch], Awaitable[None]]) -> None:
        """One step of one batch; whatever goes wrong stays with this batch."""
        assert self._gate is not None
        try:
            try:
                async with self._gate:
                    await step(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._step_failed(batch, exc)
            else:
                await self._recovered(batch)
        except asyncio.CancelledError:
            raise
        except Exception:  # even recording the problem failed (the database went away...)
            log.exception("batch %s: could not record a problem", batch.id)
            self._backoff.schedule(batch.id, batch.profile_id, wait=self.settings.retry_cap)
        finally:
            self._tasks.pop(batch.id, None)
            self.wake()  # its next step may be due now: look again instead of sleeping

    async def _step_failed(self, batch: Batch, exc: Exception) -> None:
        """Say what went wrong, on the batch and as a notice, and schedule a retry."""
        if isinstance(exc, ClaimLost):
            log.info("batch %s: %s", batch.id, exc)
            return
        needs_user = isinstance(exc, ProfileUnusable) or (
            isinstance(exc, PermanentError) and exc.status in (401, 403))
        if needs_user:
            log.info("batch %s waits for the user: %s", batch.id, exc)
            kind = exc.kind if isinstance(exc, ProfileUnusable) else WaitKind.KEY_REFUSED
            self.blocked_profiles[batch.profile_id] = ProfileWait(kind, str(exc))
            self._notice(NoticeLevel.ERROR, f"batch #{batch.id}: {exc}", batch, needs_user=True)
            await self._retry_later(batch, f"waiting for you: {exc}",
                                    wait=self.settings.profile_retry, needs_user=True)
        elif isinstance(exc, WaitForTurn):
            # Its turn comes when the batch ahead is confirmed: look again after the first
            # wait, every time (waits counted as failures grew to minutes, so a batch whose
            # turn had come sat idle, and its first real fault then waited minutes more).
            self._backoff.clear(batch.id)
            await self._retry_later(batch, str(exc), wait=self.settings.retry_base)
        elif isinstance(exc, RetryLater):
            self._notice(NoticeLevel.INFO, f"batch #{batch.id}: {exc}", batch)
            await self._retry_later(batch, f"provider busy or unreachable ({exc})",
                                    at_least=exc.retry_after)
        elif isinstance(exc, (ProviderError, OSError, DatabaseBusy)):
            log.warning("batch %s: %s", batch.id, exc)
            self._notice(NoticeLevel.ERROR, f"batch #{batch.id}: {exc}", batch)
            await self._retry_later(batch, str(exc))
        elif isinstance(exc, BatcherError):
            # Typically the user cancelled the batch while this step was working on it
            # ("batch N is no longer ready_for_upload"): the next pass sees the new state.
            log.info("batch %s changed meanwhile: %s", batch.id, exc)
            self._backoff.clear(batch.id)
        else:  # a bug or an unexpected fault: never the whole engine
            log.error("batch %s: unexpected error in its %s step", batch.id, batch.state.value,
                      exc_info=exc)
            self._notice(NoticeLevel.ERROR,
                         f"batch #{batch.id}: unexpected error ({type(exc).__name__}: {exc}); "
                         "retrying; details in the log", batch)
            await self._retry_later(batch, f"unexpected error: {type(exc).__name__}: {exc}")

