"""Engine knobs, read from the workspace settings table (tests shorten every delay)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """How the engine paces itself.

    Attributes:
        poll_interval: seconds between two status checks of one in-flight batch.
        quiet_seconds: a draft that has not grown for this long is sealed and sent.
        max_attempts: how often one prompt is sent before a transient failure is final.
        token_limit_backoff: waits (seconds) after each ``token_limit_exceeded``; then failed.
        retry_base: first wait after a transient provider fault (doubles, capped at retry_cap).
        retry_cap: longest wait after repeated provider faults.
        cleanup_provider_files: delete input/output/error files at the provider when done.
        lease_ttl: seconds an engine's claim on the workspace lasts without renewal.
        tick: longest sleep between two passes of the engine loop.
        delivery_attempts: webhook attempts per result before it is marked failed.
        delivery_retry_base: first wait after a failed webhook attempt (doubles each time).
        webhook_timeout: seconds one webhook POST may take.
    """

    poll_interval: float = 30.0
    quiet_seconds: float = 600.0
    max_attempts: int = 3
    token_limit_backoff: tuple[float, ...] = (300.0, 600.0, 1200.0, 2400.0, 4800.0)
    retry_base: float = 2.0
    retry_cap: float = 300.0
    cleanup_provider_files: bool = True
    lease_ttl: float = 60.0
    tick: float = 5.0
    delivery_attempts: int = 5
    delivery_retry_base: float = 10.0
    webhook_timeout: float = 15.0

    @classmethod
    def from_store_values(cls, values: dict[str, Any], **overrides: Any) -> EngineSettings:
        """Build from workspace settings (``poll_interval_seconds`` ...) plus overrides."""
        mapping = {
            "poll_interval_seconds": "poll_interval",
            "auto_seal_quiet_seconds": "quiet_seconds",
            "max_prompt_attempts": "max_attempts",
            "cleanup_provider_files": "cleanup_provider_files",
            "token_limit_backoff_seconds": "token_limit_backoff",
        }
        kwargs: dict[str, Any] = {}
        for key, attr in mapping.items():
            if key in values:
                value = values[key]
                kwargs[attr] = tuple(value) if attr == "token_limit_backoff" else value
        kwargs.update(overrides)
        return cls(**kwargs)
