"""``batcher label`` / ``batcher labels`` as a user meets them, and labels in exports."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.cli.conftest import Cli


def _prompts(path: Path) -> Path:
    path.write_text("".join(json.dumps({
        "custom_id": f"a{i}", "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"q{i}"}]}})
        + "\n" for i in range(3)))
    return path


def test_label_note_list_rename_and_export(cli: Cli, tmp_path: Path) -> None:
    cli.ok("import", str(_prompts(tmp_path / "p.jsonl")), "--profile", "sandbox", "--name", "rv")
    assert cli.ok("label", "rv", "a1", "Good", "--note", "=cmd tidy").stdout.splitlines() == [
        "a1: label good", "a1: note saved"]
    cli.ok("label", "#1", "a2", "2")
    # Mistakes: said in a line, exit 2 (bad input) or 1 (not found), nothing changed.
    for args, code, words in ((("label", "rv", "a0", "great"), 2, "no label 'great'"),
                              (("label", "rv", "zz", "good"), 1, "custom_id 'zz'"),
                              (("label", "rv", "a0"), 2, "give a label"),
                              (("labels", "11", "x"), 2, "1 to 9"),
                              (("labels", "2", "GOOD"), 2, "already called")):
        done = cli(*args)
        assert done.returncode == code and words in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
    assert cli.ok("labels").stdout.splitlines() == [
        "1  good                     1 prompt", "2  wrong                    1 prompt",
        "3  unsure                   0 prompts"]
    cli.ok("labels", "2", "off topic")
    assert json.loads(cli.ok("labels", "--run", "rv", "--json").stdout) == [
        {"custom_id": "a1", "label": "good", "note": "=cmd tidy"},
        {"custom_id": "a2", "label": "off topic", "note": None}]
    # Exports carry the label's name and the note; the CSV keeps a formula from running.
    cli.ok("export", "rv", "--out", str(tmp_path / "out.csv"))
    with (tmp_path / "out.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["custom_id"], r["label"], r["note"]) for r in rows] == [
        ("a0", "", ""), ("a1", "good", "'=cmd tidy"), ("a2", "off topic", "")]
    cli.ok("export", "rv", "--out", str(tmp_path / "out.jsonl"))
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(x["label"], x["note"]) for x in lines] == [(None, None), ("good", "=cmd tidy"),
                                                       ("off topic", None)]
    cli.ok("label", "rv", "a1", "none", "--note", "")
    cli.ok("labels", "2", "--remove")
    assert cli.ok("labels", "--run", "rv").stdout.strip() == \
        "no prompt of this run has a label or a note yet"
