"""Importing a file into the workspace: read, validate, write — all of it or nothing.

Runs synchronously; the window calls it from a worker thread, the CLI directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from batcher_gui.domain.errors import BatcherError, ImportValidationError, LineError
from batcher_gui.domain.models import ImportOptions, ImportSummary
from batcher_gui.importing import ParallelReader, RequestReader
from batcher_gui.storage.store import Store

#: How many problems an import keeps to show (the total is always counted).
MAX_REPORTED_ERRORS = 100
PARALLEL_FROM_BYTES = 16 * 1024 * 1024

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
        parallel_from_bytes: files this big or bigger are parsed in a second process while
            this one writes (starting that process costs a few tenths of a second).
    """
    profile = store.get_profile(profile_name) if profile_name else store.default_profile()
    size = os.stat(path).st_size if os.path.isfile(path) else 0
    reader: RequestReader | ParallelReader
    if size >= parallel_from_bytes:
        reader = ParallelReader(path, options, profile.limits)
    else:
        reader = RequestReader(path, options, profile.limits)
    errors: list[LineError] = []
    total_errors = 0
    source = Path(path)
    record = {k: v for k, v in asdict(options).items() if v not in (None, False)}
    with store.importing(
        run_name or source.stem or "import", str(source.resolve()), reader.format.value, profile,
        record, exact_name=run_name is not None,
        # ~200 bytes is a short request line: an overestimate of the prompt count is harmless.
        expected_rows=size // 200,
    ) as writer:
        def on_error(error: LineError) -> bool:
            nonlocal total_errors
            total_errors += 1
            if len(errors) < MAX_REPORTED_ERRORS:
                errors.append(error)
            return options.valid_only  # atomic: stop adding, keep reading to report all

        def on_chunk() -> None:
            if progress is not None:
                progress(reader.bytes_read, reader.total_bytes)
            if should_stop is not None and should_stop():
                raise ImportCancelled("import stopped; nothing was imported")

        items = iter(reader)
        try:
            writer.consume(items, on_error, on_chunk)
        finally:
            close = getattr(items, "close", None)  # generators: stops a reader process too
            if close is not None:
                close()
        if total_errors and not options.valid_only:
            raise ImportValidationError(errors, total_errors)
        if writer.count == 0:
            raise ImportValidationError(
                errors or [LineError(str(path), None, None, "no valid lines to import")],
                max(total_errors, 1),
            )
        summary = writer.finish()
    if progress is not None:
        progress(reader.total_bytes, reader.total_bytes)
    return replace(summary, skipped=total_errors, errors=[str(e) for e in errors])
