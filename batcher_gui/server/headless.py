"""A headless engine: the workspace driven without a window, for as long as the process lives.

:func:`run_headless` starts, in order, the status endpoints (/healthz, /metrics), the intake
API if asked for, and the engine (which drives, or waits for the process that drives and takes
over when that one ends); it then waits for ``stop`` (SIGTERM, Ctrl-C) and stops them in the
reverse order: the intake first, so nothing is acknowledged that the engine will not see; then
the engine, between steps (intents are recorded, nothing is lost: a restart goes on from
there); then the endpoints, which answer until the end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from batcher_gui.app.health import HealthReader
from batcher_gui.domain.listen import ListenAddress
from batcher_gui.server.logs import EVENTS_LOGGER, EventLog
from batcher_gui.server.status import StatusServer

if TYPE_CHECKING:
    from batcher_gui.app.service import Service

log = logging.getLogger(EVENTS_LOGGER)


class IntakeHandle(Protocol):
    """What :func:`batcher_gui.server.intake.start_intake` returns."""

    async def stop(self) -> None: ...


async def start_intake_api(service: Service, address: ListenAddress,
                           options: Mapping[str, Any]) -> IntakeHandle:
    """The intake API on ``address`` (imported only when asked for)."""
    from batcher_gui.server.intake import start_intake

    handle: IntakeHandle = await start_intake(service, address.host, address.port, **options)
    return handle


def _intake_figures(handle: IntakeHandle | None) -> Mapping[str, float] | None:
    figures = getattr(handle, "figures", None)
    return figures() if callable(figures) else None


async def run_headless(service: Service, *, listen: ListenAddress, stop: asyncio.Event,
                       intake: ListenAddress | None = None,
                       intake_options: Mapping[str, Any] | None = None) -> None:
    """Serve until ``stop`` is set (see the module docstring)."""
    events = EventLog(service.subscribe)
    reader = HealthReader(service)
    intake_handle: IntakeHandle | None = None
    status = StatusServer(reader, listen, extra=lambda: _intake_figures(intake_handle))
    try:
        await status.start()
        log.info(f"serving the workspace {service.store.db.shown_name}; /healthz and /metrics "
                 f"on {status.url}",
                 extra={"event": "listening", "url": status.url,
                        "workspace": service.store.db.shown_name})
        if intake is not None:
            intake_handle = await start_intake_api(service, intake, intake_options or {})
            url = getattr(intake_handle, "url", intake.url())
            log.info(f"intake API on {url}", extra={"event": "intake_listening", "url": url})
        await service.start_engine()
        await stop.wait()
        log.info("stopping: the engine stops between steps; nothing is lost",
                 extra={"event": "stopping"})
        if intake_handle is not None:
            handle, intake_handle = intake_handle, None
            await handle.stop()
        await service.stop_engine()
    finally:
        if intake_handle is not None:  # failed before the normal stop
            await intake_handle.stop()
        await status.stop()
        reader.close()
        events.close()
    log.info("stopped", extra={"event": "stopped"})
