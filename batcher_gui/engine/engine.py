"""The batch lifecycle engine: seal -> write -> upload -> create -> poll -> download -> apply.

One pass (:meth:`Engine.tick`) looks at every batch that needs something and starts its next
step as a task of its own, a few at a time, so a slow 200 MB upload or an unreachable profile
holds up nobody else. Any failure of one batch's step is logged, shown on that batch and
retried with backoff (with jitter); the other batches go on. A profile that cannot be used
until the user acts (no key, key refused) parks only its own batches. Only the holder of the
workspace's claim drives (see :mod:`batcher_gui.engine.claim`); all database work runs in worker
threads (see :mod:`batcher_gui.engine.workers`), never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.events import (
    BatchChanged,
    EngineActivity,
    EngineState,
    EngineStateChanged,
    Event,
    Listener,
    NoticeLevel,
    ProfileWait,
    PromptsChanged,
)
from batcher_gui.domain.models import Batch, Profile
from batcher_gui.domain.remote import Provider
from batcher_gui.domain.states import BatchState
from batcher_gui.engine import driver_waits
from batcher_gui.engine.backoff import Backoffs
from batcher_gui.engine.checking import BackgroundChecker
from batcher_gui.engine.claim import DriverClaim
from batcher_gui.engine.delivery import Deliverer
from batcher_gui.engine.pause import Pause
from batcher_gui.engine.polling import statuses_by_listing
from batcher_gui.engine.providers import (
    BuildProvider,
    GuardedProvider,
    ProfileUnusable,
    ProviderCache,
)
from batcher_gui.engine.settings import EngineSettings
from batcher_gui.engine.step_runner import StepRunner
from batcher_gui.engine.steps import REMOTE_STATES
from batcher_gui.engine.token_counting import BackgroundCounter, TokenGate
from batcher_gui.engine.workers import DbWorkers
from batcher_gui.storage.batch_book import BatchBook
from batcher_gui.storage.checks import CheckBook
from batcher_gui.storage.drafts import Drafts
from batcher_gui.storage.store import Store
from batcher_gui.storage.token_book import TokenBook
from batcher_gui.storage.wake import WakeCalls
from batcher_gui.storage.wake_listener import WakeListener

log = logging.getLogger(__name__)
B = BatchState
ACTIVE = (B.READY_FOR_UPLOAD, B.UPLOADING, *REMOTE_STATES, B.DOWNLOADING)
#: The pause between two engine passes while answers wait to be checked (each pass checks a
#: bounded number: the loop stays free between them).
CHECK_PAUSE = 0.05
#: How often the engine asks SQLite to start its WAL over.
CHECKPOINT_SECONDS = 30.0
#: How often an engine waiting for another driver tries to take over (the driver's death
#: frees its lock at once: this bounds how long the workspace goes undriven).
CLAIM_RETRY_SECONDS = 1.0


class Engine(StepRunner):
    """Drives every batch of one workspace (see the module docstring).

    Args:
        provider_for: makes the provider for a profile (may be async), or a ready
            :class:`ProviderCache`. Raising ProfileUnusable parks that profile's batches.
        workers: the database threads to use (default: the engine's own).
    """

    def __init__(self, store: Store, provider_for: BuildProvider | ProviderCache,
                 batches_dir: Path, results_dir: Path, settings: EngineSettings | None = None,
                 listener: Listener | None = None, *, workers: DbWorkers | None = None) -> None:
        self.store = store
        self.book = BatchBook(store.db)
        self.drafts = Drafts(store.db)
        self.providers = (provider_for if isinstance(provider_for, ProviderCache)
                          else ProviderCache(provider_for))
        self.batches_dir = batches_dir
        self.results_dir = results_dir
        self.settings = settings or EngineSettings()
        self.listener = listener
        self._own_workers = workers is None
        self.workers = workers or DbWorkers()
        self.claim = DriverClaim(store.db, self.settings.lease_ttl)
        self.deliverer = Deliverer(store.db, self.settings, listener, self.workers)
        token_book = TokenBook(store.db)
        self.counting = BackgroundCounter(token_book, self.workers, listener)
        self.gate = TokenGate(token_book, self.workers, lambda: self.settings.token_limits,
                              prices=lambda: self.settings.prices)
        self._counting: asyncio.Task[int] | None = None
        self.checking = BackgroundChecker(CheckBook(store.db), self.workers, listener)
        self._checking: asyncio.Task[int] | None = None
        self._room_check_at = {}
        self._create_locks = {}
        self.state = EngineState.IDLE
        #: Profiles whose batches wait for the user: id -> why.
        self.blocked_profiles: dict[int, ProfileWait] = {}
        self._state_said: tuple[object, ...] | None = None
        #: What the workspace was last told about waiting profiles (None: nothing yet, so
        #: the first word replaces whatever a previous driver left).
        self._published_waits: dict[str, ProfileWait] | None = None
        self._publishing: asyncio.Task[None] | None = None
        #: Batches in flight whose profile can go on (from the last pass).
        self._drivable = 0
        self._profiles: dict[int, Profile] = {}
        self._backoff = Backoffs(self.settings.retry_base, self.settings.retry_cap)
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._delivery: asyncio.Task[bool] | None = None
        self._delivery_waiting = False
        self._cleanup_pending = False
        self._gate: asyncio.Semaphore | None = None
        self._must_hold_claim = False
        self._dirty_runs: set[int] = set()
        self._flush: asyncio.Task[None] | None = None
        self._next_poll: float | None = None
        self._checkpointed = time.monotonic()
        self._listed = {}
        self._warned_status = set()
        wake_calls = WakeCalls(store.db)
        #: Its ``on_call`` runs when another process's wake-up call woke this engine (the
        #: service reads the workspace's settings again then: they may have changed there).
        self.pause = Pause(lambda: self.workers.read(wake_calls.count))
        #: On PostgreSQL, hears wake-up calls at once (the counter poll is the fallback).
        self.wake_listener = WakeListener(store.db, self.pause.heard)

    # -- events ------------------------------------------------------------------------------
    def _emit(self, event: Event) -> None:
        if self.listener is not None:
            self.listener(event)

    def _set_state(self, state: EngineState, reason: str = "", holder: str | None = None
                   ) -> None:
        waiting = {self._profiles[p].name if p in self._profiles else str(p): why
                   for p, why in self.blocked_profiles.items()}
        self.state = state
        self._state_said = (state, reason, holder, dict(waiting))
        self._emit(EngineStateChanged(state, reason, holder, waiting))
        if self.claim.active and waiting != self._published_waits:
            self._published_waits = dict(waiting)
            self._publishing = asyncio.get_running_loop().create_task(
                self._publish_waits(waiting))

    async def _publish_waits(self, waiting: dict[str, ProfileWait]) -> None:
        """Every window reads which profiles wait (this machine may lack a key others have)."""
        try:
            await self.workers.write(driver_waits.publish, self.store, self.claim.holder,
                                     waiting)
        except Exception as exc:  # said again at the next change; the batches say it too
            log.info("could not record the profiles that wait: %s", exc)

    def _changed(self, batch: Batch, state: BatchState, detail: str = "") -> None:
        log.info("batch %s -> %s %s", batch.id, state.value, detail)
        self._emit(BatchChanged(batch.id, state, detail, batch.run_id))
        if batch.run_id is not None:
            self._dirty_runs.add(batch.run_id)
            if self._flush is None or self._flush.done():
                self._flush = asyncio.get_running_loop().create_task(self._flush_counts())

    async def _flush_counts(self) -> None:
        """Prompt counts of the runs that changed, at most every quarter second."""
        await asyncio.sleep(0.25)
        runs, self._dirty_runs = self._dirty_runs, set()
        for run_id in runs:
            counts = await self.workers.read(self.store.run_counts, run_id)
            self._emit(PromptsChanged(run_id, counts))

    def wake(self) -> None:
        """Act now (a user action in this process): end the current pause."""
        self.pause.wake()

    def profile_changed(self, profile_id: int | None = None) -> None:
        """A profile or its key changed: rebuild its provider and try its batches at once."""
        self.providers.forget(profile_id)
        for pid in [profile_id] if profile_id is not None else list(self.blocked_profiles):
            self.blocked_profiles.pop(pid, None)
        self._backoff.forget(profile_id=profile_id)
        self.wake()

    def retry_waiting_profiles(self) -> None:
        """The user acted elsewhere and may have fixed what made profiles wait (a key, a URL):
        rebuild the providers and try those profiles' batches now (other backoffs stand)."""
        self.providers.forget(None)
        self.blocked_profiles.clear()
        self._backoff.forget(needs_user_only=True)
        self.wake()

    # -- providers ---------------------------------------------------------------------------
    async def _provider(self, batch: Batch) -> Provider:
        profile = self._profiles.get(batch.profile_id)
        if profile is None:
            profile = await self.workers.read(self.store.get_profile_by_id, batch.profile_id)
            self._profiles[profile.id] = profile
        try:
            inner = await self.providers.get(profile)
        except ProfileUnusable:
            raise
        except BatcherError as exc:  # no API key, unusable base URL...
            raise ProfileUnusable(f"profile {profile.name!r}: {exc}") from exc
        return GuardedProvider(inner, self._may_call)

    def _may_call(self) -> bool:
        return not self._must_hold_claim or self.claim.held()

    def _poll_interval(self, batch: Batch) -> float:
        profile = self._profiles.get(batch.profile_id)
        if profile is not None:
            if "poll_interval_seconds" in profile.options:
                return float(profile.options["poll_interval_seconds"])
            if profile.is_builtin_sandbox:
                return self.settings.sandbox_poll_interval
        return self.settings.poll_interval

    # -- one pass ------------------------------------------------------------------------------
    async def tick(self, *, wait: bool = True) -> bool:
        """One pass over the workspace. Returns True while anything is still in flight.

        Args:
            wait: wait for the steps this pass started (tests, ``batcher sync``); the run loop
                passes False and lets them run on while it sleeps.
        """
        s = self.settings
        self._profiles = {p.id: p for p in await self.workers.read(self.store.list_profiles)}
        for batch_id in await self.workers.write(self.drafts.rebatch_orphans):
            self._changed(await self.workers.read(self.book.get, batch_id),
                          B.READY_FOR_UPLOAD, "retry batch")
        due_drafts = await self.workers.read(self.drafts.due_to_seal, s.quiet_seconds)
        if due_drafts:
            for batch_id in await self.workers.write(self.drafts.seal, due_drafts,
                                                     reason="sealed: full or quiet"):
                self._changed(await self.workers.read(self.book.get, batch_id),
                              B.READY_FOR_UPLOAD)
        now = time.time()
        active, busy = await self._read_beside_steps(self.book.in_states, ACTIVE)
        free = [b for b in active if b.id not in busy and self._due(b.id, now)
                and self._has_work(b, now)]
        self._listed = await statuses_by_listing(
            (b for b in free if self._poll_due(b, now)), self._provider)
        started = [self._start(b, self._drive) for b in free]
        cleanup, busy = await self._read_beside_steps(self.book.cleanup_candidates)
        self._cleanup_pending = False
        for batch in cleanup:
            if batch.id in busy or not self._due(batch.id, now):
                # Provider files left behind are a leak: not idle while one waits to retry.
                self._cleanup_pending = self._cleanup_pending or (
                    batch.profile_id not in self.blocked_profiles)
                continue
            started.append(self._start(batch, self._cleanup))
        if self._delivery is None or self._delivery.done():
            self._delivery = asyncio.get_running_loop().create_task(self._deliver())
        if self._counting is None or self._counting.done():  # never waited for: not "busy"
            self._counting = asyncio.get_running_loop().create_task(self._count_tokens())
        if self._checking is None or self._checking.done():  # likewise never waited for
            self._checking = asyncio.get_running_loop().create_task(self._check_answers())
        if time.monotonic() - self._checkpointed > CHECKPOINT_SECONDS:
            self._checkpointed = time.monotonic()  # keeps the WAL from growing (see db.py)
            await self.workers.write(self.store.db.checkpoint)
        if wait:
            await asyncio.gather(*started, self._delivery)
        drivable = [b for b in active if b.profile_id not in self.blocked_profiles]
        self._drivable = len(drivable)
        self._next_poll = self._next_poll_at(active)
        self._emit(EngineActivity(len(active), self._next_poll))
        return bool(drivable or self._tasks or self._cleanup_pending or self._delivery_waiting)

    async def _read_beside_steps(self, query: Callable[..., list[Batch]], *args: Any
                                 ) -> tuple[list[Batch], set[int]]:
        """Batches read while steps run, and the batches no step may start from: those with
        a step running before or after the read. A step that ends during the read may have
        changed its batch after the read: its (stale) row must not start another step in
        this pass — the next one, woken when that step ends, reads it again."""
        busy = set(self._tasks)
        rows = await self.workers.read(query, *args)
        return rows, busy | set(self._tasks)

    async def _deliver(self) -> bool:
        try:
            self._delivery_waiting = await self.deliverer.run_pass()
        except Exception as exc:
            log.error("delivery pass failed: %s", exc, exc_info=exc)
            self._notice(NoticeLevel.ERROR, f"delivering results failed: {exc}; retrying")
            self._delivery_waiting = True
        return self._delivery_waiting

    async def _count_tokens(self) -> int:
        try:
            return await self.counting.run_pass()
        except Exception as exc:  # counting is an estimate: it must never stop the engine
            log.error("counting tokens failed: %s", exc, exc_info=exc)
            return 0

    async def _check_answers(self) -> int:
        try:
            return await self.checking.run_pass()
        except Exception as exc:  # a check is a verdict on answers: it must never stop the engine
            log.error("checking answers failed: %s", exc, exc_info=exc)
            self.checking.more = False  # the next pass tries again, at the usual pace
            return 0

    def _next_poll_at(self, active: list[Batch]) -> float | None:
        polls = [(b.polled_at or 0) + self._poll_interval(b)
                 for b in active if b.state in REMOTE_STATES]
        return min(polls) if polls else None

    def _next_pause(self) -> float:
        pause = self.settings.tick
        now = time.time()
        if self._next_poll is not None:
            pause = min(pause, self._next_poll - now)
        soonest = self._backoff.soonest()
        if soonest is not None:
            pause = min(pause, soonest - now)
        if self.checking.more:  # answers wait to be checked: the next chunks go on soon
            pause = min(pause, CHECK_PAUSE)
        return max(pause, 0.01)

    # -- the loop ------------------------------------------------------------------------------
    async def run(self, *, until_idle: bool = False, timeout: float | None = None,
                  stop: asyncio.Event | None = None) -> bool:
        """Drive the workspace until stopped (or idle). Returns True if it ended idle.

        Only one engine drives a workspace: if another holds the claim this waits for it and
        takes over when it ends. With ``until_idle``, it also returns (False) once everything
        still in flight waits for the user (see :attr:`blocked_profiles`).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        moved = await self.workers.read(lambda: self.store.get_setting("moved_to"))
        if moved:  # copied into a team workspace: its engine drives these batches now
            self._set_state(EngineState.STOPPED, f"this workspace was copied to {moved}, "
                            "whose engine sends its batches now; open that one to go on")
            return False
        self.pause.start()
        self.wake_listener.start()
        # A new run tries every profile again: the user may have fixed what blocked it.
        self.blocked_profiles.clear()
        self._backoff.forget(needs_user_only=True)
        reason = "stopped"
        waiting_said = False
        try:
            while True:
                if not self.claim.active or not self.claim.held():
                    if self.claim.active:  # lapsed: renewals failed for a whole TTL
                        await self.workers.write(self.claim.release)
                    if await self.workers.write(self.claim.acquire):
                        self._published_waits = None
                        self._set_state(EngineState.DRIVING)
                        waiting_said = False
                    else:
                        # Said again when the driver changes (or is first known: its lease
                        # row is written just after it takes the lock).
                        driver = await self.workers.read(self.claim.current_driver)
                        holder = driver.holder if driver else None
                        if not waiting_said or holder != self._state_said_holder():
                            self._set_state(EngineState.WAITING_FOR_DRIVER,
                                            other_driver_text(holder), holder)
                        waiting_said = True
                if self.claim.active:
                    self._must_hold_claim = True
                    try:
                        busy = await self.tick(wait=False)
                    except Exception as exc:
                        busy = True
                        log.error("engine pass failed: %s", exc, exc_info=exc)
                        self._notice(NoticeLevel.ERROR, f"the engine met a problem ({exc}); "
                                                        "trying again")
                    if until_idle and not busy and await self._settled():
                        reason = "nothing left to do"
                        return not self.blocked_profiles or not await self._blocked_active()
                    self._paused_check()
                if deadline is not None and time.monotonic() >= deadline:
                    reason = "time limit reached"
                    return False
                pause = (self._next_pause() if self.claim.active
                         else min(self.settings.tick, CLAIM_RETRY_SECONDS))
                await self.pause.sleep(pause, stop, deadline)
                if stop is not None and stop.is_set():
                    return False
        except asyncio.CancelledError:
            reason = "cancelled"
            raise
        except Exception as exc:
            reason = f"stopped by an unexpected error: {exc}"
            log.error("engine stopped: %s", exc, exc_info=exc)
            raise
        finally:
            self._must_hold_claim = False
            await asyncio.get_running_loop().run_in_executor(None, self.wake_listener.stop)
            await self._stop_tasks()
            if self._publishing is not None:
                await asyncio.wait([self._publishing])
            if self.claim.active and self._published_waits:  # the next driver judges again
                with contextlib.suppress(Exception):
                    await self.workers.write(driver_waits.clear, self.store, self.claim.holder)
            self._published_waits = None
            with contextlib.suppress(Exception):
                await self.workers.write(self.claim.release)
            self._set_state(EngineState.STOPPED, reason)

    def _state_said_holder(self) -> object:
        return self._state_said[2] if self._state_said is not None else None

    async def _settled(self) -> bool:
        """Nothing running, no draft waiting, a whole delivery pass found nothing to do, and
        every answer is checked."""
        if self._tasks:
            return False
        if self._checking is not None and not self._checking.done():
            await asyncio.wait([self._checking])  # one bounded pass: has it found more?
        if self.checking.more:
            return False
        if await self.workers.read(self.drafts.any_waiting):
            return False
        if self._delivery is not None:
            await asyncio.shield(self._delivery)
        return not self._delivery_waiting

    async def _blocked_active(self) -> bool:
        active = await self.workers.read(self.book.in_states, ACTIVE)
        return any(b.profile_id in self.blocked_profiles for b in active)

    def _paused_check(self) -> None:
        """Paused only when nothing can go on (every batch in flight waits for the user);
        driving otherwise, saying which profiles wait (once, when that changes)."""
        reasons = "; ".join(w.detail for w in self.blocked_profiles.values())
        if self.blocked_profiles and self.state is EngineState.DRIVING and not self._tasks \
                and not self._drivable:
            self._set_state(EngineState.PAUSED, reasons)
        elif self.state is EngineState.PAUSED and (not self.blocked_profiles or self._drivable):
            self._set_state(EngineState.DRIVING)
        elif self.state in (EngineState.DRIVING, EngineState.PAUSED):
            waiting = {self._profiles[p].name if p in self._profiles else str(p): why
                       for p, why in self.blocked_profiles.items()}
            if self._state_said is None or self._state_said[3] != waiting:
                self._set_state(self.state, reasons if self.state is EngineState.PAUSED
                                else "")

    async def _stop_tasks(self) -> None:
        """Let running steps finish (briefly), then cancel them: safe, intents are recorded."""
        running = [t for t in [*self._tasks.values(), self._delivery, self._flush,
                               self._counting, self._checking]
                   if t is not None and not t.done()]
        if running:
            _, pending = await asyncio.wait(running, timeout=self.settings.stop_grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)

    async def close(self) -> None:
        """Stop everything this engine opened (connections, threads)."""
        await self._stop_tasks()
        await self.deliverer.close()
        await self.providers.close()
        if self._own_workers:
            self.workers.close()


def other_driver_text(holder: str | None) -> str:
    if not holder:
        return "another Batcher drives this workspace; this one takes over when it ends"
    host, _, rest = holder.partition(":")
    pid = rest.split(":", 1)[0]
    return (f"another Batcher (process {pid} on {host}) drives this workspace; this one "
            "takes over when it ends")
