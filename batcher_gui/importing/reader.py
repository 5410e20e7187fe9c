"""RequestReader: the one entry point that turns an input file into requests."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Protocol

from batcher_gui.domain.endpoints import is_claude
from batcher_gui.domain.models import ImportOptions, InputFormat, ProfileKind, ProfileLimits
from batcher_gui.importing.claude import ClaudeJsonlSource
from batcher_gui.importing.claude_doc import (
    RequestsDocumentSource,
    is_requests_document,
    not_for_openai,
)
from batcher_gui.importing.common import ItemIterator, Progress, reject_options, stop_check
from batcher_gui.importing.detect import examine, format_mismatch
from batcher_gui.importing.jsonl import JsonlSource
from batcher_gui.importing.tabular import TabularSource
from batcher_gui.importing.text import TextSource
from batcher_gui.importing.xlsx import XlsxSource


class _Source(Protocol):
    def read(self, progress: Progress) -> ItemIterator: ...


class RequestReader:
    """Streams the requests of one input file (JSONL, CSV/TSV, Excel .xlsx or plain text).

    Iterating yields, in file order, a ``ParsedRequest`` for each valid line (CSV: record;
    workbook: row of the sheet) and a ``LineError`` for each invalid one, at most one error
    per line; blank lines are skipped. The caller decides what to do with errors
    (all-or-nothing or valid-only). Each ``iter()`` reads the file again from the start.

    The constructor does every check that needs no more than the file's start: it raises
    ``ImportValidationError`` for a missing, unreadable, directory, empty (0 bytes or only
    blank lines), UTF-16 or binary file, an undecidable format, and bad options (missing
    model, unknown endpoint, an option that does not apply to the format; for CSV/TSV/XLSX
    also a bad header, template or id column; for XLSX a file that is not a workbook, or an
    unknown sheet).

    Iteration raises ``ImportValidationError`` only for a CSV/TSV file that stops being
    UTF-8 part way (the line is named), or a workbook whose sheet data is damaged or too big
    (see :mod:`batcher_gui.importing.zipguard`); JSONL and text report such lines as
    LineErrors. A line over the profile's ``max_line_bytes`` is refused while it is read.

    ``kind`` is the target profile's kind: into a Claude profile (anthropic) every request
    targets ``/v1/messages`` (a template or text line becomes Messages params; a JSONL file
    holds native Message Batches lines, or OpenAI chat lines that are converted; a ``.json``
    file may hold a whole Message Batches create body), and OpenAI endpoints are refused;
    into any other profile ``/v1/messages`` and Claude lines are refused.

    ``should_stop`` is polled while reading, at least every megabyte or so and every
    thousand lines (the constructor polls it too for a workbook): True raises ``Cancelled``.

    Attributes:
        path: the file, as given (``str``).
        total_bytes: the file's size.
        bytes_read: bytes consumed so far (updated every 1024 lines and at the end; for a
            workbook, an estimate from the share of rows read).
        format: the resolved format.
        warnings: things worth telling the user that do not stop the import.
        notes: what the read did to the requests (OpenAI chat lines converted for Claude,
            with counts); filled once a read has ended.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        options: ImportOptions,
        limits: ProfileLimits,
        should_stop: Callable[[], bool] | None = None,
        *,
        kind: ProfileKind | str | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self.kind = kind
        self._check_stop = stop_check(should_stop)
        info, self.format = examine(self.path, options.format)
        self.total_bytes = info.size
        self.bytes_read = 0
        mismatch = format_mismatch(self.path, self.format, options.format is not None,
                                   info.head)
        self.warnings: list[str] = [mismatch] if mismatch else []
        if self.format is not InputFormat.XLSX:
            reject_options(self.path, options, self.format, ("sheet",),
                           "only Excel workbooks have sheets")
        self._source: _Source
        claude = is_claude(kind)
        if self.format is InputFormat.JSONL:
            if is_requests_document(info.head):
                if not claude:
                    not_for_openai(self.path)
                self._source = RequestsDocumentSource(self.path, options, limits)
            elif claude:
                self._source = ClaudeJsonlSource(self.path, options, limits)
            else:
                self._source = JsonlSource(self.path, options, limits)
        elif self.format is InputFormat.TEXT:
            self._source = TextSource(self.path, options, limits, kind)
        elif self.format is InputFormat.XLSX:
            self._source = XlsxSource(self.path, options, limits, info.size, should_stop, kind)
        else:
            self._source = TabularSource(
                self.path, self.format, options, limits, info.head, info.size, should_stop,
                kind)

    def __iter__(self) -> ItemIterator:
        self.bytes_read = 0
        # Hand out the source's generator itself: a wrapping generator would add a frame
        # switch per line on the hot path.
        return self._source.read(self)

    @property
    def notes(self) -> list[str]:
        """What the last read did to the requests (see the class docstring)."""
        notes = getattr(self._source, "notes", None)
        return notes() if notes is not None else []

    def reached(self, bytes_read: int) -> None:
        """Called by the sources as they read: publish progress, stop if asked to."""
        self.bytes_read = bytes_read
        self._check_stop()

    def __repr__(self) -> str:
        return f"RequestReader({self.path!r}, format={self.format.value})"
