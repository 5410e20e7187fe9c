"""Many in-flight batches of one profile are checked with a listing, not one request each."""

from __future__ import annotations

from batcher_gui.sandbox import SandboxConfig
from tests.engine.conftest import Workspace, assert_all_settled, chat


def test_one_listing_serves_many_batches(ws: Workspace) -> None:
    ws.sandbox.set_config(SandboxConfig(steps_per_poll=1, progress_steps=2))
    ws.add_profile("small", max_requests=2)
    ws.import_lines([chat(i) for i in range(10)], profile="small")  # 5 batches

    assert ws.run() is True

    assert ws.prompt_states() == {"processed": 10}
    requests = ws.sandbox.stats()["requests"]
    # 5 batches, each seen through 4 statuses (validating, 2x in_progress, finalizing,
    # completed): one GET each would be at least 20; listings see them all at once.
    assert requests.get("batches.retrieve", 0) <= 10, requests  # (timing moves a few)
    assert_all_settled(ws)


def test_few_batches_are_checked_one_by_one(ws: Workspace) -> None:
    ws.sandbox.set_config(SandboxConfig(steps_per_poll=1))
    ws.import_lines([chat(i) for i in range(3)])

    assert ws.run() is True

    requests = ws.sandbox.stats()["requests"]
    assert requests.get("batches.retrieve", 0) > 0
    assert_all_settled(ws)
