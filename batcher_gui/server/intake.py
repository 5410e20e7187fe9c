"""The intake API over HTTP (aiohttp): the predecessor's ``POST /api/requests``, a JSONL bulk
endpoint and ``GET /api/requests/{custom_id}``, bearer-token protected and rate-limited.

Only bytes move here; what is accepted or refused, and how, is :mod:`batcher_gui.app.intake`'s.
A 202 is sent after the requests are committed, so an acknowledged request survives a crash.

Limits (all options of :func:`start_intake`): a token may make ``rate`` calls a second on
average with bursts of ``burst`` (a bulk is one call; defaults: the workspace settings
``intake_rate_per_second``, 50, and ``intake_burst``, 100); a single request's body is at most
``max_body_bytes``, a bulk's at most ``max_bulk_bytes`` (else 413); at most ``max_pending``
calls wait for the workspace at once (more get a 429, never a 5xx).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from batcher_gui.app.intake import Intake, IntakeRefused
from batcher_gui.app.service import Service
from batcher_gui.domain.errors import DatabaseBusy, InvalidInput
from batcher_gui.domain.listen import is_loopback, parse_listen

log = logging.getLogger(__name__)

DEFAULT_PORT = 8766
DEFAULT_RATE = 50.0
DEFAULT_BURST = 100
DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_MAX_BULK = 256 * 1024 * 1024
DEFAULT_MAX_PENDING = 64
_READ_CHUNK = 1024 * 1024
_INTAKE: web.AppKey[Intake] = web.AppKey("intake", Intake)
_TOKEN_ID: web.RequestKey[int] = web.RequestKey("batcher_intake_token", int)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None
          ) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), headers=headers,
                        content_type="application/json")


class TokenBuckets:
    """A token bucket per bearer token: ``rate`` calls a second, bursts of ``burst``."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._buckets: dict[int, tuple[float, float]] = {}

    def take(self, key: int) -> float:
        """0 if a call may go now, else the seconds until it may."""
        now = time.monotonic()
        level, at = self._buckets.get(key, (self.burst, now))
        level = min(self.burst, level + (now - at) * self.rate)
        if level >= 1.0:
            self._buckets[key] = (level - 1.0, now)
            return 0.0
        self._buckets[key] = (level, now)
        return (1.0 - level) / self.rate


@dataclass
class IntakeHandle:
    """A listening intake API: its ``url``; ``await stop()`` ends it (calls in progress
    finish first)."""

    url: str
    runner: web.AppRunner
    counts: dict[str, float]

    async def stop(self) -> None:
        await self.runner.cleanup()

    def figures(self) -> dict[str, float]:
        """Counters for ``/metrics`` (``batcher serve``): requests accepted, calls refused by
        status class, rate-limited calls."""
        return dict(self.counts)


def parse_address(text: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """``HOST:PORT``, ``[IPv6]:PORT``, ``:PORT`` or a bare ``HOST`` (the default port) as
    (host, port); read by :func:`batcher_gui.domain.listen.parse_listen`, as serve's are."""
    value = text.strip()
    if value and ":" not in value.rsplit("]", 1)[-1]:
        value = f"{value}:{default_port}"
    address = parse_listen(value, option="the intake address")
    return address.host, address.port


def build_app(intake: Intake, *, rate: float = DEFAULT_RATE, burst: int = DEFAULT_BURST,
              max_body_bytes: int = DEFAULT_MAX_BODY, max_bulk_bytes: int = DEFAULT_MAX_BULK,
              max_pending: int = DEFAULT_MAX_PENDING,
              counts: dict[str, float] | None = None) -> web.Application:
    """The aiohttp application (see the module docstring for the options); ``counts`` is
    kept up to date with what it answered."""
    buckets = TokenBuckets(rate, burst)
    pending = [0]
    tally = counts if counts is not None else {}
    for name in ("requests_accepted", "calls_refused", "calls_rate_limited"):
        tally.setdefault(name, 0.0)

    def count(name: str, n: float = 1.0) -> None:
        tally[name] = tally.get(name, 0.0) + n

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        token_id = None
        if scheme.lower() == "bearer":
            try:
                token_id = await intake.authenticate(token.strip())
            except DatabaseBusy:
                return _busy()
        if token_id is None:
            # The same answer for a missing, wrong or revoked token: nothing to learn from it.
            return _json(401, {"error": "unauthorized",
                               "detail": "a valid bearer token is required"},
                         {"WWW-Authenticate": 'Bearer realm="batcher-intake"'})
        wait = buckets.take(token_id)
        if wait > 0:
            count("calls_rate_limited")
            return _json(429, {"error": "rate_limited",
                               "detail": f"over {rate:g} requests a second for this token"},
                         {"Retry-After": str(max(1, math.ceil(wait)))})
        if pending[0] >= max_pending:
            count("calls_rate_limited")
            return _busy()
        request[_TOKEN_ID] = token_id
        pending[0] += 1
        try:
            return await handler(request)
        except IntakeRefused as refused:
            count("calls_refused")
            return _json(refused.status, refused.body)
        except DatabaseBusy:
            count("calls_rate_limited")
            return _busy()
        except web.HTTPException:
            raise
        except Exception:
            log.exception("the intake API failed on %s %s", request.method, request.path)
            return _json(500, {"error": "internal_error"})
        finally:
            pending[0] -= 1

    async def read_limited(request: web.Request, limit: int, what: str) -> bytes:
        if request.content_length is not None and request.content_length > limit:
            raise _too_large(what, limit)
        data = bytearray()
        while chunk := await request.content.read(_READ_CHUNK):
            data += chunk
            if len(data) > limit:
                raise _too_large(what, limit)
        return bytes(data)

    def names(request: web.Request) -> tuple[str | None, str | None]:
        run = request.headers.get("X-Batcher-Run") or request.query.get("run")
        profile = request.headers.get("X-Batcher-Profile") or request.query.get("profile")
        return run, profile

    async def post_one(request: web.Request) -> web.Response:
        data = await read_limited(request, max_body_bytes, "a request")
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            return _json(400, {"error": "invalid_json", "detail": f"not valid JSON: {exc}"})
        run, profile = names(request)
        accepted = await intake.submit(obj, token_id=request[_TOKEN_ID], run=run,
                                       profile=profile)
        count("requests_accepted")
        return _json(202, {"custom_id": accepted.custom_id})

    async def post_bulk(request: web.Request) -> web.Response:
        kind = request.content_type
        if kind not in ("application/x-ndjson", "application/jsonl", "text/plain",
                        "application/octet-stream"):
            return _json(415, {"error": "unsupported_media_type",
                               "detail": "send JSONL as application/x-ndjson or text/plain"})
        data = await read_limited(request, max_bulk_bytes, "a bulk")
        run, profile = names(request)
        accepted = await intake.submit_bulk(data, token_id=request[_TOKEN_ID], run=run,
                                            profile=profile)
        count("requests_accepted", accepted.count)
        return _json(202, {"accepted": accepted.count, "run": accepted.run})

    async def get_one(request: web.Request) -> web.Response:
        return _json(200, await intake.find(request.match_info["custom_id"]))

    app = web.Application(middlewares=[guard], client_max_size=max_bulk_bytes)
    app[_INTAKE] = intake
    app.router.add_post("/api/requests", post_one)
    app.router.add_post("/api/requests/bulk", post_bulk)
    app.router.add_get("/api/requests/{custom_id}", get_one)
    return app


def _busy() -> web.Response:
    return _json(429, {"error": "busy", "detail": "the workspace is busy; try again shortly"},
                 {"Retry-After": "1"})


def _too_large(what: str, limit: int) -> web.HTTPRequestEntityTooLarge:
    return web.HTTPRequestEntityTooLarge(
        max_size=limit, actual_size=limit + 1, content_type="application/json",
        text=orjson.dumps({"error": "payload_too_large",
                           "detail": f"{what} may be at most {limit:,} bytes"}).decode())


async def start_intake(service: Service, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *,
                       allow_remote: bool = False, public: bool = False,
                       **opts: Any) -> IntakeHandle:
    """Listen for the intake API on ``host:port`` (port 0: any free one).

    A non-loopback ``host`` is refused unless ``allow_remote`` (or ``public``: the name
    ``batcher serve --intake-public`` passes) says so: it would take requests from other
    machines. ``opts``: see :func:`build_app`.
    """
    if not (allow_remote or public) and not is_loopback(host):
        raise InvalidInput(f"the intake API listens on this machine only (127.0.0.1) unless "
                           f"asked: {host!r} is reachable from other machines; allow it "
                           "explicitly (--intake-public)")
    counts: dict[str, float] = {}
    # The rate limit's defaults are workspace settings (`batcher config set ...`).
    opts.setdefault("rate", service.settings.intake_rate_per_second)
    opts.setdefault("burst", service.settings.intake_burst)
    app = build_app(Intake(service), counts=counts, **opts)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=30)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise InvalidInput(f"the intake API cannot listen on {host}:{port}: "
                           f"{exc.strerror or exc}") from None
    # Port 0 asks for any free port: the one taken is the socket's.
    sockets = getattr(site._server, "sockets", None) or ()
    bound = int(sockets[0].getsockname()[1]) if sockets else port
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}"
    log.info("intake API listening on %s", url)
    return IntakeHandle(url, runner, counts)


__all__ = ["IntakeHandle", "parse_address", "start_intake"]
