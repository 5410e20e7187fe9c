"""Budgets: a run over its profile's cap is refused by `submit`, held by auto-send, and goes
with --allow-over-budget."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Cli

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample" / "sample-prompts.jsonl"


def _batches(cli: Cli) -> list[dict[str, object]]:
    return json.loads(cli.ok("batches", "--json").stdout)  # type: ignore[no-any-return]


def test_over_budget_is_refused_held_and_then_allowed(cli: Cli) -> None:
    # The sample's high estimate (every answer as long as allowed) is about $0.0007.
    cli.ok("profile", "edit", "sandbox", "--budget-run", "0.0001")
    cli.ok("import", str(SAMPLE), "--profile", "sandbox")

    refused = cli("submit", "--run", "#1")
    assert refused.returncode == 2, refused.stderr
    assert "over budget: this run may cost up to $0.000" in refused.stderr
    assert "above profile 'sandbox''s cap of $0.000100 per run" in refused.stderr
    assert "--allow-over-budget" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert [b["state"] for b in _batches(cli)] == ["draft"]  # nothing sealed

    # Auto-send (a quiet draft is sealed by the engine) holds it too, and says why.
    cli.ok("config", "set", "auto_seal_quiet_seconds", "0")
    cli("sync", "--wait", "--timeout", "6")
    (batch,) = _batches(cli)
    assert batch["state"] == "ready_for_upload"
    assert "over budget" in str(batch["waiting"]), batch

    said = cli.ok("submit", "--run", "#1", "--allow-over-budget").stdout
    # Auto-send had sealed it already: it was held, not left as a draft.
    assert said.splitlines()[0] == "Run #1 is over its budget and goes anyway, as you allowed."
    assert "No draft batch was waiting to be sealed" in said
    assert cli("sync", "--wait", "--timeout", "90").returncode == 0
    assert [b["state"] for b in _batches(cli)] == ["completed"]


def test_budget_fields_are_checked(cli: Cli) -> None:
    bad = cli("profile", "edit", "sandbox", "--budget-month", "-5")
    assert bad.returncode == 2 and "budget per month" in bad.stderr
    cli.ok("profile", "edit", "sandbox", "--budget-month", "50")
    cli.ok("profile", "edit", "sandbox", "--budget-month", "0")  # 0 removes the cap
