"""The sandbox answers only its token: every route, its own stats route included.

Another local program could otherwise list and download the prompts, move batches along or
delete an output file (Batcher then sent every prompt again).
"""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import aiohttp
import openai
import pytest
from openai import AsyncOpenAI

from batcher_gui.sandbox import SandboxConfig, SandboxServer

from .helpers import Runner, chat_file, make_client, submit

#: One request per route group: (method, path template); {file} and {batch} are filled in.
ROUTES = [
    ("GET", "/files"),
    ("POST", "/files"),
    ("GET", "/files/{file}"),
    ("GET", "/files/{file}/content"),
    ("DELETE", "/files/{file}"),
    ("GET", "/batches"),
    ("POST", "/batches"),
    ("GET", "/batches/{batch}"),
    ("POST", "/batches/{batch}/cancel"),
    ("GET", "/sandbox/stats"),
    ("GET", "/no-such-route"),
]
WRONG = {
    "no header": {},
    "empty bearer": {"Authorization": "Bearer "},
    "wrong token": {"Authorization": "Bearer sk-guessed-0123456789"},
    "token's prefix": None,  # filled in per server: all but the last character
    "basic auth": None,  # the right token under another scheme
}


def _wrong_headers(token: str) -> dict[str, dict[str, str]]:
    headers = dict(WRONG)
    headers["token's prefix"] = {"Authorization": f"Bearer {token[:-1]}"}
    headers["basic auth"] = {"Authorization": f"Basic {token}"}
    return {name: value for name, value in headers.items() if value is not None}


def test_every_route_refuses_a_missing_or_wrong_token(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        batch = await submit(client, chat_file(2))
        ids = {"file": batch.input_file_id, "batch": batch.id}
        before = server.stats()
        async with aiohttp.ClientSession() as http:
            for method, template in ROUTES:
                url = server.base_url + template.format(**ids)
                for name, headers in _wrong_headers(server.token).items():
                    async with http.request(method, url, headers=headers) as resp:
                        body = await resp.json()
                        assert resp.status == 401, (method, template, name, body)
                    error = body["error"]
                    assert set(error) == {"message", "type", "param", "code"}
                    assert "sandbox refused the key" in error["message"]
                    assert server.token not in error["message"]
        after = server.stats()
        # Nothing was read, created, moved along or deleted by the refused requests.
        for counter in ("files_created", "files_deleted", "batches_created", "live_files"):
            assert after[counter] == before[counter], counter
        assert after["requests"] == before["requests"]
        assert (await client.files.retrieve(batch.input_file_id)).id == batch.input_file_id

    run(scenario, SandboxConfig(steps_per_poll=0))


def test_the_right_token_reaches_every_route(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        batch = await submit(client, chat_file(2))
        ids = {"file": batch.input_file_id, "batch": batch.id}
        headers = {"Authorization": f"Bearer {server.token}"}
        seen: dict[str, int] = {}
        async with aiohttp.ClientSession(headers=headers) as http:
            for method, template in ROUTES:
                if method == "POST" and template in ("/files", "/batches"):
                    continue  # creating needs a body: done above through the SDK
                url = server.base_url + template.format(**ids)
                async with http.request(method, url) as resp:
                    seen[f"{method} {template}"] = resp.status
        assert seen.pop("GET /no-such-route") == 404
        assert set(seen.values()) == {200}, seen

    run(scenario, SandboxConfig(steps_per_poll=0))


def test_the_sdk_raises_authentication_error_without_retrying(tmp_path: Path) -> None:
    async def main() -> None:
        async with SandboxServer(tmp_path / "state") as server:
            async with AsyncOpenAI(api_key="sandbox", base_url=server.base_url,
                                   max_retries=3) as client:
                with pytest.raises(openai.AuthenticationError) as refused:
                    await client.batches.list()
                assert refused.value.status_code == 401
                assert refused.value.code == "invalid_api_key"
            # One request: a 401 is not retried by the SDK.
            assert server.stats()["requests"] == {}

    asyncio.run(main())


def test_tokens_are_random_per_server_and_given_ones_are_kept(tmp_path: Path) -> None:
    first, second = SandboxServer(tmp_path / "a"), SandboxServer(tmp_path / "b")
    assert first.token != second.token and len(first.token) >= 40
    assert SandboxServer(tmp_path / "c", token="chosen").token == "chosen"


def test_configured_keys_are_accepted_beside_the_token(tmp_path: Path) -> None:
    async def main() -> None:
        config = SandboxConfig(api_keys=("sk-provider-key",))
        async with SandboxServer(tmp_path / "state", config) as server:
            for key in ("sk-provider-key", server.token):
                async with AsyncOpenAI(api_key=key, base_url=server.base_url,
                                       max_retries=0) as client:
                    assert (await client.batches.list()).data == []

    asyncio.run(main())


def test_state_files_and_folders_are_owner_only(run: Runner, tmp_path: Path) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        batch = await submit(client, chat_file(3))
        assert batch.status == "completed" and batch.output_file_id

    run(scenario, SandboxConfig(instant=True))
    state = tmp_path / "state"
    _assert_private(state)


def test_an_older_loose_state_folder_is_tightened(tmp_path: Path) -> None:
    state = tmp_path / "state"

    async def make(token: str) -> str:
        async with SandboxServer(state, SandboxConfig(instant=True), token=token) as server:
            async with make_client(server) as client:
                batch = await submit(client, chat_file(2))
                return batch.id

    batch_id = asyncio.run(make("first"))
    for path in [state, *state.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)  # as an older version left it

    async def reopen() -> str:
        # A new token (Batcher started again) still serves the state made before.
        async with SandboxServer(state, token="second") as server:
            async with make_client(server) as client:
                return (await client.batches.retrieve(batch_id)).status

    assert asyncio.run(reopen()) == "completed"
    _assert_private(state)


def _assert_private(state: Path) -> None:
    paths = [state, *state.rglob("*")]
    assert any(p.suffix == ".data" for p in paths) and any(p.suffix == ".json" for p in paths)
    loose = {str(p.relative_to(state.parent)): oct(stat.S_IMODE(p.stat().st_mode))
             for p in paths
             if stat.S_IMODE(p.stat().st_mode) != (0o700 if p.is_dir() else 0o600)}
    assert loose == {}


def _serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
           ) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "batcher_gui.sandbox", "--port", "0", "--instant",
               "--state-dir", str(tmp_path / "state"), *args]
    environment = {k: v for k, v in os.environ.items() if k != "BATCHER_SANDBOX_TOKEN"}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**environment, "NO_PROXY": "127.0.0.1,localhost", **(env or {})})


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    return out


def _listing_status(base_url: str, key: str) -> int:
    async def main() -> int:
        headers = {"Authorization": f"Bearer {key}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            async with http.get(f"{base_url}/sandbox/stats") as resp:
                return resp.status

    return asyncio.run(main())


def _base_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line.startswith("Sandbox listening on http://127.0.0.1:"), line
    return line.removeprefix("Sandbox listening on ")


def test_standalone_takes_its_token_from_the_environment(tmp_path: Path) -> None:
    proc = _serve(tmp_path, env={"BATCHER_SANDBOX_TOKEN": "tok-from-env"})
    try:
        url = _base_url(proc)
        assert _listing_status(url, "tok-from-env") == 200
        assert _listing_status(url, "tok-other") == 401
    finally:
        out = _stop(proc)
    assert "tok-from-env" not in out  # the caller's own token is not echoed


def test_standalone_writes_a_made_up_token_to_an_owner_only_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("stale\n")  # replaced, never reused
    proc = _serve(tmp_path, "--token-file", str(token_file))
    try:
        url = _base_url(proc)
        token = token_file.read_text().strip()
        assert token != "stale" and len(token) >= 40
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert _listing_status(url, token) == 200
        assert _listing_status(url, "stale") == 401
    finally:
        out = _stop(proc)
    assert token not in out


def test_standalone_prints_a_made_up_token(tmp_path: Path) -> None:
    proc = _serve(tmp_path)
    try:
        url = _base_url(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        prefix = "Sandbox token (use it as the API key): "
        assert line.startswith(prefix), line
        assert _listing_status(url, line.removeprefix(prefix)) == 200
        assert _listing_status(url, "anything") == 401
    finally:
        _stop(proc)
