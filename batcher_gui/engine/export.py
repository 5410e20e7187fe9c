"""Exporting a run: one line per prompt with the user's custom_id, state, request and outcome."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from batcher_gui.domain.pricing import PriceTable
from batcher_gui.storage.store import Store


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


CSV_HEADER = [
    "custom_id", "state", "line", "endpoint", "model", "output_text", "error",
    "input_tokens", "output_tokens", "cost_usd", "attempts", "request_body", "response_body",
]


def output_text(endpoint: str, response: bytes | None) -> str:
    """The human-readable answer inside a stored response body ('' when there is none)."""
    if not response:
        return ""
    try:
        body = orjson.loads(response)
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(body, dict):
        return ""
    try:
        if endpoint == "/v1/chat/completions":
            return str(body["choices"][0]["message"].get("content") or "")
        if endpoint == "/v1/completions":
            return str(body["choices"][0].get("text") or "")
        if endpoint == "/v1/responses":
            parts = [
                c.get("text", "")
                for item in body.get("output", [])
                if isinstance(item, dict)
                for c in item.get("content", []) or []
                if isinstance(c, dict) and c.get("type") == "output_text"
            ]
            return "".join(parts)
        if endpoint == "/v1/embeddings":
            data = body.get("data") or []
            return f"[embedding, {len(data[0].get('embedding', []))} dims]" if data else ""
        if endpoint == "/v1/moderations":
            results = body.get("results") or []
            return "flagged" if results and results[0].get("flagged") else "not flagged"
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""
    return ""


# Rows are unpacked as tuples (in EXPORT_COLUMNS order): attribute access on a million rows
# costs more than writing them.


def _jsonl_line(row: Any, prices: PriceTable) -> bytes:
    (_, custom_id, line_no, state, endpoint, model, body, response, error, tokens_in,
     tokens_out, attempts) = row
    usage = None
    if tokens_in is not None or tokens_out is not None:
        usage = {"input_tokens": tokens_in, "output_tokens": tokens_out,
                 "cost_usd": prices.cost(model, tokens_in, tokens_out)}
    return orjson.dumps({
        "custom_id": custom_id,
        "state": state,
        "line": line_no,
        "request": {"method": "POST", "url": endpoint, "body": orjson.Fragment(body)},
        "response": orjson.Fragment(response) if response else None,
        "error": error,
        "usage": usage,
        "attempts": attempts,
    }) + b"\n"


def _csv_row(row: Any, prices: PriceTable) -> list[Any]:
    (_, custom_id, line_no, state, endpoint, model, body, response, error, tokens_in,
     tokens_out, attempts) = row
    cost = prices.cost(model, tokens_in, tokens_out)
    return [
        custom_id, state, line_no, endpoint, model, output_text(endpoint, response), error or "",
        "" if tokens_in is None else tokens_in,
        "" if tokens_out is None else tokens_out,
        "" if cost is None else f"{cost:.8f}",
        attempts, body.decode("utf-8"), response.decode("utf-8") if response else "",
    ]


def export_run(
    store: Store,
    run_ref: str,
    out: str | os.PathLike[str],
    fmt: ExportFormat = ExportFormat.JSONL,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write a run's prompts to ``out``; returns how many. The file appears only when complete."""
    run = store.find_run(run_ref)
    prices = PriceTable(store.get_setting("prices", {}))
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    written = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            write: Callable[[Sequence[Any]], object]
            if fmt is ExportFormat.CSV:
                text = io.TextIOWrapper(fh, encoding="utf-8", newline="", write_through=True)
                writer = csv.writer(text)
                writer.writerow(CSV_HEADER)
                write = lambda rows: writer.writerows(_csv_row(r, prices) for r in rows)  # noqa: E731
            else:
                write = lambda rows: fh.write(b"".join(_jsonl_line(r, prices) for r in rows))  # noqa: E731
            for rows in store.iter_run_prompts(run.id):
                write(rows)
                written += len(rows)
                if progress is not None:
                    progress(written, run.prompt_count)
            if fmt is ExportFormat.CSV:
                text.detach()  # leave fh open: the with-block closes it
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return written
