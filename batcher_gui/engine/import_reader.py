"""The reading half of a big import, run in a second process.

Python runs one thread of bytecode at a time, but the machine has several cores: a child process
reads, validates, numbers and packs (the CPU-heavy half) while the importing process writes rows
to SQLite. Rows cross a pipe a chunk at a time as plain tuples, which pickle at C speed. A thread
in the importing process keeps draining the pipe into a bounded queue, so the child never waits
for a chunk to be written before it can send the next one.
"""

from __future__ import annotations

import marshal
import multiprocessing
import os
import pickle
import queue
import threading
import traceback
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from batcher_gui.domain.errors import Cancelled, ImportValidationError, LineError
from batcher_gui.domain.models import ImportOptions, ProfileKind, ProfileLimits
from batcher_gui.domain.packing import GroupKey
from batcher_gui.importing import RequestReader
from batcher_gui.storage.import_rows import BuildResult, BuildStart, RowBuilder

_DONE, _INVALID, _CRASH = "done", "invalid", "crash"
_ROWS_TAG = b"R"  # a marshalled row chunk; anything else is a pickled (kind, payload, extra)
#: Chunks waiting to be written (each about 1.5 MB): bounds memory, keeps both cores busy.
_QUEUE_CHUNKS = 12
#: How often ``should_stop`` is polled while waiting for the child.
_POLL_SECONDS = 0.2


@dataclass(slots=True)
class ErrorLog:
    """The first ``keep`` problems of an import, and how many there were."""

    keep: int
    errors: list[LineError] = field(default_factory=list)
    total: int = 0
    #: What the read did to the requests (RequestReader.notes), once it has ended.
    notes: list[str] = field(default_factory=list)

    def add(self, error: LineError) -> None:
        self.total += 1
        if len(self.errors) < self.keep:
            self.errors.append(error)


def _produce(path: str, options: ImportOptions, limits: ProfileLimits, start: BuildStart,
             keep: int, kind: ProfileKind | str | None, out: Connection) -> None:
    """Child process: read and build, sending row chunks, then the result."""
    _yield_cpu()
    try:
        reader = RequestReader(path, options, limits, kind=kind)
        builder = RowBuilder(start)
        log = ErrorLog(keep)

        def on_error(error: LineError) -> bool:
            log.add(error)
            return options.valid_only  # all-or-nothing: stop adding, keep reading

        for rows in builder.rows(reader, on_error):
            # marshal, not pickle, for rows: plain tuples of ints, str and bytes, several times
            # faster both ways (no memo). Only this program reads it back.
            out.send_bytes(_ROWS_TAG + marshal.dumps(
                (rows, reader.bytes_read, builder.new_drafts())))
        log.notes = reader.notes
        out.send_bytes(pickle.dumps((_DONE, builder.result, log), protocol=5))
    except ImportValidationError as exc:
        out.send_bytes(pickle.dumps((_INVALID, exc.errors, exc.total)))
    except BaseException:  # handed to the parent, which raises it there
        out.send_bytes(pickle.dumps((_CRASH, traceback.format_exc(), None)))
    finally:
        out.close()


def _yield_cpu() -> None:
    """A helper process gives way to the window: on a 2-core machine a busy child would
    otherwise take the CPU the window needs to repaint (it still gets any idle core)."""
    try:
        os.nice(5)
    except (AttributeError, OSError):  # Windows has no nice(); a lowered limit: fine
        pass


def _drain(receive: Connection, chunks: queue.Queue[bytes | None]) -> None:
    """Importing process, helper thread: move messages from the pipe to the queue."""
    try:
        while True:
            chunks.put(receive.recv_bytes())
    except (EOFError, OSError):
        chunks.put(None)


class ChildBuild:
    """Runs the reading half in a child process; iterate for row chunks, then see ``result``.

    Attributes:
        bytes_read: how far the child has read (for a progress bar).
        drafts: the drafts the chunk just yielded is the first to use.
        result: the build result, once iteration has ended.
        log: the child's error log, once iteration has ended.
    """

    def __init__(self, path: str, options: ImportOptions, limits: ProfileLimits,
                 start: BuildStart, keep: int,
                 should_stop: Callable[[], bool] | None = None, *,
                 kind: ProfileKind | str | None = None) -> None:
        self._args = (path, options, limits, start, keep, kind)
        self._should_stop = should_stop
        self.bytes_read = 0
        self.drafts: list[tuple[int, GroupKey]] = []
        self.result: BuildResult | None = None
        self.log: ErrorLog | None = None
        self._process: Any = None

    def __iter__(self) -> Generator[list[Any], None, None]:
        # spawn, not fork: the window's process has Qt threads, which fork does not copy.
        ctx = multiprocessing.get_context("spawn")
        receive, send = ctx.Pipe(duplex=False)
        self._process = ctx.Process(target=_produce, name="batcher-import-reader", daemon=True,
                                    args=(*self._args, send))
        self._process.start()
        send.close()
        chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUE_CHUNKS)
        drainer = threading.Thread(target=_drain, args=(receive, chunks), daemon=True,
                                   name="import-pipe")
        drainer.start()
        try:
            while True:
                data = self._next_message(chunks)
                if data is None:
                    raise RuntimeError("the import reader process ended unexpectedly")
                if data[:1] == _ROWS_TAG:
                    # marshal keeps tuples as tuples: drafts arrive as (id, (endpoint, model)).
                    rows, self.bytes_read, self.drafts = marshal.loads(memoryview(data)[1:])
                    yield rows
                    continue
                kind, payload, extra = pickle.loads(data)
                if kind == _DONE:
                    self.result, self.log = payload, extra
                    return
                elif kind == _INVALID:
                    raise ImportValidationError(payload, extra)
                else:
                    raise RuntimeError(f"the import reader process failed:\n{payload}")
        finally:
            self.close()
            while drainer.is_alive():  # unblock a drainer stuck on a full queue
                try:
                    chunks.get_nowait()
                except queue.Empty:
                    drainer.join(timeout=0.05)
            receive.close()

    def _next_message(self, chunks: queue.Queue[bytes | None]) -> bytes | None:
        """The child's next message; polls ``should_stop`` while waiting for it (the child may
        spend long on one chunk: a workbook's shared strings, lines all refused...)."""
        while True:
            try:
                return chunks.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if self._should_stop is not None and self._should_stop():
                    raise Cancelled("import stopped; nothing was imported") from None

    def close(self) -> None:
        """Stop the child process (if it still runs) and reap it."""
        process, self._process = self._process, None
        if process is not None:
            if process.is_alive():
                process.terminate()
            process.join(timeout=10)
