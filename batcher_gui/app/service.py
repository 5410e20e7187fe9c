"""The composition root and service API: one open workspace, everything wired to it.

:class:`Service` opens a workspace and wires paths, the database, typed settings, API keys,
providers, the built-in sandbox and the engine. The window and the command line are thin
layers over it: every call is async and safe while the engine runs (database work goes to
worker threads; long jobs to a job thread), and everything that happens reaches listeners as
typed events (:mod:`batcher_gui.domain.events`) on the event loop's thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from batcher_gui.app.actions import Actions
from batcher_gui.app.checks import CheckActions
from batcher_gui.app.connections import Connections, ConnectionVerdict
from batcher_gui.app.jobs import run_stoppable
from batcher_gui.app.logs import log_to_workspace, stop_logging_to
from batcher_gui.app.process import load_for_driving
from batcher_gui.app.rerun import RerunActions
from batcher_gui.app.review import ReviewActions
from batcher_gui.config.prices import price_table
from batcher_gui.config.secrets import SecretStore, remember_environment_keys
from batcher_gui.config.settings import WorkspaceSettings
from batcher_gui.domain.errors import BatcherError, WorkspaceError
from batcher_gui.domain.events import (
    BatchChanged,
    EngineState,
    EngineStateChanged,
    Event,
    ExportProgress,
    ImportProgress,
    Listener,
    Notice,
    NoticeLevel,
    RunsChanged,
)
from batcher_gui.domain.models import ImportOptions, ImportSummary
from batcher_gui.domain.secrecy import mask
from batcher_gui.domain.views import PromptQuery
from batcher_gui.engine.engine import Engine
from batcher_gui.engine.export import (
    ExportFormat,
    check_destination,
    count_matching,
    export_filter,
    export_run,
    format_for,
)
from batcher_gui.engine.providers import ProviderCache
from batcher_gui.engine.run_import import import_file
from batcher_gui.engine.settings import EngineSettings
from batcher_gui.engine.workers import DbWorkers
from batcher_gui.paths import WorkspacePaths
from batcher_gui.storage import Store, open_store
from batcher_gui.storage.guard import refuse_foreign_database
from batcher_gui.storage.import_session import discard_abandoned

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Progress events of one job per second, at most (a 1,000,000-line import has 200 chunks).
_PROGRESS_EVERY = 0.1


class Service(Actions, CheckActions, RerunActions, ReviewActions):
    """One open workspace (see the module docstring). Use :meth:`open`, then :meth:`close`.

    Args:
        engine_settings: overrides of the engine's pacing (tests shorten every delay).
        secrets: where API keys are kept (tests pass an in-memory keyring).
        sandbox_config: the built-in sandbox's behaviour (tests make it instant).
        sandbox_host: makes the built-in sandbox's host from (folder, config); default: a
            process of its own (tests may run it on a thread).
    """

    def __init__(self, paths: WorkspacePaths, store: Store, *,
                 secrets: SecretStore | None = None,
                 engine_overrides: dict[str, Any] | None = None,
                 sandbox_config: Any = None, sandbox_host: Any = None) -> None:
        self.paths = paths
        self.store = store
        self.secrets = secrets or SecretStore()
        self.workers = DbWorkers()
        self._listeners: list[Listener] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._jobs = ThreadPoolExecutor(2, thread_name_prefix="batcher-job")
        self._job_ids = itertools.count(1)
        self._engine_overrides = engine_overrides or {}
        self.connections = Connections(paths, self.secrets, sandbox_config, sandbox_host)
        self.settings, problems = WorkspaceSettings.from_raw(store.raw_settings())
        self.providers = ProviderCache(self.connections.build)
        self.engine = Engine(store, self.providers, paths.batches_dir, paths.results_dir,
                             self._engine_settings(), self._emit, workers=self.workers)
        self._engine_task: asyncio.Task[None] | None = None
        self._engine_stop: asyncio.Event | None = None
        #: Settings stored in the workspace that were ignored (bad values), in words.
        self.startup_problems: tuple[str, ...] = tuple(problems)
        #: Things done while opening that the user should hear about once, in words.
        self.startup_notices: tuple[str, ...] = ()
        self._warm = False
        self._closed = False
        self.engine.pause.on_call = self._woken_from_elsewhere

    # -- opening and closing -------------------------------------------------------------------
    @classmethod
    async def open(cls, paths: WorkspacePaths, **kwargs: Any) -> Service:
        """Open (creating, migrating) the workspace at ``paths`` off the event loop."""
        def opening() -> tuple[Store, int]:
            # Another program's database (DATABASE_URL is a common name) is refused before
            # any folder is made beside it or any table added to it.
            if not paths.database_url:
                refuse_foreign_database(paths.database, paths.chosen_by)
            paths.create()
            tightened = paths.tighten()  # a workspace from before Batcher made it owner-only
            log_to_workspace(paths.log_dir)
            try:
                store = open_store(paths.database, paths.database_url)
            except WorkspaceError as exc:
                if paths.database_url:  # say what named the server
                    raise WorkspaceError(f"{exc} (the URL came from {paths.chosen_by})") from exc
                raise
            removed = discard_abandoned(store.db)
            if removed:
                log.info("removed %d import(s) a crash had left unfinished", removed)
            # Echoes of these keys are masked from now on, before any profile is used.
            remember_environment_keys(store.list_profiles())
            if tightened:
                log.info("made %d files and folders of the workspace owner-only", tightened)
            return store, tightened

        store, tightened = await asyncio.get_running_loop().run_in_executor(None, opening)
        service = cls(paths, store, **kwargs)
        if tightened:  # said once: the next open finds nothing to tighten
            service.startup_notices += (
                f"The workspace could be read by other users of this computer: made owner-only "
                f"{tightened} of its files and folders ({paths.root}).",)
        service._bind_loop()
        for problem in service.startup_problems:
            log.info("a workspace setting was ignored: %s", problem)
        return service

    def _bind_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    async def close(self) -> None:
        """Stop the engine between steps, then everything else; nothing is lost."""
        self._closed = True
        await self.stop_engine()
        await self.engine.close()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._jobs.shutdown)
        await loop.run_in_executor(None, self.connections.stop_sandbox)
        await loop.run_in_executor(None, self.workers.close)
        self.store.db.close()
        stop_logging_to(self.paths.log_dir)

    async def __aenter__(self) -> Service:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- events --------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every event (on the event loop's thread); returns an
        unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, event: Event) -> None:
        if self._loop is not None and threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(self._deliver, event)
        else:
            self._deliver(event)

    def _deliver(self, event: Event) -> None:
        event = _masked(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a listener's bug must not stop the others or the engine
                log.exception("an event listener failed on %r", event)

    # -- running blocking work -------------------------------------------------------------------
    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self.workers.read(fn, *args, **kwargs)

    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self.workers.write(fn, *args, **kwargs)

    async def _job(self, fn: Callable[[], T], cancel: threading.Event) -> T:
        """Run a long job in a job thread; if the caller is cancelled, stop it and wait."""
        return await run_stoppable(fn, cancel, self._jobs)

    def _throttled(self, emit: Callable[[int, int, int], None]) -> Callable[[int, int, int], None]:
        last = [0.0]

        def progress(done: int, total: int, count: int) -> None:
            now = time.monotonic()
            if now - last[0] >= _PROGRESS_EVERY or done >= total:
                last[0] = now
                emit(done, total, count)

        return progress

    # -- settings, keys, providers -------------------------------------------------------------
    def _engine_settings(self) -> EngineSettings:
        return EngineSettings.from_workspace(self.settings, **self._engine_overrides)

    def _apply_settings(self, settings: WorkspaceSettings) -> None:
        self.settings = settings
        self.engine.settings = self._engine_settings()
        self.engine.deliverer.settings = self.engine.settings
        self.engine.wake()

    async def test_connection(self, name: str, key: str | None = None) -> ConnectionVerdict:
        """One cheap authenticated call with the profile's key, or ``key`` (see
        :meth:`Connections.test`)."""
        return await self.connections.test(await self.read(self.store.get_profile, name), key)

    # -- the engine ----------------------------------------------------------------------------
    async def warm_up(self) -> None:
        """Import what driving needs (the provider SDK: about a second; aiohttp for webhooks)
        in a thread, before driving starts: an import on the loop would stall it."""
        if self._warm:
            return
        await asyncio.get_running_loop().run_in_executor(None, load_for_driving)
        self._warm = True

    async def start_engine(self) -> None:
        """Drive the workspace in the background (or wait for the process that drives it)."""
        if self._closed or (self._engine_task is not None and not self._engine_task.done()):
            return
        await self.warm_up()
        if self._closed:  # closed while it warmed up
            return
        self._engine_stop = asyncio.Event()
        self._engine_task = asyncio.get_running_loop().create_task(self._drive(),
                                                                   name="batcher-engine")

    async def _drive(self) -> None:
        assert self._engine_stop is not None
        while not self._engine_stop.is_set():
            try:
                await self.engine.run(stop=self._engine_stop)
            except Exception as exc:  # Engine.run has logged it; start again after a pause
                self._emit(EngineStateChanged(EngineState.STOPPED, f"engine error: {exc}; "
                                                                  "restarting in 5 s"))
                try:
                    await asyncio.wait_for(self._engine_stop.wait(), 5)
                except TimeoutError:
                    pass

    async def stop_engine(self) -> None:
        """Stop driving between steps (running steps get a moment to finish)."""
        if self._engine_task is None:
            return
        assert self._engine_stop is not None
        self._engine_stop.set()
        self.engine.wake()
        await self._engine_task
        self._engine_task = None

    async def sync(self, *, until_idle: bool = True, timeout: float | None = None) -> bool:
        """Drive in the foreground until nothing is in flight (``batcher sync --wait``)."""
        await self.warm_up()
        return await self.engine.run(until_idle=until_idle, timeout=timeout)

    async def sync_once(self) -> bool | None:
        """One pass, if no other process drives (None then); True while work remains."""
        await self.warm_up()
        if not await self.write(self.engine.claim.acquire):
            return None
        try:
            self.engine._must_hold_claim = True
            return await self.engine.tick()
        finally:
            self.engine._must_hold_claim = False
            await self.write(self.engine.claim.release)

    def wake(self) -> None:
        """Act on a user's change now, not at the next tick."""
        self.engine.wake()

    def _woken_from_elsewhere(self) -> None:
        """A user acted in another process (a `batcher` command, another window): its
        changes may include the workspace's settings, profiles or (on this machine) keys, so
        read them again and try waiting profiles at once."""
        if self._loop is not None and not self._closed:
            self.engine.retry_waiting_profiles()
            self._reloading = self._loop.create_task(self._reload_settings())

    async def _reload_settings(self) -> None:
        raw = await self.read(self.store.raw_settings)
        settings, _problems = WorkspaceSettings.from_raw(raw)
        if settings != self.settings:
            log.info("workspace settings changed by another process; applied")
            self._apply_settings(settings)

    # -- import and export ---------------------------------------------------------------------
    def new_job_id(self) -> int:
        """An id for an import or export not used before in this service: pass it as
        ``job_id`` to tell that job's progress events from another's."""
        return next(self._job_ids)

    async def import_file(self, path: str | os.PathLike[str], options: ImportOptions, *,
                          profile: str | None = None, name: str | None = None,
                          cancel: threading.Event | None = None,
                          parallel_from_bytes: int | None = None,
                          job_id: int | None = None) -> ImportSummary:
        """Import a file as a new run (all of it or nothing, unless ``options.valid_only``).

        Progress arrives as :class:`ImportProgress` events with ``job_id`` (from
        :meth:`new_job_id`; a new one if not given); setting ``cancel`` (or cancelling the
        awaiting task) stops it and leaves nothing behind.
        """
        job = self.new_job_id() if job_id is None else job_id
        cancel = cancel or threading.Event()
        shown = str(path)
        progress = self._throttled(
            lambda done, total, count: self._emit(ImportProgress(job, shown, done, total, count)))
        extra = {} if parallel_from_bytes is None else {
            "parallel_from_bytes": parallel_from_bytes}
        summary = await self._job(functools.partial(
            import_file, self.store, path, options, profile_name=profile, run_name=name,
            progress=progress, should_stop=cancel.is_set, write=self.workers.write_sync,
            **extra), cancel)
        warnings = await self._model_warnings(summary.run.id)
        for warning in summary.warnings + warnings:
            self._emit(Notice(NoticeLevel.WARNING, warning, run_id=summary.run.id))
        self._emit(RunsChanged(f"imported run #{summary.run.id}"))
        self.engine.wake()
        return dataclasses.replace(summary, warnings=summary.warnings + warnings)

    async def _model_warnings(self, run_id: int) -> list[str]:
        """Models without a known price: often a typo (never refused: providers add models)."""
        prices = price_table(self.settings.prices)
        warnings = []
        for model in prices.unpriced(await self.read(self.store.run_models, run_id)):
            close = prices.closest(model)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            warnings.append(f"model {model!r} is not in the price table, so no cost will be "
                            f"shown{hint} (imported anyway: check the name before submitting)")
        return warnings

    async def export_run(self, run_ref: int | str, out: str | os.PathLike[str],
                         fmt: ExportFormat | str | None = None, *,
                         only: PromptQuery | None = None,
                         cancel: threading.Event | None = None,
                         job_id: int | None = None) -> int:
        """Write a run's prompts and results to a file (JSONL or CSV); returns how many.

        ``only``: just the prompts a view's filters show (its states, model, errors, search
        text; its run and order are not used); None: all of the run.
        Progress arrives as :class:`ExportProgress` events with ``job_id`` (from
        :meth:`new_job_id`; a new one if not given)."""
        run = await self.find_run(run_ref)
        await self.read(check_destination, out)
        chosen = format_for(out, fmt)
        job = self.new_job_id() if job_id is None else job_id
        cancel = cancel or threading.Event()
        progress = self._throttled(lambda done, total, _n: self._emit(
            ExportProgress(job, run.id, str(out), done, total)))
        return await self._job(functools.partial(
            export_run, self.store, run, out, chosen,
            progress=lambda done, total: progress(done, total, done),
            should_stop=cancel.is_set, only=only), cancel)

    async def count_for_export(self, run_ref: int | str, only: PromptQuery | None) -> int:
        """How many prompts :meth:`export_run` would write with ``only``."""
        run = await self.find_run(run_ref)
        chosen = export_filter(only)
        if chosen is None:
            return run.prompt_count
        return await self.read(count_matching, self.store.db, run.id, chosen)

    # -- errors that reach the user ------------------------------------------------------------
    def notice(self, message: str, level: NoticeLevel = NoticeLevel.INFO) -> None:
        self._emit(Notice(level, message))


__all__ = ["BatcherError", "Service"]


def _masked(event: Event) -> Event:
    """The event with its words masked for API keys: they may quote a provider or an
    exception, and listeners show them (the window, ``batcher sync``)."""
    if isinstance(event, Notice):
        return dataclasses.replace(event, message=mask(event.message))
    if isinstance(event, BatchChanged) and event.detail:
        return dataclasses.replace(event, detail=mask(event.detail))
    if isinstance(event, EngineStateChanged) and (event.reason or event.waiting_profiles):
        waiting = {name: dataclasses.replace(wait, detail=mask(wait.detail))
                   for name, wait in event.waiting_profiles.items()}
        return dataclasses.replace(event, reason=mask(event.reason), waiting_profiles=waiting)
    return event
