"""SIGTERM to ``batcher serve --intake`` while scripts post: every request it acknowledged
(202) is in the workspace afterwards, and the process stops cleanly (exit 0)."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import orjson

from batcher_gui.storage import open_store
from tests.intake.conftest import jsonl, line

BATCHER = str(Path(sys.executable).with_name("batcher"))
ENV = {k: v for k, v in os.environ.items()
       if k not in ("BATCHER_HOME", "BATCHER_DATABASE_URL", "DATABASE_URL", "OPENAI_API_KEY")}
ENV["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"


def _batcher(ws: Path, backend: str | None, *args: str) -> list[str]:
    database = [] if backend is None else ["--database", backend]
    return [BATCHER, "--data-dir", str(ws), *database, *args]


def test_sigterm_during_intake_loses_nothing_acknowledged(tmp_path: Path,
                                                          backend: str | None) -> None:
    ws = tmp_path / "ws"
    made = subprocess.run(_batcher(ws, backend, "intake", "token", "create", "load", "--json"),
                          capture_output=True, text=True, env=ENV, timeout=120, check=True)
    token = orjson.loads(made.stdout)["token"]
    proc = subprocess.Popen(
        _batcher(ws, backend, "serve", "--listen", "127.0.0.1:0", "--intake", "127.0.0.1:0"),
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = None
        assert proc.stdout is not None
        for text in proc.stdout:
            event = orjson.loads(text)
            if event.get("event") == "intake_listening":
                url = event["url"]
                break
        assert url is not None, proc.stderr.read() if proc.stderr else ""
        acked = asyncio.run(_post_until_gone(url, token, proc))
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert len(acked) >= 50
    store = open_store(ws / "batcher.sqlite3", backend)
    try:
        with store.db.read() as conn:
            stored = set(conn.exec_driver_sql(
                "SELECT ir.custom_id FROM intake_requests ir "
                "JOIN prompts p ON p.id = ir.prompt_id").scalars())
    finally:
        store.db.close()
    assert acked <= stored, sorted(acked - stored)[:10]


async def _post_until_gone(url: str, token: str, proc: subprocess.Popen[str]) -> set[str]:
    """Post from several clients; SIGTERM the server once some are acknowledged; go on until
    it stops answering. Returns the custom_ids it acknowledged."""
    acked: set[str] = set()
    gone = asyncio.Event()
    headers = {"Authorization": f"Bearer {token}", "X-Batcher-Profile": "sandbox"}

    async def single(client: aiohttp.ClientSession, worker: int) -> None:
        k = 0
        while not gone.is_set():
            cid = f"s{worker}-{k}"
            k += 1
            try:
                async with client.post("/api/requests", data=orjson.dumps(line(cid))) as r:
                    assert r.status in (202, 429), (r.status, await r.text())
                    if r.status == 202:
                        acked.add(cid)
            except (aiohttp.ClientError, ConnectionError):
                gone.set()

    async def bulk(client: aiohttp.ClientSession) -> None:
        k = 0
        while not gone.is_set():
            ids = [f"b{k}-{i}" for i in range(500)]
            k += 1
            try:
                async with client.post("/api/requests/bulk",
                                       data=io.BytesIO(jsonl(line(c) for c in ids)),
                                       headers={"Content-Type": "application/x-ndjson"}) as r:
                    assert r.status in (202, 429), (r.status, await r.text())
                    if r.status == 202:
                        acked.update(ids)
            except (aiohttp.ClientError, ConnectionError):
                gone.set()

    async def terminate() -> None:
        while len(acked) < 1000 and not gone.is_set():
            await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGTERM)

    async with aiohttp.ClientSession(base_url=url, headers=headers) as client:
        await asyncio.gather(terminate(), bulk(client), *(single(client, w) for w in range(4)))
    return acked
