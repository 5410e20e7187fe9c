"""Exports of a mixed workspace (one OpenAI run, one Claude run): both write the same columns
(answer text, tokens, cost, error) and the provider's raw response, in JSONL and in CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from batcher_gui.engine.export import CSV_HEADER, ExportFormat, export_run
from batcher_gui.storage import open_store
from tests.ui.mixed import (
    CLAUDE,
    CLAUDE_INPUT_TOTAL,
    CLAUDE_TEXT,
    INVALID,
    TOOL_INPUT,
    build_mixed,
    claude_message,
)

#: Prices for both models (the built-in table may not know the Claude model yet).
PRICES = {CLAUDE: {"input": 3, "output": 15, "cached_input": 0.3, "cache_write": 3.75},
          "gpt-4o-mini": {"input": 0.15, "output": 0.6}}

#: A Claude answer's text: its text blocks, then each tool call on a line (thinking left out).
CLAUDE_ANSWER = (CLAUDE_TEXT + "\n[tool_use get_weather "
                 + json.dumps(TOOL_INPUT, separators=(",", ":")) + "]")


def _export(tmp_path: Path, fmt: ExportFormat) -> dict[str, list[dict[str, Any]]]:
    """Each run's export ("openai", "claude") read back as dicts."""
    db = build_mixed(tmp_path)
    store = open_store(db)
    out: dict[str, list[dict[str, Any]]] = {}
    try:
        store.set_setting("prices", PRICES)
        for run in store.list_runs():
            name = "claude" if store.get_profile_by_id(run.profile_id).name == "claude" \
                else "openai"
            path = tmp_path / f"{name}.{fmt.value}"
            assert export_run(store, run, path, fmt) == 3
            if fmt is ExportFormat.JSONL:
                out[name] = [orjson.loads(x) for x in path.read_bytes().splitlines()]
            else:
                with path.open(newline="", encoding="utf-8") as fh:
                    rows = list(csv.reader(fh))
                assert rows[0] == CSV_HEADER
                out[name] = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    finally:
        store.db.close()
    return out


def test_jsonl_lines_of_both_providers_have_the_same_fields(tmp_path: Path) -> None:
    lines = _export(tmp_path, ExportFormat.JSONL)
    openai, claude = lines["openai"], lines["claude"]
    assert {tuple(line) for line in openai + claude} == {tuple(openai[0])}  # same fields
    assert {"output_text", "usage", "error", "response"} <= set(openai[0])
    assert [line["output_text"] for line in openai] == ["answer 0", "answer 1", "answer 2"]
    # Claude: the answer is its text blocks (not the thinking, not the tool call's input).
    first = claude[0]
    assert first["output_text"] == CLAUDE_ANSWER
    assert first["response"] == claude_message(0)  # the raw message, as Anthropic sent it
    assert first["usage"]["input_tokens"] == CLAUDE_INPUT_TOTAL
    assert first["usage"]["output_tokens"] == 87
    assert first["usage"]["cost_usd"] > 0 and openai[0]["usage"]["cost_usd"] > 0
    assert first["error"] is None
    failed = claude[2]
    assert (failed["state"], failed["error"], failed["output_text"], failed["response"],
            failed["usage"]) == ("failed", INVALID, "", None, None)


def test_csv_rows_of_both_providers_fill_the_same_columns(tmp_path: Path) -> None:
    rows = _export(tmp_path, ExportFormat.CSV)
    openai, claude = rows["openai"], rows["claude"]
    assert openai[1]["output_text"] == "answer 1"
    assert claude[1]["output_text"] == CLAUDE_ANSWER
    assert orjson.loads(claude[1]["response_body"]) == claude_message(1)
    assert claude[1]["input_tokens"] == str(CLAUDE_INPUT_TOTAL)
    assert claude[1]["output_tokens"] == "87"
    for row in (openai[0], claude[0]):
        assert float(row["cost_usd"]) > 0 and row["error"] == ""
    assert (claude[2]["state"], claude[2]["error"], claude[2]["output_text"],
            claude[2]["response_body"], claude[2]["cost_usd"]) == ("failed", INVALID, "", "", "")


@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_the_two_formats_agree_on_a_claude_answer(tmp_path: Path, fmt: ExportFormat) -> None:
    jsonl = _export(tmp_path / "a", ExportFormat.JSONL)["claude"][0]
    other = _export(tmp_path / "b", fmt)["claude"][0]
    if fmt is ExportFormat.CSV:
        assert other["output_text"] == jsonl["output_text"]
        assert float(other["cost_usd"]) == pytest.approx(jsonl["usage"]["cost_usd"])
    else:
        assert other == jsonl
