"""`batcher delete RUN`: asks first (or --yes), refuses a run still at the provider."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Cli, text_file


def _runs(cli: Cli) -> list[str]:
    return [r["name"] for r in json.loads(cli.ok("status", "--json").stdout)["runs"]]


def test_delete_asks_or_wants_yes_and_then_deletes(cli: Cli, tmp_path: Path) -> None:
    q = text_file(tmp_path / "q.txt", ["one", "two", "three"])
    cli.ok("import", str(q), "--profile", "sandbox", "--model", "gpt-4o-mini", "--name", "keep")
    cli.ok("import", str(q), "--profile", "sandbox", "--model", "gpt-4o-mini", "--name", "gone")
    unasked = cli("delete", "gone")  # no terminal to answer: nothing happens
    assert unasked.returncode == 2 and "add --yes" in unasked.stderr
    assert sorted(_runs(cli)) == ["gone", "keep"]
    done = cli.ok("delete", "gone", "--yes")
    assert "Deleted run #2 'gone' (3 prompts)." in done.stdout
    assert _runs(cli) == ["keep"]
    missing = cli("delete", "gone", "--yes")
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
