"""Typed events the engine and the service emit; the window's bridge turns them into Qt signals.

Plain frozen dataclasses with enums (no free strings for states or levels), so a listener can
``match`` on them and a view can update one row without reloading anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from batcher_gui.domain.states import BatchState, PromptState


class NoticeLevel(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class EngineState(StrEnum):
    """What the engine of this process is doing."""

    #: Not started yet.
    IDLE = "idle"
    #: This process drives the workspace.
    DRIVING = "driving"
    #: Another process (a ``batcher sync`` in a terminal, another window) drives it; this one
    #: takes over when that one ends.
    WAITING_FOR_DRIVER = "waiting_for_driver"
    #: Every batch in flight waits for the user (no API key, key refused...).
    PAUSED = "paused"
    #: Stopped (by the user, or for the reason given).
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class BatchChanged:
    """A batch moved to another state, made progress, or met a problem."""

    batch_id: int
    state: BatchState
    detail: str = ""
    run_id: int | None = None


@dataclass(frozen=True, slots=True)
class PromptsChanged:
    """Prompt counts of a run changed (``counts``: every state the run has, by state)."""

    run_id: int
    counts: Mapping[PromptState, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunsChanged:
    """Runs were added, removed or renamed: lists of runs should be read again."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """How far an import has come (``done`` of ``total`` bytes; ``prompts`` written so far)."""

    job_id: int
    path: str
    done: int
    total: int
    prompts: int
    phase: str = "importing"


@dataclass(frozen=True, slots=True)
class ExportProgress:
    """How far an export has come (``done`` of ``total`` prompts)."""

    job_id: int
    run_id: int
    path: str
    done: int
    total: int


class WaitKind(StrEnum):
    """Why a profile's batches wait for the user."""

    #: The profile has no API key (none stored, no environment variable).
    NO_KEY = "no key"
    #: The provider refused the key (401/403).
    KEY_REFUSED = "key refused"
    #: Something else about the profile (its URL...).
    UNUSABLE = "unusable"


@dataclass(frozen=True, slots=True)
class ProfileWait:
    """A profile whose batches wait for the user: why (``kind``), and the details."""

    kind: WaitKind
    detail: str


@dataclass(frozen=True, slots=True)
class EngineStateChanged:
    """The engine started or stopped driving, waits for another driver, or is paused.

    Attributes:
        reason: why, in words for the user ("another Batcher drives this workspace (pid 42)").
        holder: who drives, when it is another process.
        waiting_profiles: profiles whose batches wait for the user (by name), and why.
    """

    state: EngineState
    reason: str = ""
    holder: str | None = None
    waiting_profiles: Mapping[str, ProfileWait] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EngineActivity:
    """A summary the status bar shows: batches in flight and when the next poll is due."""

    in_flight: int
    next_poll_at: float | None = None


@dataclass(frozen=True, slots=True)
class TokensCounted:
    """The background token counter's progress: prompts counted so far in this pass, and
    prompts of the workspace still without a count."""

    counted: int
    remaining: int


@dataclass(frozen=True, slots=True)
class AnswersChecked:
    """The background checker wrote check results of a run: its answers passed, failed and
    not checked now, and answers of the workspace still waiting to be checked."""

    run_id: int
    passed: int
    failed: int
    not_checked: int
    remaining: int


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the user should know.

    Attributes:
        needs_user: retrying will not help until the user acts (no key, key refused...).
    """

    level: NoticeLevel
    message: str
    batch_id: int | None = None
    run_id: int | None = None
    needs_user: bool = False


Event = (BatchChanged | PromptsChanged | RunsChanged | ImportProgress | ExportProgress
         | TokensCounted | AnswersChecked
         | EngineStateChanged | EngineActivity | Notice)
Listener = Callable[[Event], None]
