"""Fixtures: a fresh in-process sandbox per test, driven by the real openai SDK.

pytest-asyncio is not installed, so each test runs one coroutine with `asyncio.run`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .anthropic_helpers import AnthropicRunner
from .helpers import Runner


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SDKs read OPENAI_* / ANTHROPIC_* and proxy variables; tests only ever talk to loopback.
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "ANTHROPIC_")) or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def run(tmp_path: Path) -> Runner:
    return Runner(tmp_path / "state")


@pytest.fixture
def arun(tmp_path: Path) -> AnthropicRunner:
    return AnthropicRunner(tmp_path / "state")
