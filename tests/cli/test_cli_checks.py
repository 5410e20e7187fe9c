"""``batcher checks``: set, show and clear a run's checks; bad rules change nothing; exports
carry each prompt's check."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.cli.conftest import Cli, text_file

# The sandbox answers "Sandbox reply <crc>. You asked: <prompt>"; "#fail" makes it fail.
LINES = ["one", "two", "three #fail", "four"]


def answered_run(cli: Cli, tmp_path: Path) -> None:
    cli.ok("import", str(text_file(tmp_path / "q.txt", LINES)), "--profile", "sandbox",
           "--model", "gpt-4o-mini")
    cli.ok("submit")
    assert cli("sync", "--wait", "--timeout", "120").returncode == 3  # one prompt failed


def test_checks_set_show_export_and_clear(cli: Cli, tmp_path: Path) -> None:
    answered_run(cli, tmp_path)
    shown = cli.ok("checks", "#1").stdout
    assert "no checks" in shown

    out = cli.ok("checks", "#1", "--regex", r"You asked: (one|two)$", "--max-chars", "200"
                 ).stdout
    assert "checks set" in out
    assert "answer matches the regex You asked: (one|two)$" in out
    assert "answer has at most 200 characters" in out
    assert "2 passed, 1 failed, 1 not checked" in out
    assert cli.ok("checks", "q").stdout.endswith(
        "2 passed, 1 failed, 1 not checked (no answer yet, failed at the provider, or still "
        "to be checked)\n")

    cli.ok("export", "#1", "--out", str(tmp_path / "out.jsonl"))
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(x["check"], x["check_detail"]) for x in lines] == [
        ("passed", None), ("passed", None), (None, None),
        ("failed", "regex: no match for You asked: (one|two)$")]
    cli.ok("export", "#1", "--out", str(tmp_path / "out.csv"))
    with (tmp_path / "out.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[-2:] == ["check", "check_detail"]
    assert [r["check"] for r in rows] == ["passed", "passed", "", "failed"]

    # JSON with a schema: every plain-text answer fails, at line 1 column 1.
    schema = tmp_path / "s.json"
    schema.write_text('{"type": "object", "required": ["answer"]}')
    out = cli.ok("checks", "#1", "--schema", str(schema)).stdout
    assert "answer is JSON matching the schema" in out
    assert "0 passed, 3 failed, 1 not checked" in out
    labels = cli.ok("checks", "#1", "--labels", "good,bad", "--ignore-case").stdout
    assert "answer is one of 'good', 'bad' (ignoring case and spaces)" in labels
    assert "schema" not in labels  # replaced, not added to

    cleared = cli.ok("checks", "#1", "--clear").stdout
    assert "checks removed" in cleared and "no checks" in cleared


def test_bad_rules_are_refused_and_change_nothing(cli: Cli, tmp_path: Path) -> None:
    answered_run(cli, tmp_path)
    cli.ok("checks", "#1", "--max-chars", "5")
    before = cli.ok("checks", "#1").stdout
    bad_schema = tmp_path / "bad.json"
    bad_schema.write_text('{"type": "nope"}')
    not_json = tmp_path / "not.json"
    not_json.write_text("{type: object}")
    cases = [
        (["--regex", "(("], "error: regex '((' does not compile: missing ), unterminated "
                            "subpattern at position 1"),
        (["--schema", str(bad_schema)], "error: schema is not a valid JSON Schema: $.type: "),
        (["--schema", str(not_json)], "error: schema file not.json is not JSON: line 1 "
                                      "column 2: Expecting property name"),
        (["--schema", str(tmp_path / "missing.json")], "error: cannot read the schema file "),
        (["--labels", " , "], "error: --labels needs at least one label"),
        (["--ignore-case"], "error: --ignore-case goes with --labels"),
        (["--clear", "--json"], "error: --clear removes every check: give it alone"),
        (["--max-chars", "-3"], "must be 0 or more, got -3"),
    ]
    for args, said in cases:
        result = cli("checks", "#1", *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert said in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert cli.ok("checks", "#1").stdout == before
    missing = cli("checks", "#9", "--json")
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
