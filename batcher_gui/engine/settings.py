"""Engine knobs, made from the typed workspace settings (tests shorten every delay)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from batcher_gui.config.settings import WorkspaceSettings


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """How the engine paces itself.

    Attributes:
        poll_interval: seconds between two status checks of one in-flight batch.
        sandbox_poll_interval: the same for the built-in sandbox (it answers at once).
        quiet_seconds: a draft that has not grown for this long is sealed and sent.
        max_attempts: how often one prompt is sent before a transient failure is final.
        token_limit_backoff: waits (seconds) after each ``token_limit_exceeded``; then failed.
        retry_base: first wait after a transient provider fault (doubles, capped at retry_cap,
            with jitter).
        retry_cap: longest wait after repeated provider faults.
        profile_retry: wait before trying a profile that needs the user again (a key or
            profile change tries it at once).
        cleanup_provider_files: delete input/output/error files at the provider when done.
        lease_ttl: seconds an engine's claim on the workspace lasts without renewal.
        tick: longest sleep between two passes of the engine loop.
        max_concurrent: batches worked on at the same time.
        delivery_attempts: webhook attempts per result before it is marked failed.
        delivery_retry_base: first wait after a failed webhook attempt (doubles each time).
        webhook_timeout: seconds one webhook POST may take.
        stop_grace: seconds a stopping engine lets running steps finish before cancelling
            them (a cancelled step is safe: its intent is recorded).
        token_limits: enqueued-token limits over the built-in table (domain.capacity).
        prices: the workspace's price overrides (budgets are checked with them).
    """

    poll_interval: float = 30.0
    sandbox_poll_interval: float = 1.0
    quiet_seconds: float = 600.0
    max_attempts: int = 3
    token_limit_backoff: tuple[float, ...] = (300.0, 600.0, 1200.0, 2400.0, 4800.0)
    retry_base: float = 2.0
    retry_cap: float = 300.0
    profile_retry: float = 60.0
    cleanup_provider_files: bool = True
    lease_ttl: float = 60.0
    tick: float = 5.0
    max_concurrent: int = 8
    delivery_attempts: int = 5
    delivery_retry_base: float = 10.0
    webhook_timeout: float = 15.0
    stop_grace: float = 1.0
    token_limits: Mapping[str, int] = field(default_factory=dict)
    prices: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_workspace(cls, ws: WorkspaceSettings, **overrides: Any) -> EngineSettings:
        """The engine's knobs from the workspace settings, plus overrides."""
        values: dict[str, Any] = {
            "poll_interval": ws.poll_interval_seconds,
            "sandbox_poll_interval": ws.sandbox_poll_interval_seconds,
            "quiet_seconds": ws.auto_seal_quiet_seconds,
            "max_attempts": ws.max_prompt_attempts,
            "cleanup_provider_files": ws.cleanup_provider_files,
            "token_limit_backoff": ws.token_limit_backoff_seconds,
            "max_concurrent": ws.max_concurrent_batches,
            "delivery_attempts": ws.delivery_attempts,
            "delivery_retry_base": ws.delivery_retry_seconds,
            "token_limits": dict(ws.token_limits),
            "prices": dict(ws.prices),
        }
        values.update(overrides)
        return cls(**values)
