"""What a headless engine (``batcher serve``) tells monitoring: is the database there, does
this process drive the workspace (and if not, who does), and the workspace's counts.

Everything is read off the event loop on threads of its own, each read bounded by a timeout:
a scrape never waits behind the engine's database work, and a database that stopped answering
makes /healthz say so (503) within seconds instead of hanging the probe.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from batcher_gui.domain.events import Event, Notice, NoticeLevel
from batcher_gui.domain.health import WorkspaceFigures
from batcher_gui.domain.secrecy import mask
from batcher_gui.storage.health import ping, workspace_figures

if TYPE_CHECKING:
    from batcher_gui.app.service import Service

log = logging.getLogger(__name__)
T = TypeVar("T")

#: How long one health read may take before the database counts as unreachable.
READ_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class DriverInfo:
    """The process that drives the workspace (from the lease row every driver keeps)."""

    holder: str
    host: str
    pid: int


@dataclass(frozen=True, slots=True)
class Health:
    """One look at the workspace and this process's engine.

    Attributes:
        database_ok: the database answered within the timeout.
        database: where the workspace is (a URL's password masked).
        database_kind: ``sqlite`` or ``postgresql``.
        database_error: why it did not answer (masked), when it did not.
        driving: this process holds the claim and drives.
        engine_state: this process's engine state (``driving``, ``waiting_for_driver``...).
        driver: who drives (this process or another), if anyone; None if unknown or nobody.
        figures: the counts (when asked for and the database answered).
        errors_total: errors the engine reported since this process started.
        last_error: the last of them, in words.
        started_at: when this process started serving (Unix seconds).
    """

    database_ok: bool
    database: str
    database_kind: str
    database_error: str | None
    driving: bool
    engine_state: str
    driver: DriverInfo | None
    figures: WorkspaceFigures | None
    errors_total: int
    last_error: str | None
    started_at: float


class HealthReader:
    """Reads :class:`Health` for a service (see the module docstring). Call :meth:`close`."""

    def __init__(self, service: Service, *, timeout: float = READ_TIMEOUT) -> None:
        self.service = service
        self.timeout = timeout
        self.started_at = time.time()
        self.errors_total = 0
        self.last_error: str | None = None
        # Two threads: a read stuck on a dead connection leaves the other for the next probe.
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="batcher-health")
        self._unsubscribe = service.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, Notice) and event.level is NoticeLevel.ERROR:
            self.errors_total += 1
            self.last_error = event.message  # already masked by the service

    async def _call(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(self._pool, fn), self.timeout)

    async def read(self, *, figures: bool = False) -> Health:
        """The database's answer (or why none came), who drives, and (``figures``) counts."""
        db = self.service.store.db
        claim = self.service.engine.claim
        error: str | None = None
        driver: DriverInfo | None = None
        counts: WorkspaceFigures | None = None
        try:
            await self._call(lambda: ping(db))
            lease = await self._call(claim.current_driver)
            if lease is not None:
                driver = DriverInfo(lease.holder, lease.host, lease.pid)
            if figures:
                counts = await self._call(lambda: workspace_figures(db))
        except TimeoutError:
            error = f"no answer within {self.timeout:g} s"
        except Exception as exc:  # any failure to reach it: say which, never raise to a probe
            error = mask(f"{type(exc).__name__}: {exc}".strip().splitlines()[0])
        if error is not None:
            log.info("health check: the database did not answer: %s", error)
        return Health(
            database_ok=error is None,
            database=db.shown_name,
            database_kind="postgresql" if db.dialect.postgres else "sqlite",
            database_error=error,
            driving=claim.held(),
            engine_state=self.service.engine.state.value,
            driver=driver,
            figures=counts,
            errors_total=self.errors_total,
            last_error=self.last_error,
            started_at=self.started_at)

    def close(self) -> None:
        self._unsubscribe()
        # A read stuck on a dead connection must not hold up the process's exit.
        self._pool.shutdown(wait=False, cancel_futures=True)
