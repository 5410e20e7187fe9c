"""``batcher compare A B``: the summary it prints and the pairs it writes (JSONL, CSV)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.cli.conftest import Cli, text_file


def _two_runs(cli: Cli, tmp_path: Path) -> None:
    # Text lines: the custom_id is the line number. Run two has a line more and fails one.
    # The sandbox's two models answer "alpha" each their own way, "=gamma" alike.
    first = text_file(tmp_path / "one.txt", ["alpha", "beta", "=gamma"])
    second = text_file(tmp_path / "two.txt", ["alpha", "beta #fail", "=gamma", "delta"])
    cli.ok("import", str(first), "--profile", "sandbox", "--model", "gpt-4o-mini")
    cli.ok("import", str(second), "--profile", "sandbox", "--model", "gpt-4o")
    cli.ok("submit")
    assert cli("sync", "--wait", "--timeout", "120").returncode == 3  # the #fail line


def test_compare_prints_the_summary_and_writes_the_pairs(cli: Cli, tmp_path: Path) -> None:
    _two_runs(cli, tmp_path)
    out = cli.ok("compare", "#1", "two", "--out", str(tmp_path / "pairs.jsonl")).stdout
    lines = out.splitlines()
    assert lines[0].startswith("A: run #1 'one': 3 prompts, 3 answered, 0 failed; tokens ")
    assert lines[1].startswith("B: run #2 'two': 4 prompts, 3 answered, 1 failed; tokens ")
    assert "(gpt-4o)" in lines[1]
    assert lines[2] == "Paired by custom_id: 3 pairs, 0 only in A, 1 only in B"
    assert lines[3] == ("Agreement over 2 answered pairs: exact 50.0% (1), normalised 50.0% "
                        "(1); failed in either: 1")
    assert lines[4] == ("Pairs: All 4, Different 1, Same 1, Only in A 0, Only in B 1, "
                        "Failed in either 1")
    assert lines[5].startswith("Wrote 4 pairs (all) to ")
    pairs = [json.loads(x) for x in (tmp_path / "pairs.jsonl").read_text().splitlines()]
    assert [p["key"] for p in pairs] == ["1", "2", "3", "4"]
    assert pairs[0]["same"] is False and pairs[0]["a"]["answer"] != pairs[0]["b"]["answer"]
    assert pairs[0]["a"]["answer"].endswith("You asked: alpha")
    assert pairs[2]["same"] is True and pairs[2]["a"]["answer"] == pairs[2]["b"]["answer"]
    assert pairs[1]["failed_in_either"] is True and pairs[1]["b"]["state"] == "failed"
    assert pairs[1]["same"] is None  # one side has no answer: neither same nor different
    assert pairs[3]["only_in"] == "b" and pairs[3]["a"] is None


def test_compare_writes_a_safe_csv_of_one_filter(cli: Cli, tmp_path: Path) -> None:
    _two_runs(cli, tmp_path)
    out = cli.ok("compare", "1", "2", "--only", "same", "--out", str(tmp_path / "p.csv"))
    assert "Wrote 1 pair (same) to " in out.stdout
    with (tmp_path / "p.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["key"] for r in rows] == ["3"]
    assert rows[0]["same"] == "true" and rows[0]["b_state"] == "processed"
    # An answer quoting "=gamma" would run as a formula in a spreadsheet: it starts with a quote
    assert all(not r[c].startswith("=") for r in rows for c in r)


def test_compare_refuses_bad_input_and_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    cli.ok("import", str(text_file(tmp_path / "one.txt", ["alpha"])), "--profile", "sandbox",
           "--model", "gpt-4o-mini")
    same = cli("compare", "1", "#1")
    assert same.returncode == 2 and "compared with itself" in same.stderr
    missing = cli("compare", "1", "nope")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    cli.ok("import", str(text_file(tmp_path / "two.txt", ["alpha"])), "--profile", "sandbox",
           "--model", "gpt-4o")
    bad = cli("compare", "1", "2", "--out", str(tmp_path / "pairs.xlsx"))
    assert bad.returncode == 2 and "cannot tell the export format" in bad.stderr
    assert not (tmp_path / "pairs.xlsx").exists()
    by_text = cli.ok("compare", "1", "2", "--by", "text").stdout
    assert "Paired by identical request text (duplicates paired in order): 1 pairs" in by_text
