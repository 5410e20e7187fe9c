"""The command line (argument parsing and `python -m`), and a 50,000-line batch."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai import AsyncOpenAI

from batcher_gui.sandbox import FaultSpec, SandboxConfig, SandboxServer, add_arguments
from batcher_gui.sandbox import config_from_args as build

from .helpers import Runner, jsonl, request, submit


def _parse(*argv: str) -> SandboxConfig:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return build(parser.parse_args(argv))


def test_config_from_args_maps_every_flag() -> None:
    config = _parse(
        "--steps-per-poll", "2", "--step-seconds", "1.5", "--instant", "--error-rate", "0.1",
        "--fail-batch", "token_limit_exceeded", "--token-limit-failures", "3",
        "--outcome", "expire", "--partial-fraction", "0.25", "--seed", "9",
        "--fault", "batches.create=0.5:500,drop_after:2", "--fault", "*=0.1:429",
        "--fault-after-apply", "--no-expired-error-lines",
    )  # fmt: skip
    assert (config.steps_per_poll, config.step_seconds, config.instant) == (2, 1.5, True)
    assert (config.request_error_rate, config.batch_failure) == (0.1, "token_limit_exceeded")
    assert (config.token_limit_failures, config.outcome, config.partial_fraction) == (
        3,
        "expire",
        0.25,
    )
    assert config.faults == {
        "batches.create": FaultSpec(0.5, ("500", "drop_after"), max_count=2),
        "*": FaultSpec(0.1, ("429",)),
    }
    assert config.fault_after_apply and not config.expired_error_lines and config.seed == 9
    assert _parse() == SandboxConfig()


def test_anthropic_flags() -> None:
    config = _parse("--queue-limit", "7", "--not-found-reads", "2",
                    "--archive-after-seconds", "0", "--fault", "messages.batches.create=1:529")
    assert (config.queue_limit, config.not_found_reads, config.archive_after_seconds) == (7, 2, 0)
    assert config.faults == {"messages.batches.create": FaultSpec(1.0, ("529",))}
    with pytest.raises(ValueError, match="queue_limit"):
        _parse("--queue-limit", "-1")


@pytest.mark.parametrize(
    "bad", ["files.list", "files.list=2:500", "files.list=0.5:boom", "x=1:500"]
)
def test_bad_fault_flags_are_rejected(bad: str) -> None:
    with pytest.raises((SystemExit, ValueError)):
        _parse("--fault", bad)


def test_python_dash_m_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    command = [sys.executable, "-m", "batcher_gui.sandbox", "--port", "0", "--instant",
               "--state-dir", str(tmp_path / "state")]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        assert line.startswith("Sandbox listening on http://127.0.0.1:") and line.endswith("/v1")
        base_url = line.removeprefix("Sandbox listening on ")
        token = proc.stdout.readline().decode().strip().rsplit(" ", 1)[1]  # made up, shown

        async def talk() -> int:
            async with AsyncOpenAI(
                api_key=token, base_url=base_url, max_retries=0, _strict_response_validation=True
            ) as client:
                batch = await submit(client, jsonl([request("/v1/embeddings", "a", "x")]),
                                     "/v1/embeddings")  # fmt: skip
                assert batch.status == "completed"
                return len((await client.files.list()).data)

        assert asyncio.run(talk()) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert list((tmp_path / "state" / "batches").glob("*.json"))


def test_fifty_thousand_requests_stream_fast(run: Runner, tmp_path: Path) -> None:
    rows = [request("/v1/chat/completions", f"r{i}", f"Prompt {i} " * 8) for i in range(50_000)]

    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> float:
        started = time.perf_counter()
        batch = await submit(client, jsonl(rows))
        assert batch.status == "completed" and batch.output_file_id is not None
        async with client.files.with_streaming_response.content(batch.output_file_id) as resp:
            await resp.stream_to_file(tmp_path / "out.jsonl")
        elapsed = time.perf_counter() - started
        with open(tmp_path / "out.jsonl", "rb") as fh:
            assert sum(1 for _ in fh) == 50_000
        return elapsed

    elapsed = run(scenario, SandboxConfig(instant=True), timeout=60.0)
    # Generous for loaded CI machines; typically 1-2 s (upload, validate, answer, download).
    assert elapsed < 15
