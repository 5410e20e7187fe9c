"""A laptop workspace moved into a new team workspace: every row with its id, the laptop's
engine no longer sends, a target that is not new is refused untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from batcher_gui.app import Service
from batcher_gui.app.transfer import copy_to_team, moved_to
from batcher_gui.config.secrets import SecretStore
from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.models import ImportOptions
from batcher_gui.paths import WorkspacePaths
from batcher_gui.sandbox import SandboxConfig
from batcher_gui.sandbox.host import SandboxThread
from tests.app.conftest import FAST, run, write_chat
from tests.fakes import MemoryKeyring


async def _open(root: Path, url: str | None = None) -> Service:
    paths = (WorkspacePaths(root, root / "team.local", database_url=url) if url
             else WorkspacePaths(root, root / "batcher.sqlite3"))
    return await Service.open(paths, secrets=SecretStore(backend=MemoryKeyring()),
                              engine_overrides=FAST, sandbox_config=SandboxConfig(instant=True),
                              sandbox_host=SandboxThread)


async def _answered_workspace(root: Path, data: Path) -> Service:
    service = await _open(root)
    await service.import_file(data, ImportOptions(), profile="sandbox")
    await service.import_file(data, ImportOptions(), profile="sandbox", name="second")
    assert await service.sync(timeout=60)
    run_id = (await service.runs())[0].id
    await service.label_by_custom_id(run_id, "c3", "good")
    return service


def _counts(service: Service) -> dict[str, object]:
    status = service.store.status()
    return {
        "runs": [(r.run.id, r.run.name, r.prompts_by_state) for r in status.runs],
        "batches": status.batches_by_state,
        "profiles": [p.name for p in service.store.list_profiles()],
    }


def test_a_laptop_workspace_moves_into_a_new_team_workspace(tmp_path: Path,
                                                           pg_url: str) -> None:
    data = write_chat(tmp_path / "p.jsonl", 40)
    said: list[tuple[str, int, int]] = []

    async def scenario() -> None:
        laptop = await _answered_workspace(tmp_path / "ws", data)
        before = _counts(laptop)
        report = await copy_to_team(laptop, pg_url, lambda *a: said.append(a))
        assert report.rows["prompts"] == 80 and report.rows["runs"] == 2
        assert moved_to(laptop) is not None and "batcher@" in str(moved_to(laptop))
        # The laptop's engine no longer sends from this workspace.
        assert not await laptop.sync(timeout=5)
        with pytest.raises(BatcherError, match="copied to"):
            await copy_to_team(laptop, pg_url)
        await laptop.close()

        team = await _open(tmp_path / "team-local", pg_url)
        try:
            assert _counts(team) == before
            first_run = (await team.runs())[0].id
            rows = [r for chunk in team.store.iter_run_prompts(first_run) for r in chunk]
            assert {r.user_custom_id: r[13] for r in rows}["c3"] == "good"
            assert all(r.response for r in rows)
            # New rows get ids past the copied ones.
            await team.import_file(data, ImportOptions(), profile="sandbox", name="third")
            assert len(await team.runs()) == 3
        finally:
            await team.close()

    run(scenario())
    assert said and said[-1][1] == said[-1][2]


def test_a_target_that_is_not_new_is_refused_and_left_alone(tmp_path: Path,
                                                            pg_url: str) -> None:
    data = write_chat(tmp_path / "p.jsonl", 5)

    async def scenario() -> None:
        laptop = await _answered_workspace(tmp_path / "ws", data)
        assert (await copy_to_team(laptop, pg_url)).rows["prompts"] == 10
        other = await _open(tmp_path / "other")
        await other.import_file(data, ImportOptions(), profile="sandbox")
        with pytest.raises(BatcherError, match="not new"):
            await copy_to_team(other, pg_url)
        assert moved_to(other) is None
        with pytest.raises(BatcherError, match="PostgreSQL URL"):
            await copy_to_team(other, "sqlite:////tmp/x.sqlite3")
        await other.close()
        await laptop.close()

    run(scenario())
