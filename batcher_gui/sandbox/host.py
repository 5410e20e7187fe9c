"""The sandbox server on a thread and event loop of its own.

The app's built-in sandbox runs this way, like a separate server process: its work (making up
50,000 answers, writing output files) never runs on the window's event loop. Tests use it the
same way, and can stop and restart it on the same state folder and port.

Each host makes up a random token when it is created (unless given one) and its server
answers only that key (or ``config.api_keys``): the token lives in this process's memory,
is handed to the provider it serves, and is never written anywhere. A restart of the same
host keeps it (clients made earlier go on working); a new host (Batcher started again) has
a new one and serves the same state folder.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from .config import SandboxConfig
from .server import SandboxServer, new_token

_COUNTERS = ("batches_created", "files_created", "files_deleted", "anthropic_batches_created")


def _counters(stats: dict[str, Any]) -> dict[str, int]:
    flat = {**stats, "anthropic_batches_created": stats["anthropic"]["batches_created"]}
    return {k: int(flat[k]) for k in _COUNTERS}


class SandboxThread:
    """A :class:`SandboxServer` on a private thread + loop; restartable on the same port."""

    def __init__(self, state_dir: Path, config: SandboxConfig | None = None,
                 port: int = 0, token: str | None = None) -> None:
        self.state_dir = state_dir
        self.token = token or new_token()
        self._config = config or SandboxConfig()
        self.port = port
        self.base_url = ""
        self.anthropic_base_url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: SandboxServer | None = None
        self.instances = 0
        #: Counters of the instances stopped so far (each new instance starts from zero).
        self.earlier: Counter[str] = Counter()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def config(self) -> SandboxConfig:
        """The live config: attributes changed here reach the running server at once."""
        return self._config

    def set_config(self, config: SandboxConfig) -> None:
        self._config = config
        if self._server is not None:
            self._server.config = config

    def _call(self, coro: Any, timeout: float = 15) -> Any:
        assert self._loop is not None
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout)

    def start(self) -> str:
        """Start serving (blocks until it listens); returns the base URL."""
        if self._loop is not None:
            return self.base_url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="batcher-sandbox",
                                        daemon=True)
        self._thread.start()
        self._server = SandboxServer(self.state_dir, self._config, port=self.port,
                                     token=self.token)
        self._call(self._server.start())
        self.port = self._server.port
        self.base_url = self._server.base_url
        self.anthropic_base_url = self._server.anthropic_base_url
        self.instances += 1
        return self.base_url

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop
        assert self._server is not None and self._thread is not None
        stats = self._server.stats()
        self.earlier.update(_counters(stats))
        try:
            self._call(self._server.stop())
            self._call(loop.shutdown_default_executor())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(10)
            loop.close()
            self._loop = self._thread = self._server = None

    def restart(self) -> None:
        """A new server on the same state folder and port (counters start again)."""
        self.stop()
        self.start()

    def stats(self) -> dict[str, Any]:
        """Counters since this instance started, plus live state."""
        assert self._server is not None
        return dict(self._call(_stats(self._server)))

    def totals(self) -> dict[str, int]:
        """Creation/deletion counters over every instance on this state folder."""
        now = _counters(self.stats())
        return {k: self.earlier[k] + now[k] for k in _COUNTERS}


async def _stats(server: SandboxServer) -> dict[str, Any]:
    return server.stats()


def _serve_in_child(state_dir: Path, config: SandboxConfig, port: int, token: str,
                    conn: Any) -> None:
    """Child process: serve until the parent says stop or goes away (its pipe closes)."""
    import asyncio as _asyncio
    import os
    import signal

    # Ctrl-C in a terminal reaches the whole process group: the parent handles it and ends
    # this child through the pipe; the child must not die of it (with a traceback) first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:  # a stand-in provider gives way to the window it serves
        os.nice(5)
    except (AttributeError, OSError):
        pass

    async def main() -> None:
        server = SandboxServer(state_dir, config, port=port, token=token)
        await server.start()
        conn.send(server.base_url)
        loop = _asyncio.get_running_loop()
        try:
            # recv() returns on "stop" and raises EOFError when the parent dies (kill -9):
            # either way the sandbox ends with its parent.
            await loop.run_in_executor(None, _wait_for_parent, conn)
        finally:
            await server.stop()

    _asyncio.run(main())


def _wait_for_parent(conn: Any) -> None:
    try:
        conn.recv()
    except (EOFError, OSError):
        pass


class SandboxProcess:
    """The sandbox server in a process of its own (the app's built-in sandbox).

    Its CPU work (answering 50,000 requests at once) and its garbage collections then never
    compete with the window's event loop for the interpreter. It ends with its parent.
    """

    def __init__(self, state_dir: Path, config: SandboxConfig | None = None,
                 port: int = 0, token: str | None = None) -> None:
        self.state_dir = state_dir
        self.token = token or new_token()
        self.config = config or SandboxConfig()
        self.port = port
        self.base_url = ""
        self.anthropic_base_url = ""
        self._process: Any = None
        self._conn: Any = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def start(self, timeout: float = 60) -> str:
        """Start serving (blocks until it listens); returns the base URL."""
        if self.running:
            return self.base_url
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")  # no fork: the window has Qt threads
        # The token goes to the child through the spawn pipe, not its command line or
        # environment, which other local users could read.
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_serve_in_child, name="batcher-sandbox", daemon=True,
                              args=(self.state_dir, self.config, self.port, self.token,
                                    child))
        process.start()
        child.close()
        if not parent.poll(timeout):
            process.terminate()
            raise RuntimeError("the built-in sandbox did not start")
        try:
            self.base_url = parent.recv()
        except EOFError:
            process.join(5)
            raise RuntimeError(f"the built-in sandbox ended at start (exit code "
                               f"{process.exitcode})") from None
        self.port = int(self.base_url.rsplit(":", 1)[1].split("/", 1)[0])
        self.anthropic_base_url = self.base_url.removesuffix("/v1")
        self._process, self._conn = process, parent
        return self.base_url

    def stop(self) -> None:
        process, conn, self._process, self._conn = self._process, self._conn, None, None
        if process is None:
            return
        try:
            conn.send("stop")
        except OSError:
            pass
        process.join(10)
        if process.is_alive():
            process.terminate()
            process.join(5)
        conn.close()
