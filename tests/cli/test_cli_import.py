"""The `batcher` CLI as a real subprocess against a temporary workspace."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BATCHER = str(Path(sys.executable).with_name("batcher"))


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("BATCHER_HOME", "DATABASE_URL", "OPENAI_API_KEY")}
    full_env.update(env or {})
    return subprocess.run([BATCHER, *args], capture_output=True, text=True, env=full_env,
                          input=stdin, timeout=120)


def chat_line(cid: str, text: str, model: str = "gpt-4o-mini") -> str:
    return json.dumps({"custom_id": cid, "method": "POST", "url": "/v1/chat/completions",
                       "body": {"model": model, "messages": [{"role": "user", "content": text}]}})


@pytest.fixture
def jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.jsonl"
    path.write_text("\n".join(chat_line(f"req-{i}", f"question {i}") for i in range(7)) + "\n")
    return path


def test_import_status_export_round_trip(tmp_path: Path, jsonl: Path) -> None:
    ws = str(tmp_path / "ws")
    result = run("--data-dir", ws, "import", str(jsonl))
    assert result.returncode == 0, result.stderr
    assert "Imported 7 prompts as run #1 'prompts' into 1 draft batch: #1\n" in result.stdout

    status = run("status", "--json", "--data-dir", ws)
    assert status.returncode == 0, status.stderr
    payload = json.loads(status.stdout)
    assert payload["runs"][0]["by_state"] == {"pending": 7}
    assert payload["batches"] == {"draft": 1}

    out = tmp_path / "out.jsonl"
    exported = run("--data-dir", ws, "export", "prompts", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["custom_id"] for x in lines] == [f"req-{i}" for i in range(7)]
    assert lines[3]["request"]["body"]["messages"][0]["content"] == "question 3"
    assert lines[0]["state"] == "pending" and lines[0]["response"] is None

    out_csv = tmp_path / "out.csv"
    assert run("--data-dir", ws, "export", "1", "--out", str(out_csv)).returncode == 0
    rows = list(csv.DictReader(out_csv.read_text(encoding="utf-8").splitlines()))
    assert len(rows) == 7 and rows[6]["custom_id"] == "req-6"
    assert json.loads(rows[0]["request_body"])["model"] == "gpt-4o-mini"


def test_invalid_file_exits_2_names_line_and_field_and_changes_nothing(
    tmp_path: Path, jsonl: Path
) -> None:
    ws = str(tmp_path / "ws")
    bad = tmp_path / "bad.jsonl"
    good = chat_line("a", "fine")
    bad.write_text(good + "\n" + good.replace('"POST"', '"GET"').replace('"a"', '"b"') + "\n")
    result = run("--data-dir", ws, "import", str(bad))
    assert result.returncode == 2
    assert "bad.jsonl, line 2, field 'method'" in result.stderr
    assert "nothing was imported" in result.stderr
    status = json.loads(run("--data-dir", ws, "status", "--json").stdout)
    assert status["runs"] == [] and status["batches"] == {}


def test_valid_only_imports_the_rest_and_reports(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(chat_line("a", "x") + "\n{broken\n" + chat_line("c", "y") + "\n")
    result = run("--data-dir", ws, "import", str(mixed), "--valid-only")
    assert result.returncode == 0, result.stderr
    assert "Imported 2 prompts as run #1" in result.stdout
    assert "Skipped 1 invalid line:" in result.stderr and "line 2" in result.stderr


def test_same_file_twice_makes_two_runs(tmp_path: Path, jsonl: Path) -> None:
    ws = str(tmp_path / "ws")
    assert run("--data-dir", ws, "import", str(jsonl)).returncode == 0
    second = run("--data-dir", ws, "import", str(jsonl), "--model", "gpt-4.1-mini")
    assert second.returncode == 0, second.stderr
    assert "run #2 'prompts (2)'" in second.stdout
    payload = json.loads(run("--data-dir", ws, "status", "--json").stdout)
    assert [r["prompts"] for r in payload["runs"]] == [7, 7]
    # Different model: a second draft batch.
    assert payload["batches"] == {"draft": 2}


def test_csv_template_and_text_imports(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    table = tmp_path / "reviews.csv"
    table.write_text('review_id,review\nr1,"Great, loved it"\nr2,Awful\n', encoding="utf-8")
    result = run("--data-dir", ws, "import", str(table), "--model", "gpt-4o-mini",
                 "--template", "Sentiment of: {review}", "--id-column", "review_id",
                 "--system", "One word.")
    assert result.returncode == 0, result.stderr
    text = tmp_path / "q.txt"
    text.write_text("first\n\nsecond\n")
    result = run("--data-dir", ws, "import", str(text), "--model", "text-embedding-3-small",
                 "--endpoint", "embeddings")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "o.jsonl"
    assert run("--data-dir", ws, "export", "reviews", "--out", str(out)).returncode == 0
    first = json.loads(out.read_text().splitlines()[0])
    assert first["custom_id"] == "r1"
    assert first["request"]["body"]["messages"] == [
        {"role": "system", "content": "One word."},
        {"role": "user", "content": "Sentiment of: Great, loved it"},
    ]
    out2 = tmp_path / "o2.jsonl"
    assert run("--data-dir", ws, "export", "q", "--out", str(out2)).returncode == 0
    bodies = [json.loads(x)["request"]["body"] for x in out2.read_text().splitlines()]
    assert bodies == [{"model": "text-embedding-3-small", "input": "first"},
                      {"model": "text-embedding-3-small", "input": "second"}]


def test_workspace_from_environment(tmp_path: Path, jsonl: Path) -> None:
    home = tmp_path / "home"
    assert run("import", str(jsonl), env={"BATCHER_HOME": str(home)}).returncode == 0
    assert (home / "batcher.sqlite3").exists() and (home / "batches").is_dir()
    db = tmp_path / "legacy" / "db.sqlite3"
    db.parent.mkdir()
    result = run("status", env={"DATABASE_URL": f"sqlite:///{db}"})
    assert result.returncode == 0, result.stderr
    assert db.exists()


def test_problems_are_explained_with_exit_codes(tmp_path: Path, jsonl: Path) -> None:
    ws = str(tmp_path / "ws")
    missing = run("--data-dir", ws, "import", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "nope.jsonl" in missing.stderr
    no_run = run("--data-dir", ws, "export", "ghost", "--out", str(tmp_path / "x.jsonl"))
    assert no_run.returncode == 1 and "no run named or numbered 'ghost'" in no_run.stderr
    bad_endpoint = run("--data-dir", ws, "import", str(jsonl), "--endpoint", "chatty")
    assert bad_endpoint.returncode == 2 and "not supported" in bad_endpoint.stderr
    usage = run("--data-dir", ws, "frobnicate")
    assert usage.returncode == 2


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "batcher_gui.cli", "--data-dir",
                             str(tmp_path / "ws"), "status"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "No runs yet" in result.stdout


def test_sync_without_a_key_says_how_to_add_one_and_sends_nothing(tmp_path: Path,
                                                                  jsonl: Path) -> None:
    ws = str(tmp_path / "ws")
    env = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    assert run("--data-dir", ws, "import", str(jsonl)).returncode == 0
    assert run("--data-dir", ws, "submit").returncode == 0
    once = run("--data-dir", ws, "sync", env=env)
    assert once.returncode == 1
    assert "batcher keys set openai" in once.stderr and "OPENAI_API_KEY" in once.stderr
    waited = run("--data-dir", ws, "sync", "--wait", "--timeout", "60", env=env)
    assert waited.returncode == 1 and "waiting for you" in waited.stderr
    batches = json.loads(run("--data-dir", ws, "batches", "--json").stdout)
    assert [b["state"] for b in batches] == ["ready_for_upload"]
