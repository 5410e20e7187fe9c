"""RequestReader: the one entry point that turns an input file into requests."""

from __future__ import annotations

import os
from typing import Protocol

from batcher_gui.domain.models import ImportOptions, InputFormat, ProfileLimits
from batcher_gui.importing.common import ItemIterator, Progress
from batcher_gui.importing.detect import detect_format, format_mismatch, inspect_file
from batcher_gui.importing.jsonl import JsonlSource
from batcher_gui.importing.tabular import TabularSource
from batcher_gui.importing.text import TextSource


class _Source(Protocol):
    def read(self, progress: Progress) -> ItemIterator: ...


class RequestReader:
    """Streams the requests of one input file (JSONL, CSV/TSV or plain text).

    Iterating yields, in file order, a ``ParsedRequest`` for each valid line (CSV: record)
    and a ``LineError`` for each invalid one, at most one error per line; blank lines are
    skipped. The caller decides what to do with errors (all-or-nothing or valid-only).
    Each ``iter()`` reads the file again from the start.

    The constructor does every check that needs no more than the file's start: it raises
    ``ImportValidationError`` for a missing, unreadable, directory, empty (0 bytes or only
    blank lines), UTF-16 or binary file, an undecidable format, and bad options (missing
    model, unknown endpoint, an option that does not apply to the format; for CSV/TSV also
    a bad header, template or id column).

    Iteration raises ``ImportValidationError`` only for a CSV/TSV file that stops being
    UTF-8 part way (the line is named); JSONL and text report such lines as LineErrors.

    Attributes:
        path: the file, as given (``str``).
        total_bytes: the file's size.
        bytes_read: bytes consumed so far (updated every 1024 lines and at the end).
        format: the resolved format.
        warnings: things worth telling the user that do not stop the import.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        options: ImportOptions,
        limits: ProfileLimits,
    ) -> None:
        self.path = os.fspath(path)
        info = inspect_file(self.path)
        self.total_bytes = info.size
        self.bytes_read = 0
        self.format = detect_format(self.path, options.format, info.head)
        mismatch = format_mismatch(self.path, self.format, options.format is not None,
                                   info.head)
        self.warnings: list[str] = [mismatch] if mismatch else []
        self._source: _Source
        if self.format is InputFormat.JSONL:
            self._source = JsonlSource(self.path, options, limits)
        elif self.format is InputFormat.TEXT:
            self._source = TextSource(self.path, options, limits)
        else:
            self._source = TabularSource(
                self.path, self.format, options, limits, info.head, info.size
            )

    def __iter__(self) -> ItemIterator:
        self.bytes_read = 0
        # Hand out the source's generator itself: a wrapping generator would add a frame
        # switch per line on the hot path.
        return self._source.read(self)

    def __repr__(self) -> str:
        return f"RequestReader({self.path!r}, format={self.format.value})"
