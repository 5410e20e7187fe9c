"""``batcher status``: prompts by state group and by state, per run, in words and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Cli, text_file


def test_status_groups_add_up_to_the_prompts(cli: Cli, tmp_path: Path) -> None:
    cli.ok("profile", "edit", "sandbox", "--max-requests", "2")
    lines = ["one", "two #fail", "three", "four", "five", "six"]  # drafts #1, #2, #3
    imported = cli.ok("import", str(text_file(tmp_path / "q.txt", lines)), "--profile",
                      "sandbox", "--model", "gpt-4o-mini", "--deliver-to",
                      str(tmp_path / "out")).stdout
    assert "Imported 6 prompts as run #1 'q' into 3 draft batches: #1, #2, #3\n" in imported

    cancelled = cli.ok("cancel", "3").stdout
    assert cancelled == "Batch #3 cancelled (it was draft, never sent): 2 prompts cancelled.\n"
    submitted = cli.ok("submit").stdout
    assert submitted.startswith("Sealed 2 batches: #1, #2.")
    assert cli("sync", "--wait", "--timeout", "120").returncode == 3  # one prompt failed

    (run,) = json.loads(cli.ok("status", "--json").stdout)["runs"]
    assert run["prompts"] == 6
    assert run["by_state"] == {"delivered": 3, "failed": 1, "cancelled": 2}
    assert run["groups"] == {"pending": 0, "in flight": 0, "done": 3, "failed": 1,
                             "cancelled": 2}
    assert sum(run["groups"].values()) == run["prompts"]
    assert run["delivery_failures"] == 0
    assert run["cost_usd"] is not None and run["cost_usd"] > 0

    text = cli.ok("status").stdout
    assert "6 prompts   3 done · 1 failed · 2 cancelled (3 delivered)" in text

    nothing = cli.ok("cancel", "--run", "#1").stdout
    assert nothing.startswith("Nothing to cancel: every batch of that run has ended")
