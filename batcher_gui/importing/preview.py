"""What the import dialog shows before an import: a peek, example requests and a dry run.

Pure (no Qt, no database, nothing written) and safe to call from a worker thread. Each
function checks the file the way an import does and raises the same ImportValidationError for
a file that cannot be imported at all (missing, a folder, binary, empty, UTF-16, not a
workbook...).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import orjson

from batcher_gui.domain.answers import prompt_text
from batcher_gui.domain.endpoints import MESSAGES_ENDPOINT
from batcher_gui.domain.errors import Cancelled, LineError
from batcher_gui.domain.intake import ExampleRequest, FilePreview, ValidationReport
from batcher_gui.domain.models import ImportOptions, InputFormat, ProfileKind, ProfileLimits
from batcher_gui.domain.packing import DraftPacker, GroupKey, LineSizer
from batcher_gui.importing.claude_doc import first_entries, is_requests_document
from batcher_gui.importing.common import (
    POLL_LINE_BYTES,
    UTF8_BOM,
    cut_line_length,
    given,
    line_reader,
    stop_check,
)
from batcher_gui.importing.csv_records import header_record, raise_field_limit, records
from batcher_gui.importing.detect import FileInfo, examine
from batcher_gui.importing.reader import RequestReader
from batcher_gui.importing.tabular import ID_COLUMN, PROMPT_COLUMN, check_header, delimiter_for
from batcher_gui.importing.xlsx import peek_sheet

#: Longest cell a preview holds; the dialog shows a table, not whole documents.
PREVIEW_CELL_CHARS = 1000
#: What a preview shows for a line over the line limit (an import refuses it).
TOO_LONG = "(line too long to import)"
#: How far into a JSONL file ``peek`` looks for the models and endpoints it uses.
SCAN_LINES = 1000
SCAN_BYTES = 4 * 1024 * 1024
#: ``validate`` polls ``should_stop`` and reports progress every this many lines (a power of
#: two: tested with a mask).
CHECK_EVERY = 4096
#: Column names (case-folded) that look like row ids, for ``suggested_id_column``.
_ID_NAMES = frozenset({"id", "custom_id", "customid", "key", "uuid", "ref", "reference"})

#: (bytes read, total bytes)
ProgressFn = Callable[[int, int], None]


# -- peek ---------------------------------------------------------------------------------------
def peek(path: str | os.PathLike[str], options: ImportOptions, limit: int = 20, *,
         should_stop: Callable[[], bool] | None = None) -> FilePreview:
    """The format, header and first ``limit`` rows of ``path``; reads only the file's start.

    Lines are read with the default profile's ``max_line_bytes`` bound (a longer one shows
    as a placeholder, or stops a CSV peek as an import would stop); a workbook is read
    through the same guard as an import. ``should_stop`` is polled while reading.

    Uses ``options.format`` and ``options.sheet``; the other options are what the dialog is
    about to edit, so they are not checked here (see :func:`render_examples`).

    Raises:
        ImportValidationError: the file cannot be imported whatever the options (missing, a
            folder, binary, empty, UTF-16, not a workbook, an unknown or empty sheet, a bad
            header), with the message an import would give.
        Cancelled: ``should_stop`` returned True.
    """
    spath = os.fspath(path)
    info, fmt = examine(spath, options.format)
    check = stop_check(should_stop)
    if fmt is InputFormat.JSONL and is_requests_document(info.head):
        return _peek_document(spath, info, limit)
    if fmt is InputFormat.JSONL:
        return _peek_jsonl(spath, info, limit, check)
    if fmt is InputFormat.TEXT:
        return _peek_text(spath, info, limit, check)
    sheets: list[str] = []
    if fmt is InputFormat.XLSX:
        sheets, columns, rows = peek_sheet(spath, options.sheet, limit, should_stop)
    else:
        columns, rows = _peek_csv(spath, fmt, info.head, info.size, limit, check)
    for row in rows:
        row.extend([""] * (len(columns) - len(row)))
    return FilePreview(
        format=fmt,
        columns=columns,
        rows=[[_clip(cell) for cell in row] for row in rows],
        sheets=sheets,
        models=[],
        endpoints=[],
        needs_model=True,
        needs_template=PROMPT_COLUMN not in columns,
        suggested_id_column=_suggest_id(columns, rows, options.id_column),
        total_bytes=info.size,
    )


def _peek_csv(
    path: str, fmt: InputFormat, head: bytes, size: int, limit: int, check: Callable[[], None]
) -> tuple[list[str], list[list[str]]]:
    """The checked header and the first ``limit`` data rows of a CSV/TSV file (blank and
    malformed records left out: a peek shows the table, a dry run reports the problems)."""
    limits = ProfileLimits()
    raise_field_limit(limits.max_line_bytes)
    rows: list[list[str]] = []
    with open(path, "rb") as f:
        recs = records(f, path, delimiter_for(fmt, head, size), limits.max_line_bytes, check)
        header = header_record(path, recs, limits)
        assert header.row is not None
        columns = check_header(path, header.row, header.start)
        for rec in recs:
            if len(rows) >= limit:
                break
            if rec.row is not None and any(rec.row):
                rows.append(rec.row)
    return columns, rows


def _bounded_lines(f: BinaryIO, check: Callable[[], None]) -> Iterator[bytes | None]:
    """The lines of ``f`` (after a BOM); None for one over the default line limit, which is
    read past, never held whole. ``check`` is called after each long line."""
    if f.read(3) != UTF8_BOM:
        f.seek(0)
    limit = ProfileLimits().max_line_bytes
    long_line = min(limit, POLL_LINE_BYTES)
    for raw in iter(line_reader(f, limit), b""):
        if len(raw) >= long_line:
            check()
            if cut_line_length(raw, f, limit) is not None:
                yield None
                continue
        yield raw


def _peek_text(path: str, info: FileInfo, limit: int, check: Callable[[], None]) -> FilePreview:
    rows: list[list[str]] = []
    with open(path, "rb") as f:
        for raw in _bounded_lines(f, check):
            if len(rows) >= limit:
                break
            if raw is None:
                rows.append([TOO_LONG])
                continue
            text = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
            if text.strip():
                rows.append([_clip(text)])
    return FilePreview(InputFormat.TEXT, [], rows, [], [], [], True, False, None, info.size)


def _peek_jsonl(path: str, info: FileInfo, limit: int, check: Callable[[], None]
                ) -> FilePreview:
    rows: list[list[str]] = []
    models: dict[str, None] = {}  # dicts as ordered sets: first seen first
    endpoints: dict[str, None] = {}
    needs_model = False
    scanned = read = 0
    with open(path, "rb") as f:
        for raw in _bounded_lines(f, check):
            if len(rows) >= limit and (scanned >= SCAN_LINES or read >= SCAN_BYTES):
                break
            if raw is None:
                read += SCAN_BYTES  # a line that long ends the scan
                if len(rows) < limit:
                    rows.append(["", "", "", TOO_LONG])
                continue
            read += len(raw)
            if not raw.strip():
                continue
            scanned += 1
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                obj = None
            if not isinstance(obj, dict):
                if len(rows) < limit:
                    rows.append(["", "", "", "(not a JSON object)"])
                continue
            body = obj.get("body")
            url = obj.get("url")
            if "params" in obj:  # a Claude Message Batches line
                body, url = obj.get("params"), MESSAGES_ENDPOINT
            model = body.get("model") if isinstance(body, dict) else None
            if isinstance(url, str) and url:
                endpoints[url] = None
            if isinstance(model, str) and model:
                models[model] = None
            else:
                needs_model = True
            if len(rows) < limit:
                rows.append([_clip(_text(obj.get("custom_id"))), _clip(_text(url)),
                             _clip(_text(model)), _clip(prompt_text(body))])
    return FilePreview(InputFormat.JSONL, [], rows, [], list(models), list(endpoints),
                       needs_model, False, None, info.size)


def _peek_document(path: str, info: FileInfo, limit: int) -> FilePreview:
    """The first requests of a Message Batches requests file (``{"requests": [...]}``)."""
    rows: list[list[str]] = []
    models: dict[str, None] = {}
    needs_model = False
    for entry in first_entries(path, limit, ProfileLimits().max_line_bytes):
        if not isinstance(entry, dict):
            rows.append(["", "", "", "(not a request object)"])
            continue
        params = entry.get("params")
        model = params.get("model") if isinstance(params, dict) else None
        if isinstance(model, str) and model:
            models[model] = None
        else:
            needs_model = True
        rows.append([_clip(_text(entry.get("custom_id"))), MESSAGES_ENDPOINT, _clip(_text(model)),
                     _clip(prompt_text(params))])
    return FilePreview(InputFormat.JSONL, [], rows, [], list(models), [MESSAGES_ENDPOINT],
                       needs_model, False, None, info.size)


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _clip(text: str) -> str:
    return text if len(text) <= PREVIEW_CELL_CHARS else text[: PREVIEW_CELL_CHARS - 1] + "…"


def _suggest_id(columns: list[str], rows: list[list[str]], chosen: str | None) -> str | None:
    if given(chosen) and chosen is not None and chosen.strip() in columns:
        return chosen.strip()
    if ID_COLUMN in columns:
        return ID_COLUMN
    for i, name in enumerate(columns):
        folded = name.casefold()
        if folded in _ID_NAMES or folded.endswith(("_id", " id")):
            cells = [row[i].strip() for row in rows]
            if all(cells) and len(set(cells)) == len(cells):
                return name
    return None


# -- examples -----------------------------------------------------------------------------------
def render_examples(
    path: str | os.PathLike[str], options: ImportOptions, limits: ProfileLimits, n: int = 3,
    *, should_stop: Callable[[], bool] | None = None, kind: ProfileKind | str | None = None,
) -> list[ExampleRequest]:
    """The first ``n`` requests exactly as the import would build them.

    Returns:
        In file order, ``(custom_id, body)`` for each request (``body`` is the JSON the
        provider would get), or the LineError of a line the import would reject. Fewer than
        ``n`` when the file has fewer lines. ``kind``: the target profile's kind (a Claude
        profile's requests are Messages params).

    Raises:
        ImportValidationError: the file, or an option, stops the whole import (a template
            naming no column, a missing model...): the message is the import's.
        Cancelled: ``should_stop`` returned True.
    """
    reader = RequestReader(path, options, limits, should_stop, kind=kind)
    out: list[ExampleRequest] = []
    items = iter(reader)
    try:
        for item in items:
            if len(out) >= n:
                break
            out.append(item if isinstance(item, LineError) else (item.user_custom_id, item.body))
    finally:
        items.close()  # closes the file (or workbook) read part way
    return out


# -- dry run ------------------------------------------------------------------------------------
def validate(
    path: str | os.PathLike[str],
    options: ImportOptions,
    limits: ProfileLimits,
    *,
    should_stop: Callable[[], bool] | None = None,
    progress: ProgressFn | None = None,
    keep: int = 20,
    kind: ProfileKind | str | None = None,
) -> ValidationReport:
    """Read all of ``path`` as an import would (through RequestReader), writing nothing.

    ``batches`` counts the drafts the valid requests fill when packed as the import packs
    them (:class:`~batcher_gui.domain.packing.DraftPacker`, lines sized by
    :class:`~batcher_gui.domain.packing.LineSizer`, as
    :mod:`batcher_gui.storage.import_rows` does). It is exact for an import into a
    new workspace. Elsewhere two things differ, neither visible from here: prompt ids are
    numbered from 1 here, while a workspace that already holds prompts hands out longer ids
    (a few bytes more per line, which matters only when the byte limit binds); and the import
    first fills drafts still open in the workspace.

    Args:
        should_stop: polled while reading; True raises ``Cancelled``.
        progress: called now and then with (bytes read, file size), and at the end.
        keep: how many errors to keep (all are counted).
        kind: the target profile's kind (see RequestReader).

    Raises:
        ImportValidationError: what the import would raise before or while reading.
        Cancelled: ``should_stop`` returned True.
    """
    reader = RequestReader(path, options, limits, should_stop, kind=kind)
    total = reader.total_bytes
    errors: list[LineError] = []
    invalid = 0
    next_id = 0

    def new_draft(key: GroupKey) -> int:
        nonlocal next_id
        next_id += 1
        return next_id

    packer = DraftPacker(limits, (), new_draft)
    add = packer.add
    size = LineSizer(1).size  # the import's numbering in a new workspace
    count = 0
    mask = CHECK_EVERY - 1
    items = iter(reader)
    try:
        for item in items:
            count += 1
            if not count & mask:
                if should_stop is not None and should_stop():
                    raise Cancelled("validation stopped")
                if progress is not None:
                    progress(reader.bytes_read, total)
            if isinstance(item, LineError):
                invalid += 1
                if len(errors) < keep:
                    errors.append(item)
                continue
            _, _, endpoint, model, body = item
            add(endpoint, model, size(endpoint, body))
    finally:
        items.close()
    if progress is not None:
        progress(total, total)
    models: dict[str, int] = {}
    endpoints: dict[str, int] = {}
    for done in packer.touched:
        endpoint, model = done.key
        models[model] = models.get(model, 0) + done.count
        endpoints[endpoint] = endpoints.get(endpoint, 0) + done.count
    return ValidationReport(
        valid=sum(models.values()),
        invalid=invalid,
        errors=errors,
        batches=len(packer.touched),
        models=models,
        endpoints=endpoints,
        warnings=list(reader.warnings),
        notes=reader.notes,
    )


__all__ = ["ExampleRequest", "FilePreview", "ValidationReport", "peek", "render_examples",
           "validate"]
