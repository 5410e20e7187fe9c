"""The per-application sandbox state shared by the route handlers."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

from aiohttp import web

from .anthropic_machine import MessageBatchMachine
from .anthropic_store import AnthropicStore
from .config import SandboxConfig
from .faults import FaultInjector
from .machine import BatchMachine
from .store import Store


class Sandbox:
    def __init__(self, state_dir: Path, config: SandboxConfig, token: str) -> None:
        self.config = config
        self.token = token  # the API key this server instance answers
        self.store = Store(state_dir)
        # A getter, not the object: SandboxServer.config may be replaced at runtime.
        self.machine = BatchMachine(self.store, lambda: self.config)
        # Anthropic's face keeps its own state beside the OpenAI face's.
        self.anthropic = AnthropicStore(Path(state_dir) / "anthropic")
        self.anthropic_machine = MessageBatchMachine(self.anthropic, lambda: self.config)
        self.anthropic_counts: Counter[str] = Counter()
        self.faults = FaultInjector(config.seed)
        # One lock for every state mutation: handlers interleave at each await, and the
        # lifecycle work runs in a worker thread while the lock is held.
        self.lock = asyncio.Lock()
        self.requests: Counter[str] = Counter()
        self.batches_created = 0
        self.files_created = 0
        self.files_deleted = 0

    @staticmethod
    def now() -> float:
        return time.time()

    def stats(self) -> dict[str, Any]:
        """Counters of this server instance (since start), plus what is live on disk."""
        statuses = Counter(r["batch"]["status"] for r in self.store.batches.values())
        return {
            "batches_created": self.batches_created,
            "files_created": self.files_created,
            "files_deleted": self.files_deleted,
            "live_files": len(self.store.live_files(self.now())),
            "batches_total": len(self.store.batches),
            "batches_by_status": dict(statuses),
            "requests": dict(self.requests),
            "faults_injected": dict(self.faults.injected),
            "anthropic": self._anthropic_stats(),
        }

    def _anthropic_stats(self) -> dict[str, Any]:
        batches = self.anthropic.batches.values()
        statuses = Counter(r["batch"]["processing_status"] for r in batches)
        return {
            "batches_created": self.anthropic_counts["batches_created"],
            "creates_refused": self.anthropic_counts["creates_refused"],
            "batches_total": len(self.anthropic.batches),
            "batches_by_status": dict(statuses),
            "archived": sum(1 for r in batches if r["batch"]["archived_at"] is not None),
            "requests": {k: v for k, v in self.requests.items() if k.startswith("messages.")},
        }


SANDBOX_KEY: web.AppKey[Sandbox] = web.AppKey("sandbox", Sandbox)
