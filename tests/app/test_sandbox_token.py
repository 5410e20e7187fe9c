"""The built-in sandbox answers only the Batcher process that started it.

Its token is made up at start, handed to the provider in memory and written nowhere; a
Batcher started again has a new token and still finishes the batches in flight.
"""

from __future__ import annotations

import stat
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.states import BatchState, PromptState
from batcher_gui.sandbox import SandboxConfig
from batcher_gui.sandbox.host import SandboxThread
from tests.app.conftest import OpenService, run, write_chat


def _status(url: str, key: str | None) -> int:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    request = urllib.request.Request(f"{url}/batches", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code


def test_a_full_run_on_the_built_in_sandbox_process(open_service: OpenService,
                                                    tmp_path: Path) -> None:
    data = write_chat(tmp_path / "p.jsonl", 12)

    async def scenario() -> dict[str, int]:
        # The app's own host: a process of its own, its token passed by the spawn pipe.
        service = await open_service(sandbox_host=None)
        try:
            summary = await service.import_file(data, ImportOptions(), profile="sandbox")
            await service.submit(summary.run.id)
            assert await service.sync(timeout=60) is True
            url = service.connections.sandbox_url()
            return {"placeholder": _status(url, "sandbox"), "guess": _status(url, "sk-x" * 8),
                    "none": _status(url, None),
                    "counts": (await service.run_counts(summary.run.id))[PromptState.PROCESSED]}
        finally:
            await service.close()

    seen = run(scenario())
    assert seen == {"placeholder": 401, "guess": 401, "none": 401, "counts": 12}
    state = tmp_path / "ws" / "sandbox"
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in [state, *state.rglob("*")]}
    assert len(modes) > 5
    assert {p.name: oct(m) for p, m in modes.items()
            if m != (0o700 if p.is_dir() else 0o600)} == {}


def test_batches_in_flight_survive_a_restart_with_a_new_token(open_service: OpenService,
                                                              tmp_path: Path) -> None:
    data = write_chat(tmp_path / "p.jsonl", 5)
    hosts: list[SandboxThread] = []

    def host(folder: Path, config: SandboxConfig) -> SandboxThread:
        hosts.append(SandboxThread(folder, config))
        return hosts[-1]

    async def first() -> Any:
        # Batches never move on this sandbox: they are still in flight when Batcher closes.
        service = await open_service(sandbox_host=host,
                                     sandbox_config=SandboxConfig(steps_per_poll=0))
        try:
            summary = await service.import_file(data, ImportOptions(), profile="sandbox")
            await service.submit(summary.run.id)
            assert await service.sync(timeout=3) is False
            (batch,) = await service.batches()
            return batch.state
        finally:
            await service.close()

    async def second() -> dict[PromptState, int]:
        service = await open_service(sandbox_host=host,
                                     sandbox_config=SandboxConfig(steps_per_poll=1))
        try:
            assert await service.sync(timeout=60) is True
            (batch,) = await service.batches()
            assert batch.state is BatchState.COMPLETED
            return await service.run_counts(batch.run_id)
        finally:
            await service.close()

    assert run(first()) in (BatchState.VALIDATING, BatchState.IN_PROGRESS)
    assert run(second()) == {PromptState.PROCESSED: 5}
    assert len(hosts) == 2 and hosts[0].token != hosts[1].token
    # The tokens lived in memory only: nothing in the workspace holds them.
    for path in (tmp_path / "ws").rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not any(h.token.encode() in content for h in hosts), path
