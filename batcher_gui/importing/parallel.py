"""Reading a big input file in a second process, so parsing and database writes overlap.

Python runs one thread of bytecode at a time, but a machine has several cores: the child
process parses and validates (the CPU-heavy half of an import) while the importing process
writes the previous chunk to SQLite. Items cross the pipe as plain tuples (valid requests) and
LineErrors, pickled a chunk at a time; plain tuples unpickle at C speed.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import traceback
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

from batcher_gui.domain.errors import ImportValidationError, LineError
from batcher_gui.domain.models import ImportOptions, ParsedRequest, ProfileLimits
from batcher_gui.importing.reader import RequestReader

_CHUNK = 4000
_ITEM, _DONE, _INVALID, _CRASH = "items", "done", "invalid", "crash"


def _produce(path: str, options: ImportOptions, limits: ProfileLimits, out: Connection) -> None:
    """Child process: read the file and send chunks until done (or a failure)."""
    try:
        reader = RequestReader(path, options, limits)
        chunk: list[Any] = []
        for item in reader:
            # A ParsedRequest as a bare tuple: pickles as a tuple, not a class call.
            chunk.append(tuple(item) if type(item) is ParsedRequest else item)
            if len(chunk) >= _CHUNK:
                out.send_bytes(pickle.dumps((_ITEM, chunk, reader.bytes_read), protocol=5))
                chunk = []
        out.send_bytes(pickle.dumps((_ITEM, chunk, reader.total_bytes), protocol=5))
        out.send_bytes(pickle.dumps((_DONE, None, None)))
    except ImportValidationError as exc:
        out.send_bytes(pickle.dumps((_INVALID, exc.errors, exc.total)))
    except BaseException:  # handed to the parent, which raises it there
        out.send_bytes(pickle.dumps((_CRASH, traceback.format_exc(), None)))
    finally:
        out.close()


class ParallelReader:
    """Like :class:`RequestReader`, with the reading done in a child process.

    The constructor runs the same cheap checks as RequestReader (so a bad file or option fails
    at once, in this process). Iteration yields ParsedRequest-shaped tuples and LineErrors in
    file order. Stop early with :meth:`close` (also called when iteration ends).
    """

    def __init__(self, path: str | os.PathLike[str], options: ImportOptions,
                 limits: ProfileLimits) -> None:
        probe = RequestReader(path, options, limits)  # file/option checks, no parsing
        self.path = probe.path
        self.total_bytes = probe.total_bytes
        self.format = probe.format
        self.bytes_read = 0
        self._options = options
        self._limits = limits
        self._process: Any = None

    def __iter__(self) -> Iterator[ParsedRequest | LineError]:
        # spawn, not fork: the window's process has Qt threads, which fork does not copy.
        ctx = multiprocessing.get_context("spawn")
        receive, send = ctx.Pipe(duplex=False)
        self._process = ctx.Process(target=_produce, name="batcher-import-reader", daemon=True,
                                    args=(self.path, self._options, self._limits, send))
        self._process.start()
        send.close()
        try:
            while True:
                try:
                    kind, payload, extra = pickle.loads(receive.recv_bytes())
                except EOFError:
                    raise RuntimeError("the import reader process ended unexpectedly") from None
                if kind == _ITEM:
                    yield from payload
                    self.bytes_read = extra
                elif kind == _DONE:
                    return
                elif kind == _INVALID:
                    raise ImportValidationError(payload, extra)
                else:
                    raise RuntimeError(f"the import reader process failed:\n{payload}")
        finally:
            receive.close()
            self.close()

    def close(self) -> None:
        """Stop the child process (if it still runs) and reap it."""
        process, self._process = self._process, None
        if process is not None:
            if process.is_alive():
                process.terminate()
            process.join(timeout=10)
