"""Plain events the engine emits; the window's bridge turns them into Qt signals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BatchChanged:
    """A batch moved to another state or made progress."""

    batch_id: int
    state: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class EngineNotice:
    """Something the user should know (a provider fault being retried, a failure)."""

    level: str
    message: str
    batch_id: int | None = None
    #: Retrying will not help until the user acts (no API key, key refused...).
    needs_user: bool = False


EngineEvent = BatchChanged | EngineNotice
Listener = Callable[[EngineEvent], None]
