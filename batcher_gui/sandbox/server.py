"""The aiohttp application, an in-process server wrapper, and a blocking entry point."""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from batcher_gui.paths import private_opener

from . import anthropic_api, batches_api, faults, files_api
from .anthropic_errors import AnthropicError, from_openai, new_request_id
from .config import ROUTE_KEYS, SandboxConfig
from .errors import (
    SANDBOX_REFUSED,
    ApiError,
    invalid_key,
    json_response,
    missing_key,
    server_error,
)
from .state import SANDBOX_KEY, Sandbox

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_token() -> str:
    """A fresh sandbox token: 256 random bits, URL-safe (it travels in a header)."""
    return secrets.token_urlsafe(32)


def _bearer_key(request: web.Request) -> str:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


def _key_matches(key: str, accepted: tuple[str, ...]) -> bool:
    # Constant time, and every accepted key compared: the answer's timing tells nothing.
    given = key.encode("utf-8", "surrogatepass")
    found = False
    for candidate in accepted:
        found |= hmac.compare_digest(given, candidate.encode("utf-8", "surrogatepass"))
    return found


def _is_anthropic(request: web.Request) -> bool:
    return request.path.startswith("/v1/messages")


def _authenticate(request: web.Request, sandbox: Sandbox) -> None:
    """Every route, the sandbox's own included, needs the token (or a configured key).

    Anthropic's routes also take it as ``x-api-key`` (what Anthropic documents; the SDK sends
    ``Authorization: Bearer``)."""
    key = _bearer_key(request)
    anthropic = _is_anthropic(request)
    if anthropic and not key:
        key = request.headers.get("x-api-key", "").strip()
    if not key:
        if anthropic:
            raise AnthropicError(401, f"{SANDBOX_REFUSED} x-api-key header is required")
        raise missing_key()
    if not _key_matches(key, (sandbox.token, *sandbox.config.api_keys)):
        if anthropic:
            raise AnthropicError(401, f"{SANDBOX_REFUSED} invalid x-api-key")
        raise invalid_key(key)


async def _dispatch(request: web.Request, handler: Handler, sandbox: Sandbox) -> web.StreamResponse:
    _authenticate(request, sandbox)
    route = request.match_info.route.name
    if route not in ROUTE_KEYS:
        return await handler(request)  # non-OpenAI routes (stats) and unmatched paths
    sandbox.requests[route] += 1
    config = sandbox.config
    decision = sandbox.faults.decide(route, config)
    if decision is not None and not decision.after:
        early = await faults.before(request, decision, config)
        if early is not None:
            return early
    response = await handler(request)
    if decision is not None and decision.after:
        response = await faults.after(request, decision, response, config)
    return response


@web.middleware
async def openai_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """OpenAI-shaped errors for everything, auth, fault injection, request ids."""
    started = time.perf_counter()
    sandbox = request.app[SANDBOX_KEY]
    if _is_anthropic(request):
        return await _anthropic_answer(request, handler, sandbox)
    try:
        response = await _dispatch(request, handler, sandbox)
    except ApiError as exc:
        response = exc.response()
    except ConnectionError:
        # The client hung up mid-request (e.g. gave up during an upload). Writing this
        # placeholder fails and aiohttp treats that as a quiet client disconnect.
        log.debug("sandbox: client left during %s %s", request.method, request.path)
        return web.Response(status=499)
    except web.HTTPException as exc:
        if exc.status == 404:
            message = f"Invalid URL ({request.method} {request.path})"
        else:
            message = exc.reason
        response = ApiError(exc.status, message).response()
    except Exception:
        log.exception("sandbox: unhandled error in %s %s", request.method, request.path)
        response = server_error().response()
    if not response.prepared:
        response.headers["x-request-id"] = f"req_{secrets.token_hex(16)}"
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        response.headers["openai-processing-ms"] = str(elapsed_ms)
    return response


async def _anthropic_answer(request: web.Request, handler: Handler, sandbox: Sandbox
                            ) -> web.StreamResponse:
    """The same dispatch (auth, faults) with Anthropic's error shape and ``request-id``."""
    request_id = new_request_id()
    try:
        response = await _dispatch(request, handler, sandbox)
    except AnthropicError as exc:
        response = exc.response(request_id)
    except ApiError as exc:  # raised by shared code: fault injection
        response = from_openai(exc).response(request_id)
    except ConnectionError:
        log.debug("sandbox: client left during %s %s", request.method, request.path)
        return web.Response(status=499)
    except web.HTTPException as exc:
        message = "Not found" if exc.status == 404 else exc.reason
        response = AnthropicError(exc.status, message).response(request_id)
    except Exception:
        log.exception("sandbox: unhandled error in %s %s", request.method, request.path)
        response = AnthropicError(500, "Internal server error").response(request_id)
    if not response.prepared:
        response.headers["request-id"] = request_id
    return response


async def _stats(request: web.Request) -> web.Response:
    return json_response(request.app[SANDBOX_KEY].stats())


def create_app(state_dir: Path, config: SandboxConfig, token: str) -> web.Application:
    """The sandbox app; it answers only requests bearing ``token`` (or a ``config.api_keys``
    key)."""
    if not token:
        raise ValueError("the sandbox needs a token")
    # JSON bodies are small; uploads are streamed and not bound by client_max_size.
    app = web.Application(middlewares=[openai_middleware], client_max_size=64 * 1024 * 1024)
    app[SANDBOX_KEY] = Sandbox(Path(state_dir), config, token)
    files_api.register(app)
    batches_api.register(app)
    anthropic_api.register(app)
    app.router.add_get("/v1/sandbox/stats", _stats, name="sandbox.stats")
    return app


class SandboxServer:
    """An in-process sandbox on a loopback port (port 0 = pick a free one).

    It answers only requests bearing ``token`` as their API key (default: a new random one,
    see :attr:`token`), or one of ``config.api_keys``.
    """

    def __init__(
        self,
        state_dir: Path,
        config: SandboxConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.token = token or new_token()
        self._config = config if config is not None else SandboxConfig()
        self.host = host
        self.port = port
        self.base_url = ""
        self.anthropic_base_url = ""  # the same server without /v1 (Anthropic's SDK adds it)
        self._app: web.Application | None = None
        self._runner: web.AppRunner | None = None

    @property
    def config(self) -> SandboxConfig:
        return self._config

    @config.setter
    def config(self, value: SandboxConfig) -> None:
        # Replacing the whole config must reach the running app, not just this wrapper.
        self._config = value
        if self._app is not None:
            self._app[SANDBOX_KEY].config = value

    @property
    def sandbox(self) -> Sandbox:
        if self._app is None:
            raise RuntimeError("SandboxServer is not started")
        return self._app[SANDBOX_KEY]

    def stats(self) -> dict[str, Any]:
        return self.sandbox.stats()

    async def start(self) -> None:
        self._app = create_app(self.state_dir, self._config, self.token)
        # Short graceful shutdown: stalled "timeout" faults end when their client hangs up.
        self._runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.base_url = f"http://{host}:{self.port}/v1"
        self.anthropic_base_url = f"http://{host}:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._app = None

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def _serve(state_dir: Path, config: SandboxConfig, host: str, port: int,
                 token: str | None, token_file: Path | None) -> None:
    server = SandboxServer(state_dir, config, host, port, token)
    if token_file is not None:
        write_token_file(token_file, server.token)
    await server.start()
    print(f"Sandbox listening on {server.base_url}", flush=True)
    if token is None and token_file is None:
        # Made up here and kept nowhere else: the one who started it needs to see it.
        print(f"Sandbox token (use it as the API key): {server.token}", flush=True)
    print(f"Anthropic's Message Batches (Claude) on {server.anthropic_base_url}, same token",
          flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):  # Windows: no loop signal handlers
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
    try:
        await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await server.stop()


def write_token_file(path: Path, token: str) -> None:
    """The token in a new owner-only file (an existing one is replaced, not reused)."""
    path.unlink(missing_ok=True)
    # O_EXCL: never write through a file or link someone slipped in after the unlink.
    with open(path, "xb", opener=private_opener) as fh:
        fh.write(token.encode() + b"\n")


def serve_forever(state_dir: Path, config: SandboxConfig, host: str, port: int,
                  token: str | None = None, token_file: Path | None = None) -> None:
    """Run the sandbox until SIGINT/SIGTERM; blocks the calling thread.

    Args:
        token: the API key it accepts; default: a new random one, written to ``token_file``
            (owner-only) if given, else printed after the "listening" line.
    """
    asyncio.run(_serve(state_dir, config, host, port, token, token_file))
