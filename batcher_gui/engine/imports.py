"""Importing a file into the workspace: read, validate, write — all of it or nothing.

Runs synchronously; the window calls it from a worker thread, the CLI directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from batcher_gui.domain.errors import BatcherError, ImportValidationError, LineError
from batcher_gui.domain.models import ImportOptions, ImportSummary
from batcher_gui.engine.import_process import ChildBuild
from batcher_gui.importing import RequestReader
from batcher_gui.storage.import_rows import RowBuilder
from batcher_gui.storage.store import Store

#: How many problems an import keeps to show (the total is always counted).
MAX_REPORTED_ERRORS = 100
PARALLEL_FROM_BYTES = 32 * 1024 * 1024

ProgressCallback = Callable[[int, int], None]


class ImportCancelled(BatcherError):
    """The user stopped the import; nothing was written."""


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
) -> ImportSummary:
    """Import ``path`` as a new run.

    Atomic by default: if any line is invalid, nothing is written and
    :class:`ImportValidationError` lists the problems. With ``options.valid_only`` the valid
    lines are imported and the summary reports the rest.

    Args:
        progress: called with (bytes read, file size) now and then.
        should_stop: polled now and then; returning True abandons the import (nothing written).
        parallel_from_bytes: files this big or bigger are read in a second process while this
            one writes (starting that process costs a few tenths of a second).
    """
    profile = store.get_profile(profile_name) if profile_name else store.default_profile()
    reader = RequestReader(path, options, profile.limits)  # file and option checks, at once
    source = Path(path)
    record = {k: v for k, v in asdict(options).items() if v not in (None, False)}
    errors: list[LineError] = []
    total_errors = 0

    def on_error(error: LineError) -> bool:
        nonlocal total_errors
        total_errors += 1
        if len(errors) < MAX_REPORTED_ERRORS:
            errors.append(error)
        return options.valid_only  # all-or-nothing: stop adding, keep reading to report all

    with store.importing(
        run_name or source.stem or "import", str(source.resolve()), reader.format.value, profile,
        record, exact_name=run_name is not None,
        # ~200 bytes is a short request line: an overestimate of the prompt count is harmless.
        expected_rows=reader.total_bytes // 200,
    ) as writer:
        feed: ChildBuild | None = None
        builder = RowBuilder(writer.start)
        chunks: Generator[list[Any], None, None]
        position: RequestReader | ChildBuild = reader
        if reader.total_bytes >= parallel_from_bytes:
            feed = position = ChildBuild(reader.path, options, profile.limits, writer.start,
                                         MAX_REPORTED_ERRORS)
            chunks = iter(feed)
        else:
            chunks = builder.rows(reader, on_error)
        try:
            for rows in chunks:
                writer.write(rows)
                if progress is not None:
                    progress(position.bytes_read, reader.total_bytes)
                if should_stop is not None and should_stop():
                    raise ImportCancelled("import stopped; nothing was imported")
        finally:
            chunks.close()
        result = builder.result
        if feed is not None:
            assert feed.result is not None and feed.log is not None
            result = feed.result
            errors[:] = feed.log.errors
            total_errors = feed.log.total
        if total_errors and not options.valid_only:
            raise ImportValidationError(errors, total_errors)
        if writer.count == 0:
            raise ImportValidationError(
                errors or [LineError(str(path), None, None, "no valid lines to import")],
                max(total_errors, 1),
            )
        summary = writer.finish(result)
    if progress is not None:
        progress(reader.total_bytes, reader.total_bytes)
    return replace(summary, skipped=total_errors, errors=[str(e) for e in errors])
