"""HTTP fault injection: 429, 500, stalls past the client timeout, dropped connections.

Each fault can hit *before* the request is applied (nothing happened server-side) or
*after* (the file/batch exists but the client never hears of it: the duplicate-creation
hazard, since the SDK sends no idempotency key). Draws come from one seeded RNG, so a
given request sequence sees the same faults on every run.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass

from aiohttp import web

from .config import FaultSpec, SandboxConfig
from .errors import ApiError, overloaded, rate_limited, server_error

_POLL_SECONDS = 0.02


@dataclass(frozen=True)
class FaultDecision:
    kind: str  # one of "429", "500", "529", "timeout", "drop"
    after: bool  # inject after the handler applied the request


class FaultInjector:
    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        # Keyed by spec identity so installing a fresh FaultSpec restarts its max_count.
        self._uses: dict[tuple[str, int], tuple[FaultSpec, int]] = {}
        self.injected: Counter[str] = Counter()

    def decide(self, route: str, config: SandboxConfig) -> FaultDecision | None:
        key = route if route in config.faults else "*"
        spec = config.faults.get(key)
        if spec is None or spec.rate <= 0:
            return None
        _, used = self._uses.get((key, id(spec)), (spec, 0))
        if spec.max_count is not None and used >= spec.max_count:
            return None
        if self._rng.random() >= spec.rate:
            return None
        kind = self._rng.choice(spec.kinds)
        self._uses[(key, id(spec))] = (spec, used + 1)
        base = kind.removesuffix("_after")
        after = kind.endswith("_after") or spec.after_apply or config.fault_after_apply
        self.injected[f"{route}:{base}{'_after' if after else ''}"] += 1
        return FaultDecision(base, after)


def client_connected(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and not transport.is_closing()


async def stall(request: web.Request, seconds: float) -> bool:
    """Sleep up to `seconds`, returning early (False) once the client has hung up.

    Returning early keeps server shutdown fast: a stalled handler would otherwise hold
    the runner's graceful shutdown for the whole stall.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (remaining := deadline - loop.time()) > 0:
        if not client_connected(request):
            return False
        await asyncio.sleep(min(_POLL_SECONDS, remaining))
    return client_connected(request)


def drop(request: web.Request) -> web.Response:
    """Close the connection without an answer; the client sees a protocol/connection error.

    aiohttp then fails to write the returned placeholder, treats that as a client
    disconnect and logs nothing, which is what we want.
    """
    transport = request.transport
    if transport is not None:
        transport.close()
    return web.Response(status=204)


def _error(decision: FaultDecision, config: SandboxConfig) -> ApiError:
    if decision.kind == "429":
        return rate_limited(config.retry_after_ms)
    return overloaded() if decision.kind == "529" else server_error()


async def before(
    request: web.Request, decision: FaultDecision, config: SandboxConfig
) -> web.StreamResponse | None:
    """Fault instead of handling; None means "go on and handle the request normally"."""
    if decision.kind in ("429", "500", "529"):
        raise _error(decision, config)
    if decision.kind == "drop":
        return drop(request)
    # timeout: a slow server. If the client gave up meanwhile, never apply the request.
    if await stall(request, config.timeout_seconds):
        return None
    return drop(request)


async def after(
    request: web.Request,
    decision: FaultDecision,
    response: web.StreamResponse,
    config: SandboxConfig,
) -> web.StreamResponse:
    """The request was applied; lose or delay its answer."""
    if decision.kind in ("429", "500", "529"):
        raise _error(decision, config)
    if decision.kind == "drop":
        return drop(request)
    await stall(request, config.timeout_seconds)
    return response
