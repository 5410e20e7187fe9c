"""Writing a compare's pairs to a file (JSONL or CSV, as ``batcher compare --out`` asks)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from batcher_gui.domain.compare import CompareFilter, PairFlag, PairRow
from batcher_gui.domain.views import PromptRow
from batcher_gui.engine.destination import written_file
from batcher_gui.engine.export import (
    COST_DECIMALS,
    ExportFormat,
    check_destination,
    format_for,
    spreadsheet_safe,
)
from batcher_gui.storage.compare import CompareQueries

SIDE_FIELDS = ("custom_id", "state", "answer", "input_tokens", "output_tokens", "cost_usd",
               "label", "note", "check")
CSV_HEADER = ["key", "same", "normalised_same", "only_in", "failed_in_either",
              *(f"{side}_{name}" for side in ("a", "b") for name in SIDE_FIELDS)]


def _check(row: PromptRow) -> str | None:
    if row.check is None:
        return None
    return "passed" if row.check else f"failed: {row.check_detail}".rstrip(": ")


def _side(row: PromptRow | None, answer: str, cost: float | None,
          labels: Mapping[int, str]) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"custom_id": row.custom_id, "state": row.state.value, "answer": answer,
            "input_tokens": row.input_tokens, "output_tokens": row.output_tokens,
            "cost_usd": None if cost is None else round(cost, COST_DECIMALS),
            "label": None if row.label is None else labels.get(row.label, str(row.label)),
            "note": row.note, "check": _check(row)}


def pair_record(pair: PairRow, a_answer: str, b_answer: str,
                labels: Mapping[int, str]) -> dict[str, Any]:
    """One pair as the JSONL file holds it (the CSV flattens the same fields)."""
    answered = bool(pair.flags & PairFlag.ANSWERED)
    only = "a" if pair.flags & PairFlag.ONLY_A else "b" if pair.flags & PairFlag.ONLY_B else None
    return {"key": pair.key,
            "same": bool(pair.flags & PairFlag.SAME) if answered else None,
            "normalised_same": bool(pair.flags & PairFlag.NORMALISED_SAME) if answered else None,
            "only_in": only, "failed_in_either": bool(pair.flags & PairFlag.FAILED),
            "a": _side(pair.a, a_answer, pair.a_cost, labels),
            "b": _side(pair.b, b_answer, pair.b_cost, labels)}


def _csv_cells(record: dict[str, Any]) -> list[Any]:
    cells: list[Any] = [record["key"], record["same"], record["normalised_same"],
                        record["only_in"], record["failed_in_either"]]
    for side in ("a", "b"):
        values = record[side] or {}
        cells += [values.get(name) for name in SIDE_FIELDS]
    out = []
    for cell in cells:
        if cell is None:
            out.append("")
        elif isinstance(cell, bool):
            out.append("true" if cell else "false")
        elif isinstance(cell, float):
            out.append(f"{cell:.{COST_DECIMALS}f}".rstrip("0").rstrip("."))
        elif isinstance(cell, str):
            out.append(spreadsheet_safe(cell))
        else:
            out.append(cell)
    return out


def write_pairs(queries: CompareQueries, only: CompareFilter, out: str | os.PathLike[str],
                labels: Mapping[int, str], fmt: ExportFormat | str | None = None,
                progress: Callable[[int], None] | None = None) -> int:
    """Write the built compare's pairs under ``only`` to ``out``; returns how many. A file
    appears only when complete (see :func:`written_file`)."""
    chosen = format_for(out, fmt)
    target = check_destination(out)
    written = 0
    with written_file(target) as fh:
        text: io.TextIOWrapper | None = None
        writer = None
        if chosen is ExportFormat.CSV:
            text = io.TextIOWrapper(fh, encoding="utf-8", newline="", write_through=True)
            writer = csv.writer(text)
            writer.writerow(CSV_HEADER)
        for chunk in queries.export_rows(only):
            records = [pair_record(p, a, b, labels) for p, a, b in chunk]
            if writer is not None:
                writer.writerows(_csv_cells(r) for r in records)
            else:
                fh.write(b"".join(orjson.dumps(r) + b"\n" for r in records))
            written += len(records)
            if progress is not None:
                progress(written)
        if text is not None:
            text.detach()  # leave fh open: written_file closes it
    return written
