"""``batcher serve`` on SQLite and on PostgreSQL, as a real process: /healthz and /metrics
tell the truth the database holds, every log line is JSON, SIGTERM mid-flight stops cleanly
and a restart finishes the work with no provider batch made twice, and a second ``serve`` on
the same workspace waits while the first lives, then takes over."""

from __future__ import annotations

import signal
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.server.conftest import (
    KEY,
    StartServe,
    Workspace,
    provider_batches,
    wait_until,
    write_prompts,
)

IN_FLIGHT = {"ready_for_upload", "uploading", "validating", "in_progress", "finalizing",
             "downloading"}


def metrics(text: str) -> dict[str, dict[str, float]]:
    """name -> {state label (or ""): value}, parsed by prometheus_client's own parser."""
    found: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[sample.labels.get("state", "")] = sample.value
    return found


def sql_truth(ws: Workspace) -> tuple[dict[str, int], dict[str, int]]:
    """Prompts and batches by state, counted in SQL (drafts nobody filled left out)."""
    prompts = dict(ws.query("SELECT state, count(*) FROM prompts GROUP BY state"))
    batches = dict(ws.query("SELECT state, count(*) FROM batches WHERE state != 'draft' "
                            "OR request_count > 0 GROUP BY state"))
    return prompts, batches


def nonzero(values: dict[str, float]) -> dict[str, int]:
    return {k: int(v) for k, v in values.items() if v}


def set_up(ws: Workspace, base_url: str, tmp_path: Path, prompts: int) -> None:
    ws.cli("profile", "add", "lab", "--kind", "openai-compatible", "--base-url", base_url,
           "--key-env", "SERVE_KEY", "--max-requests", "20")
    ws.cli("config", "set", "poll_interval_seconds", "0.2")
    ws.cli("config", "set", "auto_seal_quiet_seconds", "0")
    ws.cli("import", str(write_prompts(tmp_path / "prompts.jsonl", prompts)),
           "--profile", "lab", "--name", "first")


def test_health_and_metrics_tell_what_sql_counts(tmp_path: Path, sqlite_or_pg: Workspace,
                                                 sandbox_process: str,
                                                 serve: StartServe) -> None:
    ws = sqlite_or_pg
    set_up(ws, sandbox_process, tmp_path, 50)
    served = serve(ws)
    wait_until("driving", lambda: served.find(event="engine", state="driving"))
    health = served.health()
    assert health["status"] == "ok" and health["driving"] is True
    assert health["engine"] == "driving"
    assert health["driver"]["pid"] == served.proc.pid
    assert health["database"] == {"reachable": True, "error": None,
                                  "kind": "postgresql" if ws.url else "sqlite",
                                  "name": ws.url or str(ws.folder / "batcher.sqlite3")}
    status, content_type, _ = served.get("/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")

    def agrees() -> bool:
        # The engine moves on meanwhile: a scrape between two equal SQL counts must match.
        before = sql_truth(ws)
        found = metrics(served.get("/metrics")[2])
        if sql_truth(ws) != before:
            return False
        assert nonzero(found["batcher_prompts"]) == before[0]
        assert nonzero(found["batcher_batches"]) == before[1]
        return True

    wait_until("a scrape between two equal counts", agrees)
    wait_until("every prompt processed",
               lambda: sql_truth(ws)[0] == {"processed": 50}, timeout=120)
    wait_until("the last scrape", agrees)
    found = metrics(served.get("/metrics")[2])
    assert found["batcher_prompts"]["processed"] == 50
    assert found["batcher_batches"]["completed"] == 3  # 20 + 20 + 10
    assert found["batcher_runs"][""] == 1
    assert found["batcher_driving"][""] == 1 and found["batcher_database_up"][""] == 1
    assert found["batcher_errors_total"][""] == 0
    assert found["batcher_engine_state"] == {"idle": 0, "driving": 1, "waiting_for_driver": 0,
                                             "paused": 0, "stopped": 0}
    [(last_poll,)] = ws.query("SELECT max(polled_at) FROM batches")
    assert found["batcher_last_poll_timestamp_seconds"][""] == last_poll

    assert served.stop() == 0
    # Every stdout line was one JSON object with the four fields; batch events carry theirs.
    assert served.bad_lines == []
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in served.lines)
    completed = [line for line in served.lines
                 if line.get("event") == "batch" and line.get("state") == "completed"]
    assert len(completed) == 3 and all(isinstance(line["batch_id"], int) for line in completed)
    assert [line["event"] for line in served.lines[-3:]] == ["stopping", "engine", "stopped"]
    everything = "\n".join(map(str, served.lines)) + served.stderr
    assert KEY not in everything and "Traceback" not in everything


def test_sigterm_mid_flight_then_a_restart_finishes_with_no_duplicate(
        tmp_path: Path, sqlite_or_pg: Workspace, sandbox_process: str,
        serve: StartServe) -> None:
    ws = sqlite_or_pg
    set_up(ws, sandbox_process, tmp_path, 100)  # five batches of 20
    first = serve(ws)

    def in_flight_at_provider() -> bool:
        states = {s for (s,) in ws.query("SELECT state FROM batches "
                                         "WHERE provider_batch_id IS NOT NULL")}
        return bool(states & {"validating", "in_progress", "finalizing"})

    wait_until("batches at the provider", in_flight_at_provider)
    assert first.stop(signal.SIGTERM) == 0
    assert "Traceback" not in first.stderr and first.bad_lines == []
    assert first.find(event="stopped") is not None
    # Stopped mid-flight: work was left, and nobody drives any more.
    assert sql_truth(ws)[0].get("processed", 0) < 100
    assert ws.query("SELECT count(*) FROM engine_lease") == [(0,)]
    at_stop = {s for (s,) in ws.query("SELECT state FROM batches")}
    assert at_stop & IN_FLIGHT, at_stop

    second = serve(ws)
    wait_until("every prompt processed after the restart",
               lambda: sql_truth(ws)[0] == {"processed": 100}, timeout=180)
    wait_until("every batch completed and cleaned up",
               lambda: ws.query("SELECT count(*) FROM batches WHERE state != 'completed' "
                                "OR intent IS NOT NULL") == [(0,)], timeout=60)
    assert second.stop() == 0
    # One provider batch per local batch, each created once.
    local = dict(ws.query("SELECT uuid, provider_batch_id FROM batches"))
    remote = provider_batches(sandbox_process)
    assert len(local) == 5
    assert {b["metadata"]["batcher_batch"]: b["id"] for b in remote} == local
    assert len(remote) == len(local)
    assert ws.query("SELECT count(DISTINCT prompt_id) FROM prompt_transitions "
                    "WHERE to_state = 'processed'") == [(100,)]
    assert ws.query("SELECT count(*) FROM prompt_transitions "
                    "WHERE to_state = 'processed'") == [(100,)]


def test_a_second_serve_waits_while_the_first_drives_then_takes_over(
        tmp_path: Path, sqlite_or_pg: Workspace, serve: StartServe) -> None:
    ws = sqlite_or_pg
    first = serve(ws)
    wait_until("the first drives", lambda: first.find(event="engine", state="driving"))
    # On PostgreSQL the second is another machine: its own local folder.
    second = serve(ws, folder=tmp_path / "machine-b" if ws.url else None)
    waiting = wait_until("the second waits",
                         lambda: second.find(event="engine", state="waiting_for_driver"))
    assert f"process {first.proc.pid} on" in waiting["message"]
    health = second.health()
    assert health["status"] == "ok" and health["driving"] is False
    assert health["engine"] == "waiting_for_driver"
    assert health["driver"]["pid"] == first.proc.pid
    assert first.health()["driving"] is True
    assert second.find(event="engine", state="driving") is None

    assert first.stop() == 0
    wait_until("the second takes over",
               lambda: second.find(event="engine", state="driving"), timeout=30)
    health = second.health()
    assert health["driving"] is True and health["driver"]["pid"] == second.proc.pid
    assert second.stop() == 0
