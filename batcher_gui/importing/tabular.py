"""CSV/TSV reader, and the table rules it shares with the Excel reader.

A table holds one prompt per row: its first non-empty row names the columns, a template (or a
``prompt`` column) makes each row's prompt text and an id column (or the row's number) its
custom_id. :class:`TableRules` holds those rules; :class:`TabularSource` feeds it the rows of a
CSV/TSV file and :mod:`batcher_gui.importing.xlsx` those of a worksheet.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence

from batcher_gui.domain.errors import LineError
from batcher_gui.domain.models import ImportOptions, InputFormat, ProfileKind, ProfileLimits
from batcher_gui.importing.common import (
    MAX_CUSTOM_ID,
    PROGRESS_MASK,
    UTF8_BOM,
    Item,
    ItemIterator,
    Progress,
    TextRequestBuilder,
    file_error,
    given,
    line_too_long,
    max_tokens_option,
    show,
    stop_check,
    text_target,
)
from batcher_gui.importing.csv_records import Record, header_record, raise_field_limit, records
from batcher_gui.importing.template import Template, TemplateError, compile_template

DELIMITERS = ",;\t|"
PROMPT_COLUMN = "prompt"
ID_COLUMN = "custom_id"


def delimiter_for(fmt: InputFormat, head: bytes, size: int) -> str:
    """The delimiter of a CSV/TSV file whose first bytes are ``head`` and size ``size``."""
    return "\t" if fmt is InputFormat.TSV else sniff_delimiter(head, size > len(head))


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


def describe_columns(header: Sequence[str], limit: int = 12) -> str:
    """The column names for a message, the first ``limit`` of them."""
    shown = ", ".join(header[:limit])
    return shown + (f", ... ({len(header)} in all)" if len(header) > limit else "")


def check_header(path: str, row: Sequence[str], line: int, unit: str = "line") -> list[str]:
    """The column names of a header row, stripped.

    Args:
        path: the file, for messages.
        row: the header's cells.
        line: where it is (line or row number).
        unit: what ``line`` counts, for messages ("line" or "row").

    Raises:
        ImportValidationError: a column without a name, or a name used twice.
    """
    names = [name.strip() for name in row]
    where: dict[str, int] = {}
    for i, name in enumerate(names, 1):
        if not name:
            raise file_error(
                path,
                f"column {i} has no name; every column needs a header "
                f"(the first {unit} must hold the column names: {describe_columns(names)})",
                line=line,
                field="header",
            )
        if name in where:
            raise file_error(
                path,
                f"column name {show(name)} appears twice (columns {where[name]} and {i})",
                line=line,
                field="header",
            )
        where[name] = i
    return names


class TableRules:
    """How the rows of a table become requests; shared by the CSV/TSV and Excel readers.

    Set up in two steps so that the options (model, endpoint) are checked before the file is
    read: the constructor checks them, :meth:`use_header` checks the header and plans where
    each row's prompt text and custom_id come from.

    Attributes:
        header: the column names (after :meth:`use_header`).
        unit: what a row's number is called in messages ("line" or "row").
    """

    def __init__(
        self,
        path: str,
        fmt: InputFormat,
        options: ImportOptions,
        limits: ProfileLimits,
        unit: str = "line",
        kind: ProfileKind | str | None = None,
    ) -> None:
        self.path = path
        self.unit = unit
        self._options = options
        model, endpoint = text_target(path, options, fmt, kind)
        self.builder = TextRequestBuilder(path, model, endpoint, options.system, limits,
                                          max_tokens_option(path, options, kind))
        self.header: list[str] = []
        self.template: Template | None = None
        self.prompt_index = -1
        self.id_index: int | None = None
        self.id_name = ID_COLUMN

    def use_header(self, row: Sequence[str], line: int) -> None:
        """Check the header row and the template and id column against it.

        Raises:
            ImportValidationError: a bad header, template or id column, or no prompt text.
        """
        header = self.header = check_header(self.path, row, line, self.unit)
        options = self._options
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
                f"a '{PROMPT_COLUMN}' column; available columns: {describe_columns(header)}",
                field="template",
            )
        if given(options.id_column):
            assert options.id_column is not None
            name = options.id_column.strip()
            if name not in header:
                raise file_error(
                    self.path,
                    f"id column {show(name)} does not exist; available columns: "
                    + describe_columns(header),
                    field="id_column",
                )
            self.id_index, self.id_name = header.index(name), name
        elif ID_COLUMN in header:
            self.id_index = header.index(ID_COLUMN)

    def row_reader(self) -> Callable[[int, Sequence[str]], Item]:
        """A function turning one read's data rows into requests (or LineErrors).

        It takes a row's line (CSV) or row (sheet) number, which is also the custom_id when
        there is no id column, and exactly ``len(header)`` cells. Each call of this method
        starts a new read: duplicate ids are tracked per function. A closure, not a method:
        the row loop is the hot path, and locals are cheaper than attribute lookups.
        """
        path, id_index, id_name = self.path, self.id_index, self.id_name
        template, prompt_index = self.template, self.prompt_index
        text_field = "template" if template is not None else PROMPT_COLUMN
        build = self.builder.build
        id_problem, empty_prompt = self._id_problem, self._empty_prompt
        seen: dict[str, int] = {}

        def request(line: int, row: Sequence[str]) -> Item:
            if id_index is None:
                cid = str(line)
            else:
                cid = row[id_index].strip()
                problem = id_problem(cid, line, seen)
                if problem is not None:
                    return LineError(path, line, id_name, problem)
            text = template.render(row) if template is not None else row[prompt_index]
            if not text.strip():
                return LineError(path, line, text_field, empty_prompt(row))
            return build(line, cid, text)

        return request

    def _id_problem(self, cid: str, line: int, seen: dict[str, int]) -> str | None:
        if not cid:
            return f"empty custom_id cell in column {show(self.id_name)}"
        if len(cid) > MAX_CUSTOM_ID:
            return f"custom_id is {len(cid)} characters, longer than the {MAX_CUSTOM_ID} allowed"
        first = seen.setdefault(cid, line)
        if first != line:
            return f"duplicate custom_id {show(cid)}: already used on {self.unit} {first}"
        return None

    def _empty_prompt(self, row: Sequence[str]) -> str:
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
        should_stop: Callable[[], bool] | None = None,
        kind: ProfileKind | str | None = None,
    ) -> None:
        self.path = path
        self.limits = limits
        self.check_stop = stop_check(should_stop)
        self.rules = TableRules(path, fmt, options, limits, kind=kind)
        self.delimiter = delimiter_for(fmt, head, size)
        raise_field_limit(limits.max_line_bytes)
        header, header_line, self.header_end = self._read_header()
        self.rules.use_header(header, header_line)
        self.header = self.rules.header

    def _read_header(self) -> tuple[list[str], int, int]:
        """The header row, its first line and its last line."""
        with open(self.path, "rb") as f:
            rec = header_record(self.path, records(f, self.path, self.delimiter,
                                                   self.limits.max_line_bytes), self.limits)
        assert rec.row is not None
        return rec.row, rec.start, rec.end

    def read(self, progress: Progress) -> ItemIterator:
        """Yield a ParsedRequest per valid row and a LineError per invalid one.

        Raises:
            ImportValidationError: a line is not UTF-8 (CSV decoding cannot resume mid-file).
        """
        path, ncols = self.path, len(self.header)
        max_line = self.limits.max_line_bytes
        request = self.rules.row_reader()
        count = 0
        with open(path, "rb") as f:
            for rec in records(f, path, self.delimiter, max_line, self.check_stop):
                count += 1
                if not count & PROGRESS_MASK:
                    progress.reached(f.tell())
                if rec.end <= self.header_end:
                    continue
                row = rec.row
                if rec.overlong:
                    yield LineError(path, rec.start, None, line_too_long(rec.overlong,
                                                                         self.limits))
                    continue
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
                yield request(rec.start, row)
            progress.reached(f.tell())

    def _malformed(self, rec: Record) -> str:
        message = f"malformed record: {rec.error}"
        if rec.end > rec.start:
            message += f"; it spans lines {rec.start}-{rec.end}: check for an unbalanced quote"
        return message

    def _ragged(self, rec: Record, got: int) -> str:
        ncols = len(self.header)
        message = f"expected {ncols} fields ({describe_columns(self.header)}), got {got}"
        if rec.end > rec.start:
            message += (
                f"; this record spans lines {rec.start}-{rec.end}: check for an unbalanced quote"
            )
        elif got > ncols:
            message += "; quote fields that contain the delimiter"
        return message
