"""Importing a file into the workspace: read, validate, write — all of it or nothing.

Synchronous: the service runs it in a worker thread, never on the event loop. The run stays
hidden while its chunks are written (see :mod:`batcher_gui.storage.import_session`): a failed,
cancelled or crashed import leaves nothing anyone can see.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TypeVar

from batcher_gui.domain.errors import Cancelled, ImportValidationError, LineError
from batcher_gui.domain.models import ImportOptions, ImportSummary
from batcher_gui.domain.names import check_run_name, run_name_from_file
from batcher_gui.domain.packing import GroupKey
from batcher_gui.engine.import_reader import ChildBuild
from batcher_gui.importing import RequestReader
from batcher_gui.storage.import_rows import RowBuilder
from batcher_gui.storage.import_session import ImportSession
from batcher_gui.storage.store import Store

T = TypeVar("T")

#: How many problems an import keeps to show (the total is always counted).
MAX_REPORTED_ERRORS = 100
#: Chunks written between two WAL checkpoints (about 200,000 rows).
CHECKPOINT_EVERY = 40
PARALLEL_FROM_BYTES = 32 * 1024 * 1024

#: (bytes read, file size, prompts written)
ProgressCallback = Callable[[int, int, int], None]
#: Runs a database write (the service passes its single writer thread).
WriteRunner = Callable[..., Any]


def _direct(fn: Callable[..., T], *args: Any) -> T:
    return fn(*args)


class ImportCancelled(Cancelled):
    """The user stopped the import; nothing was written."""


STOPPED = "import stopped; nothing was imported"


def import_file(
    store: Store,
    path: str | os.PathLike[str],
    options: ImportOptions,
    *,
    profile_name: str | None = None,
    run_name: str | None = None,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    parallel_from_bytes: int = PARALLEL_FROM_BYTES,
    write: WriteRunner = _direct,
) -> ImportSummary:
    """Import ``path`` as a new run.

    Atomic by default: if any line is invalid, nothing is kept and
    :class:`ImportValidationError` lists the problems. With ``options.valid_only`` the valid
    lines are imported and the summary reports the rest.

    Args:
        progress: called with (bytes read, file size, prompts written) after each chunk.
        should_stop: polled while reading and after each chunk; True abandons the import
            (nothing is kept).
        parallel_from_bytes: files this big or bigger are read in a second process while this
            one writes (starting that process costs a few tenths of a second).
        write: how to run each database write (default: right here).
    """
    source = Path(path)
    # The name first: a refused name changes nothing and reads nothing.
    name = check_run_name(run_name) if run_name is not None else run_name_from_file(source.stem)
    profile = store.get_profile(profile_name) if profile_name else store.default_profile()
    # File and option checks, at once; reading polls should_stop.
    try:
        reader = RequestReader(path, options, profile.limits, should_stop, kind=profile.kind)
    except Cancelled:  # while opening a workbook
        raise ImportCancelled(STOPPED) from None
    record = {k: v for k, v in asdict(options).items() if v not in (None, False)}
    errors: list[LineError] = []
    total_errors = 0

    def on_error(error: LineError) -> bool:
        nonlocal total_errors
        total_errors += 1
        if len(errors) < MAX_REPORTED_ERRORS:
            errors.append(error)
        return options.valid_only  # all-or-nothing: stop adding, keep reading to report all

    with store.db.import_lock():
        session: ImportSession = write(
            lambda: ImportSession.begin(
                store.db, name, str(source.resolve()),
                reader.format.value, profile, record, exact_name=run_name is not None))
        try:
            builder = RowBuilder(session.start)
            chunks: Generator[list[Any], None, None]
            feed: ChildBuild | None = None
            if reader.total_bytes >= parallel_from_bytes:
                feed = ChildBuild(reader.path, options, profile.limits, session.start,
                                  MAX_REPORTED_ERRORS, should_stop, kind=profile.kind)
                chunks = iter(feed)
            else:
                chunks = builder.rows(reader, on_error)
            try:
                for n, rows in enumerate(chunks, 1):
                    drafts: list[tuple[int, GroupKey]] = (
                        feed.drafts if feed is not None else builder.new_drafts())
                    write(session.write, rows, drafts)
                    if n % CHECKPOINT_EVERY == 0:
                        write(store.db.checkpoint)
                    if progress is not None:
                        done = feed.bytes_read if feed is not None else reader.bytes_read
                        progress(done, reader.total_bytes, session.count)
                    if should_stop is not None and should_stop():
                        raise ImportCancelled(STOPPED)
            except ImportCancelled:
                raise
            except Cancelled:  # stopped while reading (by the reader, or waiting for the child)
                raise ImportCancelled(STOPPED) from None
            finally:
                chunks.close()
            result = builder.result
            notes = reader.notes
            if feed is not None:
                assert feed.result is not None and feed.log is not None
                result = feed.result
                errors[:] = feed.log.errors
                total_errors = feed.log.total
                notes = feed.log.notes
            if total_errors and not options.valid_only:
                raise ImportValidationError(errors, total_errors)
            if session.count == 0:
                raise ImportValidationError(
                    errors or [LineError(str(path), None, None, "no valid lines to import")],
                    max(total_errors, 1))
            summary: ImportSummary = write(session.finish, result)
        except BaseException:
            write(session.discard)
            raise
        finally:
            write(store.db.checkpoint)
    if progress is not None:
        progress(reader.total_bytes, reader.total_bytes, summary.prompts)
    return replace(summary, skipped=total_errors, errors=[str(e) for e in errors],
                   warnings=list(reader.warnings), notes=notes)
