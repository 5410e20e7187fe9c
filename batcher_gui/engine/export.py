"""Exporting a run: one line per prompt with the user's custom_id, state, request and outcome.

An export may be limited to the prompts a view shows (its state, model, error and search
filters, a :class:`~batcher_gui.domain.views.PromptQuery`): the same SQL condition the view
uses selects them, so the file holds exactly the prompts the filters show, in import order.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from batcher_gui.config.prices import price_table
from batcher_gui.domain.answers import answer_text
from batcher_gui.domain.errors import Cancelled, InvalidInput
from batcher_gui.domain.models import Run
from batcher_gui.domain.pricing import PriceTable
from batcher_gui.domain.secrecy import mask, mask_optional
from batcher_gui.domain.usage import cache_tokens_in
from batcher_gui.domain.views import PromptQuery
from batcher_gui.engine.destination import cannot_write, written_file
from batcher_gui.storage.export_rows import count_matching, matching_prompts
from batcher_gui.storage.store import Store


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


_BY_SUFFIX = {".jsonl": ExportFormat.JSONL, ".ndjson": ExportFormat.JSONL,
              ".json": ExportFormat.JSONL, ".csv": ExportFormat.CSV}

CSV_HEADER = [
    "custom_id", "state", "line", "endpoint", "model", "output_text", "error", "delivery_error",
    "input_tokens", "output_tokens", "cost_usd", "attempts", "request_body", "response_body",
    "label", "note",
    "check", "check_detail",
]
#: Costs are rounded to this many decimals (prices have at most ~4 significant digits per
#: million tokens, so more would only print float noise like 5.474999999999999e-06).
COST_DECIMALS = 9


def format_for(out: str | os.PathLike[str], fmt: ExportFormat | str | None) -> ExportFormat:
    """The export format: as given, else from the file's extension (unknown ones refused)."""
    if fmt:
        return ExportFormat(fmt)
    suffix = Path(out).suffix.lower()
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    raise InvalidInput(
        f"cannot tell the export format from {Path(out).name!r}: name the file .jsonl or .csv, "
        "or give --format jsonl|csv")


def output_text(endpoint: str, response: bytes | None) -> str:
    """The human-readable answer inside a stored response body ('' when there is none)."""
    if not response:
        return ""
    try:
        return answer_text(endpoint, orjson.loads(response))
    except orjson.JSONDecodeError:
        return ""


def _cost(prices: PriceTable, model: str, tokens_in: int | None,
          tokens_out: int | None, response: bytes | None = None) -> float | None:
    cache = cache_tokens_in(response)  # cache reads cost less (writes, on some, more)
    cost = prices.cost(model, tokens_in, tokens_out, cached_input=cache.read,
                       cache_write=cache.written, cache_write_1h=cache.written_1h)
    return None if cost is None else round(cost, COST_DECIMALS)


def check_words(checked: Sequence[Any]) -> tuple[str, str]:
    """("passed" | "failed" | "", the failing rule) of a row's check columns (a row from
    before them has none)."""
    if not checked or checked[0] is None:
        return "", ""
    return ("passed" if checked[0] else "failed"), checked[1] or ""


# Rows are unpacked as tuples (in EXPORT_COLUMNS order): attribute access on a million rows
# costs more than writing them.


def jsonl_line(row: Any, prices: PriceTable) -> bytes:
    """One export line (JSONL) of a prompt row."""
    (_, custom_id, line_no, state, endpoint, model, body, response, error, tokens_in,
     tokens_out, attempts, delivery_error) = row[:13]
    label, note = row[13:15]  # the reviewer's (see EXPORT_COLUMNS)
    check, check_detail = check_words(row[15:17])
    usage = None
    if tokens_in is not None or tokens_out is not None:
        usage = {"input_tokens": tokens_in, "output_tokens": tokens_out,
                 "cost_usd": _cost(prices, model, tokens_in, tokens_out, response)}
    return orjson.dumps({
        "custom_id": custom_id,
        "state": state,
        "line": line_no,
        "request": {"method": "POST", "url": endpoint, "body": orjson.Fragment(body)},
        # The answer's text, as the CSV's output_text (Claude's text blocks, OpenAI's message).
        "output_text": output_text(endpoint, response),
        "response": orjson.Fragment(response) if response else None,
        # Masked again on the way out: a workspace from before masking may hold an echoed key.
        "error": mask_optional(error),
        "delivery_error": mask_optional(delivery_error),
        "usage": usage,
        "attempts": attempts,
        "label": label,
        "note": note,
        # The run's checks on answers: "passed", "failed" (check_detail says why) or null.
        "check": check or None,
        "check_detail": check_detail or None,
    }) + b"\n"


#: A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets
#: (OWASP, "CSV Injection"): ``=HYPERLINK(..)`` or ``=cmd|' /C calc'!A0`` would run on opening.
_FORMULA_START = frozenset("=+-@\t\r")
#: ... except a plain number ("-5"): a spreadsheet reads it as the number it is, nothing runs.
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def spreadsheet_safe(cell: str) -> str:
    """A CSV cell's text as a spreadsheet must get it: a leading single quote before anything
    it would run as a formula (the quote shows the cell is text; the csv module already
    quotes and doubles embedded quotes), and U+FFFD for NUL, which readers (Batcher's own
    import among them) refuse in a text file. JSONL exports keep the exact text."""
    if "\0" in cell:
        cell = cell.replace("\0", "\ufffd")
    if cell[:1] in _FORMULA_START and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def csv_row(row: Any, prices: PriceTable) -> list[Any]:
    """One export row (CSV, see CSV_HEADER) of a prompt row, its text cells made safe for a
    spreadsheet (see :func:`spreadsheet_safe`)."""
    (_, custom_id, line_no, state, endpoint, model, body, response, error, tokens_in,
     tokens_out, attempts, delivery_error) = row[:13]
    label, note = row[13:15]  # the reviewer's (see EXPORT_COLUMNS)
    check, check_detail = check_words(row[15:17])
    cost = _cost(prices, model, tokens_in, tokens_out, response)
    safe = spreadsheet_safe
    return [
        safe(custom_id), state, line_no, safe(endpoint), safe(model),
        safe(output_text(endpoint, response)), safe(mask(error or "")),
        safe(mask(delivery_error or "")),
        "" if tokens_in is None else tokens_in,
        "" if tokens_out is None else tokens_out,
        "" if cost is None else f"{cost:.{COST_DECIMALS}f}".rstrip("0").rstrip("."),
        attempts, safe(body.decode("utf-8")), safe(response.decode("utf-8")) if response else "",
        safe(label or ""), safe(note or ""),
        check, safe(check_detail),
    ]


def check_destination(out: str | os.PathLike[str]) -> Path:
    """Where an export goes; a folder or an unwritable place is refused, saying why."""
    target = Path(out).expanduser()
    try:
        if target.is_dir():
            raise InvalidInput(f"{target} is a folder: give a file name, e.g. "
                               f"{target / 'results.csv'}")
        if target.parent.exists() and not target.parent.is_dir():
            raise InvalidInput(f"{target.parent} is a file, not a folder")
    except OSError as exc:  # a name too long, a folder that may not be looked into...
        raise cannot_write(target, exc) from None
    return target


def export_filter(query: PromptQuery | None) -> PromptQuery | None:
    """What of a view's query an export applies: its filters (state, model, errors, search,
    batch), not its run or order. None: no filter, the whole run."""
    if query is None:
        return None
    only = PromptQuery(batch_id=query.batch_id, states=tuple(query.states), model=query.model,
                       has_error=query.has_error, text=query.text.strip(),
                       models=query.models, checks=query.checks, labels=query.labels,
                       finish_reasons=query.finish_reasons, error_kinds=query.error_kinds,
                       has_note=query.has_note)
    filtered = (only.states or only.model or only.has_error is not None or only.text
                or only.batch_id is not None or only.models or only.checks or only.labels
                or only.finish_reasons or only.error_kinds or only.has_note is not None)
    return only if filtered else None


def export_run(
    store: Store,
    run: Run,
    out: str | os.PathLike[str],
    fmt: ExportFormat = ExportFormat.JSONL,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    only: PromptQuery | None = None,
) -> int:
    """Write a run's prompts to ``out``; returns how many. A file appears only when complete
    (a FIFO or a device is written as it goes; see :func:`written_file`).

    Runs in a worker thread (a million prompts take seconds); ``should_stop`` is polled after
    each chunk and abandons the export (no file is left behind). ``only``: just the prompts
    these filters keep (see :func:`export_filter`); the lines are the same as in a whole
    export.
    """
    only = export_filter(only)
    prices = price_table(store.get_setting("prices", {}))
    target = check_destination(out)
    written = 0
    with written_file(target) as fh:
        write: Callable[[Sequence[Any]], object]
        if fmt is ExportFormat.CSV:
            text = io.TextIOWrapper(fh, encoding="utf-8", newline="", write_through=True)
            writer = csv.writer(text)
            writer.writerow(CSV_HEADER)
            write = lambda rows: writer.writerows(csv_row(r, prices) for r in rows)  # noqa: E731
        else:
            write = lambda rows: fh.write(b"".join(jsonl_line(r, prices) for r in rows))  # noqa: E731
        total = run.prompt_count if only is None else count_matching(store.db, run.id, only)
        chunks = (store.iter_run_prompts(run.id) if only is None
                  else matching_prompts(store.db, run.id, only))
        for rows in chunks:
            write(rows)
            written += len(rows)
            if progress is not None:
                progress(written, max(total, written))
            if should_stop is not None and should_stop():
                raise Cancelled("export stopped; no file was written")
        if fmt is ExportFormat.CSV:
            text.detach()  # leave fh open: written_file closes it
    return written
