"""``GET /healthz`` and ``GET /metrics`` of a headless engine (aiohttp, loopback by default).

/healthz answers 200 while the workspace database answers (503 when it does not), with what
a probe or a person wants to know: whether this process drives, and who does. /metrics is the
Prometheus text format (see :mod:`batcher_gui.server.metrics`). Both read fresh figures on
each request, off the event loop (see :class:`~batcher_gui.app.health.HealthReader`).
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from batcher_gui.app.health import Health, HealthReader
from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.listen import ListenAddress
from batcher_gui.server.metrics import CONTENT_TYPE, exposition

log = logging.getLogger(__name__)

#: Extra counters for /metrics (the intake API's, while it runs): name -> value.
ExtraFigures = Callable[[], Mapping[str, float] | None]


def health_json(health: Health) -> dict[str, Any]:
    """The body of /healthz."""
    driver = health.driver
    return {
        "status": "ok" if health.database_ok else "unavailable",
        "driving": health.driving,
        "engine": health.engine_state,
        "driver": None if driver is None else {"host": driver.host, "pid": driver.pid,
                                               "holder": driver.holder},
        "database": {"reachable": health.database_ok, "kind": health.database_kind,
                     "name": health.database, "error": health.database_error},
        "errors_total": health.errors_total,
        "last_error": health.last_error,
        "started_at": health.started_at,
    }


class StatusServer:
    """The /healthz and /metrics endpoints on ``address``; :meth:`start`, then :meth:`stop`."""

    def __init__(self, reader: HealthReader, address: ListenAddress,
                 extra: ExtraFigures | None = None) -> None:
        self.reader = reader
        self.address = address
        self.extra = extra
        self.port = address.port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return self.address.url(self.port)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.address.host, self.address.port).start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            why = ("the port is in use (another `batcher serve`?)"
                   if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc))
            raise BatcherError(f"cannot listen on {self.address}: {why}; choose another "
                               "with --listen HOST:PORT") from exc
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, _request: web.Request) -> web.Response:
        health = await self.reader.read()
        return web.json_response(health_json(health), status=200 if health.database_ok else 503,
                                 headers={"Cache-Control": "no-store"})

    async def _metrics(self, _request: web.Request) -> web.Response:
        health = await self.reader.read(figures=True)
        body = exposition(health, self.extra() if self.extra is not None else None)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE,
                                                "Cache-Control": "no-store"})
