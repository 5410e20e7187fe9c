"""How far a run (or any set of prompts) has got, in the words every view uses.

One definition of the state groups, used by the runs list, the prompts footer and its
filters, the run detail, notifications, ``batcher status`` and exports, so the same run never
shows two different numbers:

- **pending**: waiting to be sent (``pending``);
- **in flight**: at the provider (``processing``);
- **done**: the answer is here (``processed``, ``delivering``, ``delivered``): paid for and
  kept, whatever its delivery is doing;
- **failed**: no answer, and attempts ran out (``failed``, ``expired``);
- **cancelled**: the user cancelled it before an answer came (``cancelled``).

Plus when a run has *ended* (nothing of it left to send, answer or deliver) and how.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from batcher_gui.domain.states import BatchState, PromptState

P = PromptState
B = BatchState


class StateGroup(StrEnum):
    """What a user counts: see the module docstring."""

    PENDING = "pending"
    IN_FLIGHT = "in flight"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: The prompt states of each group, in the order views list them.
GROUP_STATES: Mapping[StateGroup, tuple[PromptState, ...]] = {
    StateGroup.PENDING: (P.PENDING,),
    StateGroup.IN_FLIGHT: (P.PROCESSING,),
    StateGroup.DONE: (P.PROCESSED, P.DELIVERING, P.DELIVERED),
    StateGroup.FAILED: (P.FAILED, P.EXPIRED),
    StateGroup.CANCELLED: (P.CANCELLED,),
}

#: Prompt states that still have work ahead (sending, answering or delivering).
UNFINISHED: frozenset[PromptState] = frozenset({P.PENDING, P.PROCESSING, P.DELIVERING})


@dataclass(frozen=True, slots=True)
class GroupCounts:
    """Prompts per :class:`StateGroup` (they add up to :attr:`total`)."""

    pending: int = 0
    in_flight: int = 0
    done: int = 0
    failed: int = 0
    cancelled: int = 0

    @classmethod
    def of(cls, counts: Mapping[PromptState, int]) -> GroupCounts:
        """Group counts by prompt state (states missing from ``counts`` count 0)."""
        by_group = {group: sum(counts.get(s, 0) for s in states)
                    for group, states in GROUP_STATES.items()}
        return cls(by_group[StateGroup.PENDING], by_group[StateGroup.IN_FLIGHT],
                   by_group[StateGroup.DONE], by_group[StateGroup.FAILED],
                   by_group[StateGroup.CANCELLED])

    @property
    def total(self) -> int:
        return self.pending + self.in_flight + self.done + self.failed + self.cancelled

    def get(self, group: StateGroup) -> int:
        return {StateGroup.PENDING: self.pending, StateGroup.IN_FLIGHT: self.in_flight,
                StateGroup.DONE: self.done, StateGroup.FAILED: self.failed,
                StateGroup.CANCELLED: self.cancelled}[group]

    def items(self) -> list[tuple[StateGroup, int]]:
        """(group, count) in the order views show them."""
        return [(group, self.get(group)) for group in StateGroup]

    def as_dict(self) -> dict[str, int]:
        """``{"pending": 3, "in flight": 0, ...}`` (every group, for JSON output)."""
        return {group.value: n for group, n in self.items()}


def count_words(counts: GroupCounts, *, zeros: bool = False) -> str:
    """``"1,200 done · 3 failed"``: the groups with prompts (all of them with ``zeros``)."""
    parts = [f"{n:,} {group.value}" for group, n in counts.items() if n or zeros]
    return " · ".join(parts) if parts else "no prompts"


class RunEnding(StrEnum):
    """How a run ended (see :func:`run_ending`)."""

    #: Every prompt has its answer.
    COMPLETED = "completed"
    #: Some prompts have answers, some failed.
    COMPLETED_WITH_FAILURES = "completed with failures"
    #: No prompt has an answer and some failed.
    FAILED = "failed"
    #: The user cancelled some or all of it (no prompt failed); answers that came are kept.
    CANCELLED = "cancelled"


def run_has_ended(counts: Mapping[PromptState, int], batches: int, batches_ended: int) -> bool:
    """A run has ended once it was sent (it has batches), every batch ended, and no prompt has
    work ahead (sending, answering, delivering). A run never sent has not ended."""
    if not batches or batches_ended < batches:
        return False
    return not any(counts.get(s, 0) for s in UNFINISHED)


def run_ending(counts: Mapping[PromptState, int]) -> RunEnding:
    """How an ended run ended, from its prompt counts."""
    groups = GroupCounts.of(counts)
    if groups.failed and not groups.done:
        return RunEnding.FAILED
    if groups.failed:
        return RunEnding.COMPLETED_WITH_FAILURES
    if groups.cancelled:
        return RunEnding.CANCELLED
    return RunEnding.COMPLETED


#: Batch states the user may send again as they are (Restart Batch).
RESTARTABLE: frozenset[BatchState] = frozenset({B.FAILED})


def drafts_due(last_grew: float | None, quiet_seconds: float) -> float | None:
    """When the engine seals a draft batch that last grew at ``last_grew`` and sends it
    unasked (None: it has no such time and waits for Submit Now)."""
    return last_grew + quiet_seconds if last_grew else None


def may_restart(state: BatchState) -> bool:
    """Whether a batch in ``state`` can be restarted by the user."""
    return state in RESTARTABLE


def unique_name(wanted: str, taken: Iterable[str]) -> str:
    """``wanted``, or ``wanted (2)``, ``wanted (3)``... the first not in ``taken``."""
    names = set(taken)
    if wanted not in names:
        return wanted
    n = 2
    while f"{wanted} ({n})" in names:
        n += 1
    return f"{wanted} ({n})"
