"""The service's estimate of a Claude file: an Anthropic profile's provider counts a sample;
without a key (or with another kind of profile) the count is OpenAI's tokenizer's, marked
approximate, and says why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batcher_gui.config.profiles import ProfileFields
from batcher_gui.domain.endpoints import MESSAGES_ENDPOINT
from batcher_gui.domain.models import ImportOptions, ProfileKind
from tests.app.conftest import OpenService, run

NO_KEY = "BATCHER_TEST_CLAUDE_KEY_NOT_SET"


def _claude_file(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps({
        "custom_id": f"c{i}", "method": "POST", "url": MESSAGES_ENDPOINT,
        "body": {"model": "claude-haiku-4-5", "max_tokens": 50,
                 "messages": [{"role": "user", "content": f"Classify item {i}"}]}}) + "\n"
        for i in range(n)))
    return path


def test_without_a_key_the_claude_estimate_is_approximate_and_says_why(
        open_service: OpenService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NO_KEY, raising=False)
    path = _claude_file(tmp_path / "claude.jsonl", 30)

    async def go() -> None:
        service = await open_service()
        try:
            await service.add_profile(ProfileFields("claude", ProfileKind.ANTHROPIC,
                                                    key_env=NO_KEY))
            estimate = await service.estimate_file(path, ImportOptions(), profile="claude")
            assert (estimate.requests, estimate.method) == (30, "approximate")
            assert estimate.sample_problem is not None and NO_KEY in estimate.sample_problem
            assert estimate.cost is not None and estimate.cost.priced and estimate.cost.high > 0
            assert estimate.output_bound == 30 * 50

            offline = await service.estimate_file(path, ImportOptions(), profile="claude",
                                                  offline=True)
            assert offline.sample_problem is None and offline.method == "approximate"
            assert offline.input_tokens == estimate.input_tokens

            # an OpenAI profile takes no Claude requests: nothing to count, nobody asked
            other = await service.estimate_file(path, ImportOptions())
            assert (other.requests, other.invalid, other.sampled) == (0, 30, 0)
            assert other.sample_problem is None
        finally:
            await service.close()

    run(go())
