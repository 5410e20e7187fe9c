"""`batcher import` into a Claude profile, as a user runs it: real subprocesses."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Cli

M = "claude-haiku-4-5"


def test_csv_template_into_a_claude_profile_with_max_tokens(cli: Cli, tmp_path: Path) -> None:
    cli.ok("profile", "add", "claude", "--kind", "anthropic")
    table = tmp_path / "reviews.csv"
    table.write_text('custom_id,review\n"row 1/ä","Great, loved it"\nr2,Awful\n',
                     encoding="utf-8")
    cli.ok("import", "--profile", "claude", "--max-tokens", "300", "--model", M, str(table),
           "--template", "Sentiment of: {review}", "--system", "One word.")
    out = tmp_path / "o.jsonl"
    cli.ok("export", "reviews", "--out", str(out))
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [x["custom_id"] for x in lines] == ["row 1/ä", "r2"]
    assert lines[0]["request"]["body"] == {
        "model": M, "max_tokens": 300, "system": "One word.",
        "messages": [{"role": "user", "content": "Sentiment of: Great, loved it"}]}
    batches = json.loads(cli.ok("batches", "--json").stdout)
    assert [(b["endpoint"], b["model"]) for b in batches] == [("/v1/messages", M)]


def test_chat_lines_into_a_claude_profile_say_they_were_converted(
        cli: Cli, tmp_path: Path) -> None:
    cli.ok("profile", "add", "claude", "--kind", "anthropic")
    chat = tmp_path / "chat.jsonl"
    chat.write_text("".join(json.dumps({
        "custom_id": f"c{i}", "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [
            {"role": "system", "content": "Be brief"}, {"role": "user", "content": f"q{i}"}]},
    }) + "\n" for i in range(2)))
    refused = cli("import", "--profile", "claude", str(chat))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "chat.jsonl, line 1, field 'body.model'" in refused.stderr
    assert "OpenAI model" in refused.stderr
    result = cli.ok("import", "--profile", "claude", "--model", M, "--max-tokens", "64",
                    str(chat))
    assert "Note: 2 request(s) converted from OpenAI chat format" in result.stdout


def test_max_tokens_mistakes_are_said_plainly(cli: Cli, tmp_path: Path) -> None:
    text = tmp_path / "q.txt"
    text.write_text("hello\n")
    zero = cli("import", str(text), "--model", M, "--max-tokens", "0")
    assert zero.returncode == 2 and "must be at least 1" in zero.stderr
    assert "Traceback" not in zero.stderr
    openai = cli("import", str(text), "--model", "gpt-4o-mini", "--max-tokens", "10")
    assert openai.returncode == 2 and "Traceback" not in openai.stderr
    assert "applies to Claude profiles (kind anthropic) only" in openai.stderr
