"""Which database the CLI opens from the environment: BATCHER_DATABASE_URL before
DATABASE_URL, another program's database refused untouched, never a password printed."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from tests.cli.conftest import BATCHER, ENV


def batcher(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BATCHER, *args], capture_output=True, text=True,
                          env={**ENV, **env}, timeout=120)


def other_programs_database(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")  # even a read-only open may leave files beside it
    with conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
        conn.execute("INSERT INTO users (email) VALUES ('a@example.com')")
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)")
    conn.close()
    return path.read_bytes()


def test_another_programs_database_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    db = tmp_path / "otherapp" / "app.db"
    before = other_programs_database(db)
    for args in (("status",), ("-v", "import", str(tmp_path / "missing.jsonl")), ("batches",)):
        result = batcher(*args, env={"DATABASE_URL": f"sqlite:///{db}"})
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert "belongs to another program" in result.stderr
        assert "orders, users" in result.stderr and "DATABASE_URL" in result.stderr
        assert "BATCHER_DATABASE_URL" in result.stderr  # what to do instead
    assert db.read_bytes() == before
    assert sorted(p.name for p in db.parent.iterdir()) == ["app.db"]  # no folders, no WAL


def test_a_password_in_the_url_is_never_printed(tmp_path: Path) -> None:
    for variable in ("DATABASE_URL", "BATCHER_DATABASE_URL"):
        url = "postgres://batchuser:hunter2-Secret-pw@db.example.com:5432/app"
        result = batcher("-v", "status", env={variable: url})
        assert result.returncode == 1
        assert "hunter2" not in result.stdout + result.stderr
        assert "postgres://batchuser:***@db.example.com:5432/app" in result.stderr
        assert variable in result.stderr


def test_batcher_database_url_is_preferred_over_database_url(tmp_path: Path) -> None:
    foreign = tmp_path / "otherapp" / "app.db"
    before = other_programs_database(foreign)
    ours = tmp_path / "mine" / "batcher.sqlite3"
    ours.parent.mkdir()
    env = {"DATABASE_URL": f"sqlite:///{foreign}", "BATCHER_DATABASE_URL": f"sqlite:///{ours}"}
    result = batcher("status", env=env)
    assert result.returncode == 0, result.stderr
    assert ours.exists() and (ours.parent / "batches").is_dir()
    assert foreign.read_bytes() == before
    # BATCHER_HOME comes before both.
    home = tmp_path / "home"
    assert batcher("status", env={**env, "BATCHER_HOME": str(home)}).returncode == 0
    assert (home / "batcher.sqlite3").exists()


def test_a_url_naming_a_folder_or_a_non_database_is_explained(tmp_path: Path) -> None:
    folder = tmp_path / "data.db"
    folder.mkdir()
    text = tmp_path / "notes.db"
    text.write_text("hello\n")
    for path, said in ((folder, "is a folder, not a database file"),
                       (text, "file is not a database")):
        result = batcher("status", env={"BATCHER_DATABASE_URL": f"sqlite:///{path}"})
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert said in result.stderr, result.stderr
    assert text.read_text() == "hello\n" and not any(folder.iterdir())
