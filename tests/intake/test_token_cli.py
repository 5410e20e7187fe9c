"""``batcher intake token create|list|revoke`` as a user meets it: the token printed once,
never listed, only its hash stored; mistakes get a clear message and no traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson

from batcher_gui.app.intake import hash_token
from batcher_gui.storage import open_store
from tests.intake.test_serve_sigterm import ENV, _batcher


def _run(ws: Path, backend: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_batcher(ws, backend, "intake", "token", *args), capture_output=True,
                          text=True, env=ENV, timeout=120)


def test_token_commands(tmp_path: Path, backend: str | None) -> None:
    ws = tmp_path / "ws"
    made = _run(ws, backend, "create", "nightly")
    assert made.returncode == 0, made.stderr
    token = made.stdout.splitlines()[1]
    assert token.startswith("btk_") and len(token) > 40
    listed = _run(ws, backend, "list", "--json")
    rows = orjson.loads(listed.stdout)
    assert [r["name"] for r in rows] == ["nightly"] and token not in listed.stdout
    assert rows[0]["revoked_at"] is None
    again = _run(ws, backend, "create", "nightly")
    assert again.returncode == 1 and "already exists" in again.stderr
    assert "Traceback" not in again.stderr
    assert _run(ws, backend, "revoke", "nightly").returncode == 0
    assert orjson.loads(_run(ws, backend, "list", "--json").stdout)[0]["revoked_at"]
    missing = _run(ws, backend, "revoke", "nobody")
    assert missing.returncode == 1 and "no intake token named 'nobody'" in missing.stderr
    blank = _run(ws, backend, "create", " ")
    assert blank.returncode == 2 and "1 to 100 printable" in blank.stderr
    store = open_store(ws / "batcher.sqlite3", backend)
    try:
        with store.db.read() as conn:
            stored = conn.exec_driver_sql("SELECT token_hash FROM intake_tokens").scalars().all()
    finally:
        store.db.close()
    assert stored == [hash_token(token)]
