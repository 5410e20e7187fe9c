"""CSV/TSV records: the physical lines of a file, bounded, decoded and parsed by csv.

Each line is read at most the line limit at a time, so a line of hundreds of megabytes is
refused while it is read, never held whole.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from batcher_gui.domain.models import ProfileLimits
from batcher_gui.importing.common import (
    POLL_LINE_BYTES,
    UTF8_BOM,
    cut_line_length,
    file_error,
    line_reader,
    line_too_long,
    never_stop,
    not_utf8_message,
)


class _LineFeed:
    """Feeds csv.reader decoded lines, counting lines and bytes as it goes.

    Decoding here (not via a text-mode file) lets a non-UTF-8 file fail with the line
    number of the bad byte. A line over ``limit`` bytes is read past a piece at a time (never
    held whole) and fed as an empty line; ``overlong`` says which line and how long it was.
    """

    def __init__(self, f: BinaryIO, path: str, limit: int,
                 check_stop: Callable[[], None] = never_stop) -> None:
        self._f = f
        self._path = path
        self._limit = limit
        self._readline = line_reader(f, limit)
        self._check_stop = check_stop
        self._next_poll = POLL_LINE_BYTES
        self.line = 0
        self.bytes = 0
        #: (line, length) of a line over the limit since the caller last cleared it.
        self.overlong: tuple[int, int] | None = None

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        raw = self._readline()
        if not raw:
            raise StopIteration
        self.line += 1
        self.bytes += len(raw)
        if self.bytes >= self._next_poll:
            self._next_poll = self.bytes + POLL_LINE_BYTES
            self._check_stop()
        if (length := cut_line_length(raw, self._f, self._limit)) is not None:
            self.bytes = self._f.tell()
            self.overlong = (self.line, length)
            return "\n"
        if self.line == 1 and raw.startswith(UTF8_BOM):
            raw = raw[3:]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise file_error(self._path, not_utf8_message(exc), line=self.line) from None


@dataclass(slots=True)
class Record:
    """One CSV record: a row, or why csv could not parse it."""

    start: int  # first physical line
    end: int  # last physical line
    size: int  # bytes in the file
    row: list[str] | None  # None when csv could not parse it (or a line was too long)
    error: str
    overlong: int = 0  # length of a line of it over the limit (then row is None)


def records(f: BinaryIO, path: str, delimiter: str, limit: int,
            check_stop: Callable[[], None] = never_stop) -> Iterator[Record]:
    """The records of an open CSV/TSV file, with their line numbers.

    A record with a line over ``limit`` bytes comes with ``overlong`` set and no row.

    Raises:
        ImportValidationError: a line is not UTF-8.
        Cancelled: ``check_stop`` raised it.
    """
    feed = _LineFeed(f, path, limit, check_stop)
    # strict: an unclosed quote at the end of the file is an error, not a silently
    # swallowed tail; so is text after a closing quote.
    reader = csv.reader(feed, delimiter=delimiter, strict=True)
    start, start_bytes = 1, 0
    while True:
        try:
            row: list[str] | None = next(reader)
            error = ""
        except StopIteration:
            return
        except csv.Error as exc:  # the reader resets itself and goes on with the next line
            row, error = None, str(exc)
        overlong = 0
        if feed.overlong is not None:
            overlong, feed.overlong = feed.overlong[1], None
            row, error = None, f"a line of {overlong:,} bytes"
        yield Record(start, feed.line, feed.bytes - start_bytes, row, error, overlong)
        start, start_bytes = feed.line + 1, feed.bytes


def header_record(path: str, recs: Iterator[Record], limits: ProfileLimits) -> Record:
    """The header: the first record of ``recs`` with a non-empty cell.

    Raises:
        ImportValidationError: the header cannot be parsed, or there is none.
    """
    for rec in recs:
        if rec.overlong:
            raise file_error(path, "the header " + line_too_long(rec.overlong, limits),
                             line=rec.start, field="header")
        if rec.row is None:
            raise file_error(path, f"malformed header: {rec.error}", line=rec.start, field="header")
        if any(rec.row):
            return rec
    raise file_error(path, "file is empty (it has only blank lines)")


def raise_field_limit(limit: int) -> None:
    """Let csv read cells of up to ``limit`` characters.

    The default 128 KiB cap would reject long prompts (whole documents in a cell). It is
    process-wide, so only ever raise it.
    """
    if csv.field_size_limit() < limit:
        csv.field_size_limit(limit)
