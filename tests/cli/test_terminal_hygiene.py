"""What the command line prints is safe for a terminal, names have a length, and pipes close.

Run names, file names and provider problems are shown with control, bidi and other invisible
format characters escaped (``\\x1b``, ``\\u202e``), never raw; ``--json`` stays exact. New run
names are capped and refuse such characters. A reader that closes the pipe early (``| head``)
ends the command quietly. ``sync --wait --timeout`` says what is actually waiting.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

from tests.cli.conftest import BATCHER, ENV, Cli, text_file

HOSTILE = "evil\x1b[31mred\u202etxt.exe\x9b\u2066x\x7f"
SHOWN = "evil\\x1b[31mred\\u202etxt.exe\\x9b\\u2066x\\x7f"
RAW = ("\x1b", "\u202e", "\x9b", "\u2066", "\x7f")


def _workspace_with_a_run(cli: Cli, tmp_path: Path) -> Path:
    cli.ok("import", str(text_file(tmp_path / "q.txt", ["one", "two"])), "--profile",
           "sandbox", "--model", "gpt-4o-mini")
    return cli.ws / "batcher.sqlite3"


def _sql(db: Path, statement: str, *values: object) -> None:
    # As an older version, or another program, may have left it: not through Batcher's rules.
    with sqlite3.connect(db) as conn:
        conn.execute(statement, values)
    conn.close()


def test_status_and_batches_show_hostile_text_escaped(cli: Cli, tmp_path: Path) -> None:
    db = _workspace_with_a_run(cli, tmp_path)
    _sql(db, "UPDATE runs SET name = ?", HOSTILE)
    _sql(db, "UPDATE batches SET problem = ?", "provider says \x1b]0;owned\x07 \u200fhi\u061c")

    status = cli.ok("status")
    assert SHOWN in status.stdout
    assert not any(c in status.stdout + status.stderr for c in RAW)
    batches = cli.ok("batches").stdout
    assert "provider says \\x1b]0;owned\\x07 \\u200fhi\\u061c" in batches
    assert "\x1b" not in batches and "\x07" not in batches and "\u200f" not in batches
    # --json stays exact JSON: the same name back, byte for byte once parsed.
    (run,) = json.loads(cli.ok("status", "--json").stdout)["runs"]
    assert run["name"] == HOSTILE
    (batch,) = json.loads(cli.ok("batches", "--json").stdout)
    assert batch["problem"].startswith("provider says \x1b]0;owned\x07")


def test_error_messages_escape_file_names(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "gone\x1b[2J\u202e.jsonl"
    result = cli("import", str(missing))
    assert result.returncode != 0
    assert "gone\\x1b[2J\\u202e.jsonl" in result.stderr
    assert "\x1b" not in result.stderr and "\u202e" not in result.stderr


def test_a_file_name_with_control_characters_gives_a_clean_run_name(cli: Cli,
                                                                    tmp_path: Path) -> None:
    hostile = text_file(tmp_path / "news\x1b[31m\u202eq.txt", ["one"])
    out = cli.ok("import", str(hostile), "--profile", "sandbox", "--model", "gpt-4o-mini").stdout
    assert "\x1b" not in out and "\u202e" not in out
    (run,) = json.loads(cli.ok("status", "--json").stdout)["runs"]
    assert run["name"] == "news[31mq"


def test_a_5000_character_run_name_is_refused(cli: Cli, tmp_path: Path) -> None:
    prompts = text_file(tmp_path / "q.txt", ["one"])
    base = ("import", str(prompts), "--profile", "sandbox", "--model", "gpt-4o-mini")
    long = cli(*base, "--name", "x" * 5000)
    assert long.returncode == 2, long.stderr
    assert "at most 200 characters" in long.stderr and "5,000" in long.stderr
    assert "Traceback" not in long.stderr
    control = cli(*base, "--name", "a\x1b[31mb")
    assert control.returncode == 2 and "control" in control.stderr
    assert "\\x1b" in control.stderr and "\x1b" not in control.stderr
    assert cli(*base, "--name", "   ").returncode == 2
    assert "No runs yet" in cli.ok("status").stdout  # nothing was imported

    cli.ok(*base, "--name", "  " + "y" * 200 + "  ")  # trimmed: exactly 200 is fine
    (run,) = json.loads(cli.ok("status", "--json").stdout)["runs"]
    assert run["name"] == "y" * 200


def test_a_long_file_name_gives_a_capped_run_name(cli: Cli, tmp_path: Path) -> None:
    prompts = text_file(tmp_path / ("n" * 240 + ".txt"), ["one"])
    cli.ok("import", str(prompts), "--profile", "sandbox", "--model", "gpt-4o-mini")
    (run,) = json.loads(cli.ok("status", "--json").stdout)["runs"]
    assert run["name"] == "n" * 200


def _into_closed_pipe(cli: Cli, *args: str) -> subprocess.CompletedProcess[str]:
    """Run with stdout a real pipe whose reader has already gone (like ``| head -1``)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([BATCHER, "--data-dir", str(cli.ws), *args], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, env=ENV, timeout=180)
    finally:
        os.close(write_end)


def test_a_closed_pipe_ends_the_command_quietly(cli: Cli, tmp_path: Path) -> None:
    _workspace_with_a_run(cli, tmp_path)
    for args in (("status",), ("status", "--json"), ("batches",), ("profile", "list")):
        result = _into_closed_pipe(cli, *args)
        assert (result.returncode, result.stderr) == (141, ""), args


def test_status_piped_into_head(cli: Cli, tmp_path: Path) -> None:
    _workspace_with_a_run(cli, tmp_path)
    # 3,000 runs: far more output than a pipe holds, so `head` leaves while status writes.
    _sql(cli.ws / "batcher.sqlite3",
         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
         "INSERT INTO runs (name, source_format, profile_id, created_at, status) "
         "SELECT 'copy ' || i, source_format, profile_id, created_at, status FROM runs, n "
         "WHERE runs.id = 1")
    shell = subprocess.run(
        ["bash", "-c", 'set -o pipefail; "$0" --data-dir "$1" status | head -1', BATCHER,
         str(cli.ws)], capture_output=True, text=True, env=ENV, timeout=180)
    assert shell.stdout.startswith("Workspace: ")
    assert shell.stderr == ""
    assert shell.returncode in (0, 141)


def test_sync_wait_with_only_drafts_says_what_waits(cli: Cli, tmp_path: Path) -> None:
    _workspace_with_a_run(cli, tmp_path)
    waited = cli("sync", "--wait", "--timeout", "2")
    assert waited.returncode == 1
    said = waited.stdout + waited.stderr
    assert "nothing in flight" not in said.lower() and "still in flight" not in said.lower()
    assert "1 draft batch" in said and "#1" in said and "not sent yet" in said
    assert "batcher submit" in said and "10 min" in said

    once = cli.ok("sync")  # one pass: says the draft waits, not just "nothing in flight"
    said = once.stdout + once.stderr
    assert "1 draft batch not sent yet" in said and "batcher submit" in said

    cli.ok("config", "set", "auto_seal_quiet_seconds", "3600")  # what import says follows
    again = cli.ok("import", str(text_file(tmp_path / "r.txt", ["three"])), "--profile",
                   "sandbox", "--model", "gpt-4o-mini").stdout
    assert "once no prompt has joined them for 60 min" in again

    cli.ok("config", "set", "auto_seal_quiet_seconds", "0")
    assert cli("sync", "--wait", "--timeout", "120").returncode == 0


def test_ctrl_c_in_a_terminal_stops_sync_and_its_sandbox_quietly(cli: Cli,
                                                                  tmp_path: Path) -> None:
    """A terminal's Ctrl-C reaches the whole process group, the built-in sandbox's process
    too: only the command speaks, without a traceback, and the sandbox ends with it."""
    import signal
    import time

    cli.ok("import", str(text_file(tmp_path / "q.txt", ["one", "two"])), "--profile",
           "sandbox-claude", "--model", "claude-haiku-4-5")
    cli.ok("submit")
    proc = subprocess.Popen([BATCHER, "--data-dir", str(cli.ws), "sync", "--wait"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=ENV, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the sandbox has the batch (so it runs)
        with sqlite3.connect(cli.ws / "batcher.sqlite3") as db:
            sent = db.execute("SELECT count(*) FROM batches WHERE provider_batch_id IS NOT NULL"
                              ).fetchone()[0]
        if sent or proc.poll() is not None:
            break
        time.sleep(0.1)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in out + err, (out, err)
    assert "Traceback" not in out + err, err
    assert "KeyboardInterrupt" not in err
