"""CSV/TSV reader: one prompt per row, from a template or a ``prompt`` column."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from batcher_gui.domain.errors import LineError
from batcher_gui.domain.models import ImportOptions, InputFormat, ProfileLimits
from batcher_gui.importing.common import (
    MAX_CUSTOM_ID,
    PROGRESS_MASK,
    UTF8_BOM,
    ItemIterator,
    Progress,
    TextRequestBuilder,
    file_error,
    given,
    line_too_long,
    not_utf8_message,
    show,
    text_target,
)
from batcher_gui.importing.template import Template, TemplateError, compile_template

DELIMITERS = ",;\t|"
PROMPT_COLUMN = "prompt"
ID_COLUMN = "custom_id"


def sniff_delimiter(head: bytes, truncated: bool) -> str:
    """Guess a .csv file's delimiter among ``,;<tab>|`` from its first bytes.

    csv.Sniffer decides; its answer is kept only if the header line contains it (Sniffer
    can be fooled by punctuation in the data). A header with no candidate at all is a
    single-column file: pick the candidate that occurs least, so rows are not split.
    """
    text = head[3:] if head.startswith(UTF8_BOM) else head
    if truncated and b"\n" in text:
        text = text[: text.rindex(b"\n") + 1]  # never sniff half a line
    sample = text.decode("utf-8", errors="replace")
    header = next((line for line in sample.splitlines() if line.strip()), "")
    in_header = {d: header.count(d) for d in DELIMITERS}
    if not any(in_header.values()):
        return min(DELIMITERS, key=sample.count)
    try:
        guess = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        guess = ","
    if in_header.get(guess):
        return guess
    return max(DELIMITERS, key=lambda d: in_header[d])


class _LineFeed:
    """Feeds csv.reader decoded lines, counting lines and bytes as it goes.

    Decoding here (not via a text-mode file) lets a non-UTF-8 file fail with the line
    number of the bad byte.
    """

    def __init__(self, f: BinaryIO, path: str) -> None:
        self._f = f
        self._path = path
        self.line = 0
        self.bytes = 0

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        raw = self._f.readline()
        if not raw:
            raise StopIteration
        self.line += 1
        self.bytes += len(raw)
        if self.line == 1 and raw.startswith(UTF8_BOM):
            raw = raw[3:]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise file_error(self._path, not_utf8_message(exc), line=self.line) from None


@dataclass(slots=True)
class _Record:
    start: int  # first physical line
    end: int  # last physical line
    size: int  # bytes in the file
    row: list[str] | None  # None when csv could not parse it
    error: str


def _records(f: BinaryIO, path: str, delimiter: str) -> Iterator[_Record]:
    feed = _LineFeed(f, path)
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
        yield _Record(start, feed.line, feed.bytes - start_bytes, row, error)
        start, start_bytes = feed.line + 1, feed.bytes


def _columns(header: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(header[:limit])
    return shown + (f", ... ({len(header)} in all)" if len(header) > limit else "")


class TabularSource:
    """Reads a CSV or TSV file. The constructor reads and checks the header and options."""

    def __init__(
        self,
        path: str,
        fmt: InputFormat,
        options: ImportOptions,
        limits: ProfileLimits,
        head: bytes,
        size: int,
    ) -> None:
        self.path = path
        self.limits = limits
        model, endpoint = text_target(path, options, fmt)
        self.builder = TextRequestBuilder(path, model, endpoint, options.system, limits)
        self.delimiter = "\t" if fmt is InputFormat.TSV else sniff_delimiter(head, size > len(head))
        # The default 128 KiB cap would reject long prompts (whole documents in a cell).
        # It is process-wide, so only ever raise it.
        if csv.field_size_limit() < limits.max_line_bytes:
            csv.field_size_limit(limits.max_line_bytes)
        self.header, self.header_end = self._read_header()
        self._plan(options)

    def _read_header(self) -> tuple[list[str], int]:
        with open(self.path, "rb") as f:
            for rec in _records(f, self.path, self.delimiter):
                if rec.row is None:
                    raise file_error(
                        self.path, f"malformed header: {rec.error}", line=rec.start, field="header"
                    )
                if any(rec.row):
                    return self._check_header(rec.row, rec.start), rec.end
        raise file_error(self.path, "file is empty (it has only blank lines)")

    def _check_header(self, row: list[str], line: int) -> list[str]:
        names = [name.strip() for name in row]
        where: dict[str, int] = {}
        for i, name in enumerate(names, 1):
            if not name:
                raise file_error(
                    self.path,
                    f"column {i} has no name; every column needs a header "
                    f"(the first line must hold the column names: {_columns(names)})",
                    line=line,
                    field="header",
                )
            if name in where:
                raise file_error(
                    self.path,
                    f"column name {show(name)} appears twice (columns {where[name]} and {i})",
                    line=line,
                    field="header",
                )
            where[name] = i
        return names

    def _plan(self, options: ImportOptions) -> None:
        """Decide where each row's prompt text and custom_id come from."""
        header = self.header
        self.template: Template | None = None
        self.prompt_index = -1
        if given(options.template):
            assert options.template is not None
            try:
                self.template = compile_template(options.template, header)
            except TemplateError as exc:
                raise file_error(self.path, f"template: {exc}", field="template") from None
        elif PROMPT_COLUMN in header:
            self.prompt_index = header.index(PROMPT_COLUMN)
        else:
            raise file_error(
                self.path,
                "no prompt text: pass a template such as --template 'Summarise: {text}' or add "
                f"a '{PROMPT_COLUMN}' column; available columns: {_columns(header)}",
                field="template",
            )
        self.id_index: int | None = None
        self.id_name = ID_COLUMN
        if given(options.id_column):
            assert options.id_column is not None
            name = options.id_column.strip()
            if name not in header:
                raise file_error(
                    self.path,
                    f"id column {show(name)} does not exist; available columns: "
                    + _columns(header),
                    field="id_column",
                )
            self.id_index, self.id_name = header.index(name), name
        elif ID_COLUMN in header:
            self.id_index = header.index(ID_COLUMN)

    def read(self, progress: Progress) -> ItemIterator:
        """Yield a ParsedRequest per valid row and a LineError per invalid one.

        Raises:
            ImportValidationError: a line is not UTF-8 (CSV decoding cannot resume mid-file).
        """
        path, ncols = self.path, len(self.header)
        max_line = self.limits.max_line_bytes
        template, prompt_index = self.template, self.prompt_index
        id_index, id_name = self.id_index, self.id_name
        text_field = "template" if template is not None else PROMPT_COLUMN
        build = self.builder.build
        seen: dict[str, int] = {}
        count = 0
        with open(path, "rb") as f:
            for rec in _records(f, path, self.delimiter):
                count += 1
                if not count & PROGRESS_MASK:
                    progress.bytes_read = f.tell()
                if rec.end <= self.header_end:
                    continue
                row = rec.row
                if row is None:
                    yield LineError(path, rec.start, None, self._malformed(rec))
                    continue
                if not any(row):  # blank line, or a spreadsheet's all-empty row
                    continue
                if rec.size > max_line:
                    yield LineError(path, rec.start, None, line_too_long(rec.size, self.limits))
                    continue
                if len(row) != ncols:
                    # Spreadsheets often pad rows with empty trailing cells: accept those.
                    if len(row) > ncols and not any(row[ncols:]):
                        row = row[:ncols]
                    else:
                        yield LineError(path, rec.start, None, self._ragged(rec, len(row)))
                        continue
                if id_index is None:
                    cid = str(rec.start)
                else:
                    cid = row[id_index].strip()
                    problem = self._id_problem(cid, rec.start, seen)
                    if problem is not None:
                        yield LineError(path, rec.start, id_name, problem)
                        continue
                text = template.render(row) if template is not None else row[prompt_index]
                if not text.strip():
                    yield LineError(path, rec.start, text_field, self._empty_prompt(row))
                    continue
                yield build(rec.start, cid, text)
            progress.bytes_read = f.tell()

    def _malformed(self, rec: _Record) -> str:
        message = f"malformed record: {rec.error}"
        if rec.end > rec.start:
            message += f"; it spans lines {rec.start}-{rec.end}: check for an unbalanced quote"
        return message

    def _ragged(self, rec: _Record, got: int) -> str:
        ncols = len(self.header)
        message = f"expected {ncols} fields ({_columns(self.header)}), got {got}"
        if rec.end > rec.start:
            message += (
                f"; this record spans lines {rec.start}-{rec.end}: check for an unbalanced quote"
            )
        elif got > ncols:
            message += "; quote fields that contain the delimiter"
        return message

    def _id_problem(self, cid: str, line: int, seen: dict[str, int]) -> str | None:
        if not cid:
            return f"empty custom_id cell in column {show(self.id_name)}"
        if len(cid) > MAX_CUSTOM_ID:
            return f"custom_id is {len(cid)} characters, longer than the {MAX_CUSTOM_ID} allowed"
        first = seen.setdefault(cid, line)
        if first != line:
            return f"duplicate custom_id {show(cid)}: already used on line {first}"
        return None

    def _empty_prompt(self, row: list[str]) -> str:
        if self.template is None:
            return f"the '{PROMPT_COLUMN}' cell is empty"
        empty = sorted(
            {
                n
                for n, c in zip(self.template.names, self.template.columns, strict=True)
                if not row[c].strip()
            }
        )
        detail = f" (empty: {', '.join(empty)})" if empty else ""
        return f"the template renders to an empty prompt for this row{detail}"
