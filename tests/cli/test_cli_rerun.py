"""``batcher rerun``: what it will do, then the new run; mistakes are refused plainly."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson

from tests.app.conftest import write_chat
from tests.cli.conftest import Cli


def _runs(ws: Path) -> list[tuple[int, str, int | None, str | None]]:
    conn = sqlite3.connect(ws / "batcher.sqlite3")
    try:
        return conn.execute("SELECT id, name, origin_run_id, origin_change FROM runs "
                            "ORDER BY id").fetchall()
    finally:
        conn.close()


def test_rerun_prints_the_plan_and_makes_the_run(cli: Cli, tmp_path: Path) -> None:
    data = write_chat(tmp_path / "reviews.jsonl", 4)
    cli.ok("import", str(data), "--profile", "sandbox")
    dry = cli.ok("rerun", "#1", "--model", "gpt-4o", "--option", "temperature=0.2")
    assert dry.stdout.splitlines() == [
        "Re-run of run #1 'reviews': all 4 prompts; model → gpt-4o, temperature → 0.2",
        "  profile sandbox; new run 'reviews → gpt-4o'",
        "  estimate: 40 input tokens, at most 65,536 output; $0.000050 to $0.3277 at batch "
        "prices",
        "Nothing was made: add --yes to make the re-run.",
    ]
    assert len(_runs(cli.ws)) == 1
    ids = tmp_path / "ids.txt"
    ids.write_text("c3\nc1\n", encoding="utf-8")
    made = cli.ok("rerun", "#1", "--profile", "sandbox-claude", "--model", "claude-haiku-4-5",
                  "--system", "Be brief.", "--only", f"ids:{ids}", "--name", "to claude",
                  "--yes")
    assert made.stdout.splitlines()[-1] == (
        "Made run #2 'to claude': 2 prompts, re-run of #1 (profile → sandbox-claude, model → "
        "claude-haiku-4-5, new system prompt; 2 from ids.txt). It is sent like an import "
        "(`batcher submit #2` sends it now); `batcher compare #1 #2` compares them.")
    status = cli.ok("status").stdout.splitlines()
    assert status[status.index(next(s for s in status if s.startswith("  #2 "))) + 1] == (
        "        re-run of #1 (profile → sandbox-claude, model → claude-haiku-4-5, new system "
        "prompt; 2 from ids.txt)")
    (_, name, origin, change) = _runs(cli.ws)[1]
    assert (name, origin) == ("to claude", 1)
    assert orjson.loads(change or "") == {
        "profile": "sandbox-claude", "model": "claude-haiku-4-5", "system": "Be brief.",
        "only": "from ids.txt", "prompts": 2}


def test_rerun_mistakes_are_refused_and_change_nothing(cli: Cli, tmp_path: Path) -> None:
    data = write_chat(tmp_path / "p.jsonl", 2)
    cli.ok("import", str(data), "--profile", "sandbox")
    ids = tmp_path / "ids.txt"
    ids.write_text("c0\nnope\n", encoding="utf-8")
    cases = {
        ("--model", "x", "--only", "everything"):
            "error: --only takes failed, failed-checks or ids:FILE, not 'everything'",
        ("--model", "x", "--only", f"ids:{ids}"):
            f"error: run #1 has no prompt with the custom_id 'nope' (from {ids})",
        ("--option", "temperature"):
            "error: an option is key=value (e.g. temperature=0.2), got 'temperature'",
        ("--option", "model=gpt-4o"): "error: 'model' is not an option: use --model to change it",
        ("--template", "{x}"):
            "error: run #1 'p' was imported from a jsonl file, whose lines are not made from a "
            "template: change the model, system prompt or options instead",
        ("--model", "x", "--only", "failed"):
            "error: nothing to re-run: run #1 'p' has none of the prompts asked for (failed "
            "prompts)",
        ("--profile", "sandbox-claude"):
            "error: prompt 'c0': 'gpt-4o-mini' is an OpenAI model, but the profile is a Claude "
            "(anthropic) profile: pass a Claude model (e.g. --model claude-haiku-4-5)",
    }
    for args, message in cases.items():
        result = cli("rerun", "#1", *args, "--yes")
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.strip() == message
        assert "Traceback" not in result.stderr
    assert len(_runs(cli.ws)) == 1
