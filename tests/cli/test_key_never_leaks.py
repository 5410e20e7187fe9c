"""An API key never reaches the database, settings, logs, batch/result files or exports."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

BATCHER = str(Path(sys.executable).with_name("batcher"))
SECRET = "sk-live-TOPSECRET-0123456789abcdef"


@pytest.fixture
def sandbox_url(tmp_path: Path) -> Iterator[str]:
    proc = subprocess.Popen(
        [BATCHER, "sandbox", "serve", "--port", "0", "--state-dir", str(tmp_path / "provider"),
         "--steps-per-poll", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "BATCHER_SANDBOX_TOKEN": SECRET})  # the one key it answers
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/v1)", line)
        assert match, line + (proc.stderr.read() if proc.stderr else "")
        yield match.group(1)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_key_from_environment_is_used_but_never_stored(tmp_path: Path, sandbox_url: str) -> None:
    ws = tmp_path / "ws"
    env = {**os.environ, "LEAKY_KEY": SECRET, "OPENAI_API_KEY": SECRET}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([BATCHER, "-v", "--data-dir", str(ws), *args], env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result

    prompts = tmp_path / "p.jsonl"
    prompts.write_text("\n".join(json.dumps(
        {"custom_id": f"k{i}", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "m", "messages": [{"role": "user", "content": "hi"}]}})
        for i in range(3)) + "\n")
    outputs = [
        run("profile", "add", "leaky", "--kind", "openai-compatible", "--base-url", sandbox_url,
            "--key-env", "LEAKY_KEY"),
        run("config", "set", "poll_interval_seconds", "0.1"),
        run("config", "set", "auto_seal_quiet_seconds", "0"),
        run("import", str(prompts), "--profile", "leaky"),
        run("sync", "--wait", "--timeout", "60"),
        run("status"),
        run("batches", "--json"),
        run("profile", "list"),
        run("export", "p", "--out", str(tmp_path / "out.jsonl")),
        run("export", "p", "--out", str(tmp_path / "out.csv")),
    ]
    # The key was really used: the batch went through the provider.
    status = json.loads(run("status", "--json").stdout)
    assert status["runs"][0]["by_state"] == {"processed": 3}

    for result in outputs:
        assert SECRET not in result.stdout and SECRET not in result.stderr
    for path in [*ws.rglob("*"), tmp_path / "out.jsonl", tmp_path / "out.csv"]:
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"key found in {path}"
    # Also not in the SQLite pages (WAL included) under any encoding we write.
    with (ws / "batcher.sqlite3").open("rb") as fh:
        assert b"TOPSECRET" not in fh.read()


# -- a provider that echoes the key it was given ------------------------------------------------
#: Keys of three profiles: an OpenAI project key, a legacy one, and one of no known shape
#: (only Batcher's registry of the keys it read can recognise it).
ECHOED_KEYS = {
    "s401": "sk-proj-ECHO401SECRET-AbCdEfGhIjKlMnOpQrStUv0123",
    "s400": "sk-ECHO400SECRET-0123456789abcdefghijKLMN",
    "s500": "zq9ECHO500SECRETxK7pLmN0rTuVw2yz",
    # A Claude profile: Anthropic's key shape, answered in Anthropic's error shape.
    "a401": "sk-ant-api03-ECHOCLAUDESECRET-0123456789abcdefghij",
}
SECRET_MARKERS = ("ECHO401SECRET", "ECHO400SECRET", "ECHO500SECRET", "ECHOCLAUDESECRET")


class EchoingProvider:
    """A loopback server that answers every call with an error quoting the Authorization
    header it received: 401 under ``/s401``, 400 under ``/s400``, 500 (plain text, raw key)
    under ``/s500``."""

    def __init__(self) -> None:
        self.url = ""
        self.calls = 0
        self.claude_calls = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _handle(self, request: web.Request) -> web.Response:
        self.calls += 1
        self.claude_calls += request.path.startswith("/a401/v1/messages/")
        auth = request.headers.get("Authorization", "")
        kind = request.path.split("/")[1]
        if kind == "a401":
            key = request.headers.get("x-api-key") or auth.removeprefix("Bearer ")
            return web.json_response({"type": "error", "error": {
                "type": "authentication_error",
                "message": f"invalid x-api-key: {key} (Authorization: {auth})"}}, status=401)
        if kind == "s401":
            return web.json_response({"error": {
                "message": f"Incorrect API key provided: {auth}.", "type": "invalid_request_error",
                "code": "invalid_api_key"}}, status=401)
        if kind == "s400":
            return web.json_response({"error": {
                "message": f"Bad request; we got headers Authorization: {auth}, "
                           f"api-key: {auth.removeprefix('Bearer ')}",
                "type": "invalid_request_error", "code": None}}, status=400)
        return web.Response(text=f"upstream proxy failed; credentials {auth.split()[-1]}",
                            status=500)

    async def _start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}"

    def __enter__(self) -> EchoingProvider:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()


def test_a_key_echoed_by_the_provider_is_never_stored_logged_or_shown(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    env = {k: v for k, v in os.environ.items()
           if k not in ("BATCHER_HOME", "DATABASE_URL", "OPENAI_API_KEY")}
    env.update({f"KEY_{name.upper()}": key for name, key in ECHOED_KEYS.items()},
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    outputs: list[subprocess.CompletedProcess[str]] = []

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([BATCHER, "-v", "--data-dir", str(ws), *args], env=env,
                                capture_output=True, text=True, timeout=120)
        outputs.append(result)
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    with EchoingProvider() as provider:
        run("config", "set", "poll_interval_seconds", "0.1")
        run("config", "set", "auto_seal_quiet_seconds", "0")
        for name in ECHOED_KEYS:
            claude = name.startswith("a")
            run("profile", "add", name, "--kind", "anthropic" if claude else "openai-compatible",
                "--base-url", f"{provider.url}/{name}/v1", "--key-env", f"KEY_{name.upper()}")
            prompts = tmp_path / f"{name}.jsonl"
            body: dict[str, object] = {
                "model": "m", "messages": [{"role": "user", "content": "hi"}]}
            if claude:
                body["max_tokens"] = 10
            prompts.write_text(json.dumps(
                {"custom_id": "a", "method": "POST",
                 "url": "/v1/messages" if claude else "/v1/chat/completions",
                 "body": body}) + "\n")
            run("import", str(prompts), "--profile", name)
        run("sync", "--wait", "--timeout", "8", ok=False)
        run("batches")
        batches = json.loads(run("batches", "--json").stdout)
        run("status")
        run("status", "--json")
        assert provider.calls >= 3

    # Each provider's answer reached the user, masked.
    problems = " ".join(str(b["problem"] or "") + str(b["error"] or "") for b in batches)
    assert "Incorrect API key provided" in problems and "sk-proj-…0123" in problems
    assert "upstream proxy failed" in problems
    # The Claude profile's answer, in Anthropic's shape, masked too.
    assert "invalid x-api-key: sk-ant-api03-…ghij" in problems, problems
    assert provider.claude_calls >= 1
    for result in outputs:
        for marker in SECRET_MARKERS:
            assert marker not in result.stdout and marker not in result.stderr, result.args
    for path in ws.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for marker in SECRET_MARKERS:
                assert marker.encode() not in data, f"{marker} found in {path}"
    assert (ws / "logs" / "batcher.log").read_text().count("Incorrect API key provided") >= 1


KEYRING_CHILD = """
import json, os, subprocess
args = json.loads(os.environ["ECHO_ARGS"])
outputs = []
for step in args["steps"]:
    result = subprocess.run([args["batcher"], "--data-dir", args["ws"], *step["argv"]],
                            input=step.get("stdin"), capture_output=True, text=True,
                            timeout=120)
    outputs.append({"argv": step["argv"], "rc": result.returncode, "out": result.stdout,
                    "err": result.stderr})
print("RESULT " + json.dumps(outputs))
"""


@pytest.mark.keyring
def test_a_keyring_key_of_no_known_shape_echoed_back_is_masked(tmp_path: Path) -> None:
    """The key lives only in the OS keyring and looks like nothing in particular: only the
    registry of keys Batcher read can recognise its echo."""
    from tests.real_keyring import run_with_keyring

    key = "kr7RINGSECRETq9Zx81mNp4Lw"
    ws = tmp_path / "ws"
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps(
        {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "m", "messages": [{"role": "user", "content": "hi"}]}}) + "\n")
    with EchoingProvider() as provider:
        steps = [
            {"argv": ["profile", "add", "echo", "--kind", "openai-compatible", "--base-url",
                      f"{provider.url}/s500/v1"]},
            {"argv": ["keys", "set", "echo"], "stdin": key + "\n"},
            {"argv": ["config", "set", "poll_interval_seconds", "0.1"]},
            {"argv": ["config", "set", "auto_seal_quiet_seconds", "0"]},
            {"argv": ["import", str(prompts), "--profile", "echo"]},
            {"argv": ["-v", "sync", "--wait", "--timeout", "6"]},
            {"argv": ["batches", "--json"]},
            {"argv": ["status"]},
        ]
        env = {"ECHO_ARGS": json.dumps({"batcher": BATCHER, "ws": str(ws), "steps": steps})}
        outputs, _home = run_with_keyring(tmp_path, KEYRING_CHILD, env=env, timeout=240)
        assert provider.calls >= 1
    assert outputs[1]["rc"] == 0, outputs[1]["err"]  # stored in the real keyring
    batches = json.loads(outputs[6]["out"])
    assert "upstream proxy failed; credentials …p4Lw" in batches[0]["problem"]
    for result in outputs:
        assert "RINGSECRET" not in result["out"] + result["err"], result["argv"]
    for path in ws.rglob("*"):
        if path.is_file():
            assert b"RINGSECRET" not in path.read_bytes(), f"key found in {path}"
