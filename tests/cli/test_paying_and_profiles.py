"""Issue 7, tried as a new user would (the CLI as a subprocess): money and results, and one
profile's problem stopping only that profile."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from tests.cli.conftest import Cli, StartSandbox, text_file

QUESTIONS = ["What is 2+2?", "Name a colour.", "Say hi."]


def _export(cli: Cli, ref: str, out: Path) -> list[dict[str, str]]:
    cli.ok("export", ref, "--out", str(out))
    with out.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_failed_delivery_is_never_paid_twice(cli: Cli, tmp_path: Path) -> None:
    """1: the result is kept, shown as a delivery problem; retry leaves it; redeliver finds it."""
    questions = text_file(tmp_path / "questions.txt", QUESTIONS)
    cli.ok("import", str(questions), "--profile", "sandbox", "--model", "gpt-4o-mini",
           "--deliver-to", "http://127.0.0.1:9/hook")
    cli.ok("config", "set", "delivery_attempts", "2")
    cli.ok("config", "set", "delivery_retry_seconds", "0.1")
    cli.ok("submit")
    synced = cli("sync", "--wait", "--timeout", "120")
    assert synced.returncode == 3, synced.stderr  # finished, with failures: not a success
    assert "only their delivery" in synced.stderr and "redeliver #1 --failed" in synced.stderr

    status = cli.ok("status").stdout
    assert ("3 prompts   3 failed (3 of the failed only in their delivery: `batcher redeliver "
            "#1 --failed`)") in status
    rows = _export(cli, "#1", tmp_path / "out.csv")
    assert all(r["output_text"] and r["delivery_error"] and not r["error"] for r in rows)

    retried = cli.ok("retry", "--failed").stdout
    assert retried.splitlines() == [
        "Restarted 0 failed batches holding 0 prompts; 0 more failed or expired prompts go into "
        "new batches: 0 will be sent again.",
        "3 results whose delivery failed were left alone (they are paid for): `batcher "
        "redeliver RUN --failed` sends them again."]
    assert len(json.loads(cli.ok("batches", "--json").stdout)) == 1  # no new provider batch
    assert cli.ok("redeliver", "1", "--failed").stdout == (
        "3 results of run #1 'questions' will be delivered again by the next sync.\n")


def test_folder_delivery_and_exports_find_runs_by_number_not_by_a_name_like_one(
        cli: Cli, tmp_path: Path) -> None:
    """2: run #1 delivers to a folder; a later run is named "1"."""
    out = tmp_path / "results"
    first = text_file(tmp_path / "alpha.txt", ["first run, question one", "first run, two"])
    second = text_file(tmp_path / "beta.txt", ["second run question"])
    cli.ok("import", str(first), "--profile", "sandbox", "--model", "gpt-4o-mini",
           "--deliver-to", str(out))
    cli.ok("import", str(second), "--profile", "sandbox", "--model", "gpt-4o-mini",
           "--name", "1")
    cli.ok("submit")
    cli.ok("sync", "--wait", "--timeout", "120")

    assert sorted(p.name for p in out.iterdir()) == ["alpha.csv", "alpha.jsonl"]
    lines = [json.loads(x) for x in (out / "alpha.jsonl").read_text().splitlines()]
    assert sorted(x["custom_id"] for x in lines) == ["1", "2"]  # run #1's, each once
    assert all(x["state"] == "delivered" for x in lines)
    ambiguous = cli("export", "1", "--out", str(tmp_path / "x.jsonl"))
    assert ambiguous.returncode == 1 and "write #1 or #2" in ambiguous.stderr
    assert not (tmp_path / "x.jsonl").exists()
    rows = _export(cli, "#2", tmp_path / "two.csv")
    assert [r["custom_id"] for r in rows] == ["1"] and "second run" in rows[0]["request_body"]


def test_retry_counts_what_it_sends_and_attempts_count_every_send(
        cli: Cli, tmp_path: Path, sandbox_server: StartSandbox) -> None:
    """3 (and 5: after retry --failed on the built-in sandbox, sync does not crash)."""
    questions = text_file(tmp_path / "q.txt", [f"{q} #fail" for q in QUESTIONS])
    cli.ok("import", str(questions), "--profile", "sandbox", "--model", "gpt-4o-mini")
    cli.ok("submit")
    assert cli("sync", "--wait", "--timeout", "120").returncode == 3
    said = cli.ok("retry", "--failed").stdout
    assert "3 more failed or expired prompts go into new batches: 3 will be sent again" in said
    again = cli("sync", "--wait", "--timeout", "120")
    assert again.returncode == 3 and "Traceback" not in again.stderr
    assert {r["attempts"] for r in _export(cli, "q", tmp_path / "o.csv")} == {"2"}

    url = sandbox_server("--fail-batch", "invalid_request", "--api-key", "k")
    cli.ok("profile", "add", "broken", "--base-url", url, "--key-env", "ANY_KEY")
    cli.ok("import", str(text_file(tmp_path / "b.txt", QUESTIONS)), "--profile", "broken",
           "--model", "gpt-4o-mini")
    cli.ok("submit")
    assert cli("sync", "--wait", "--timeout", "60", env={"ANY_KEY": "k"}).returncode == 3
    said = cli.ok("retry", "--run", "b").stdout
    assert "Restarted 1 failed batch holding 3 prompts; 0 more failed or expired prompts" in said
    assert "3 will be sent again" in said


def test_a_profile_without_a_key_stops_only_its_own_batches(cli: Cli, tmp_path: Path) -> None:
    """4 (and 6: a batch cancelled before upload needs no key and warns no more)."""
    questions = text_file(tmp_path / "q.txt", QUESTIONS)
    cli.ok("import", str(questions), "--profile", "openai", "--model", "gpt-4o-mini",
           "--name", "paid")
    cli.ok("import", str(questions), "--profile", "sandbox", "--model", "gpt-4o-mini",
           "--name", "free")
    cli.ok("submit")
    synced = cli("sync", "--wait", "--timeout", "120")
    assert synced.returncode == 1
    assert "waiting for you" in synced.stderr and "No API key for profile 'openai'" in (
        synced.stderr)
    assert "batch #2 (run #2): completed" in synced.stdout + synced.stderr
    paid, free = json.loads(cli.ok("batches", "--json").stdout)
    assert free["state"] == "completed"
    assert paid["state"] == "ready_for_upload" and "No API key" in paid["problem"]

    cli.ok("cancel", str(paid["id"]))
    for _ in range(2):
        quiet = cli.ok("sync")
        assert "cannot delete" not in quiet.stderr and "API key" not in quiet.stderr
    assert json.loads(cli.ok("batches", "--json").stdout)[0]["state"] == "cancelled"


def test_sync_says_what_happens_and_what_fails(cli: Cli, tmp_path: Path,
                                               sandbox_server: StartSandbox) -> None:
    """7: progress lines, another driver said at once, an unreachable provider said."""
    url = sandbox_server("--steps-per-poll", "1", "--progress-steps", "30", "--api-key", "k")
    cli.ok("profile", "add", "slow", "--base-url", url, "--key-env", "ANY_KEY",
           "--poll-interval", "0.2")
    cli.ok("import", str(text_file(tmp_path / "q.txt", QUESTIONS)), "--profile", "slow",
           "--model", "gpt-4o-mini")
    cli.ok("submit")
    key = {"ANY_KEY": "k"}
    first = cli.popen("sync", "--wait", "--timeout", "120", env=key)
    try:
        time.sleep(3)  # the first one drives by now
        started = time.monotonic()
        second = cli("sync", "--wait", "--timeout", "1", env=key)
        assert "drives this workspace" in second.stderr + second.stdout
        assert time.monotonic() - started < 20
    finally:
        out, err = first.communicate(timeout=180)
    assert first.returncode == 0, err
    for step in ("uploading", "validating", "in_progress", "finalizing", "completed"):
        assert f"batch #1 (run #1): {step}" in out + err

    cli.ok("profile", "add", "gone", "--base-url", "http://127.0.0.1:9/v1", "--key-env",
           "ANY_KEY")
    cli.ok("import", str(text_file(tmp_path / "g.txt", QUESTIONS)), "--profile", "gone",
           "--model", "gpt-4o-mini")
    cli.ok("submit")
    stuck = cli("sync", "--wait", "--timeout", "4", env={"ANY_KEY": "k"})
    assert stuck.returncode == 1
    said = stuck.stdout + stuck.stderr
    assert "unreachable" in said and "Not finished after 4s: 1 in flight: #2" in said
