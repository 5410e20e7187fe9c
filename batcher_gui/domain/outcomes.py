"""What the service's commands did, as data: the window and the command line say it in words.

A command returns one of these (or raises a :class:`~batcher_gui.domain.errors.BatcherError`
for what it refused); neither the service nor the storage below it writes sentences for the
user, so the window and the command line can each say it their way and tests can check the
figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from batcher_gui.domain.states import BatchState, PromptState


class BudgetCap(StrEnum):
    """Which of a profile's caps a run would pass."""

    RUN = "run"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class BudgetExceeded:
    """A run would pass a spending cap of its profile (it is not sent without the user's word).

    Attributes:
        profile: the profile's name.
        cap: which cap.
        cap_usd: the cap.
        run_high_usd: what the run may cost at most (every answer as long as allowed).
        month_spent_usd: reported spend on the profile this month (for the monthly cap).
        month: the month, in words ("December 2026").
        run_label: the run (``#3 'reviews'``), when known.
    """

    profile: str
    cap: BudgetCap
    cap_usd: float
    run_high_usd: float
    month_spent_usd: float = 0.0
    month: str = ""
    run_label: str = ""


@dataclass(frozen=True, slots=True)
class SubmitOutcome:
    """What Submit Now did.

    Attributes:
        sealed: the draft batches sealed now (the engine sends them at once); empty: the
            run(s) had no draft waiting.
        over_budget_allowed: runs (ids) sent although over budget, because the user said so.
    """

    sealed: tuple[int, ...] = ()
    over_budget_allowed: tuple[int, ...] = ()


class CancelKind(StrEnum):
    """What cancelling did to one batch."""

    #: It never left the machine: cancelled at once, its prompts with it.
    CANCELLED = "cancelled"
    #: It is at the provider: the engine asks the provider to cancel it; what finished
    #: before is kept once the provider confirms.
    REQUESTED = "requested"


@dataclass(frozen=True, slots=True)
class BatchCancel:
    """One batch cancelled (or asked to be)."""

    batch_id: int
    kind: CancelKind
    #: Its state when it was cancelled.
    state: BatchState
    #: Its prompts cancelled at once (CANCELLED) or still waiting for the provider.
    prompts: int = 0


@dataclass(frozen=True, slots=True)
class CancelOutcome:
    """What cancelling a run or a batch did (empty: nothing was left to cancel)."""

    batches: tuple[BatchCancel, ...] = ()

    @property
    def cancelled(self) -> tuple[BatchCancel, ...]:
        return tuple(b for b in self.batches if b.kind is CancelKind.CANCELLED)

    @property
    def requested(self) -> tuple[BatchCancel, ...]:
        return tuple(b for b in self.batches if b.kind is CancelKind.REQUESTED)

    @property
    def prompts(self) -> int:
        return sum(b.prompts for b in self.batches)


@dataclass(frozen=True, slots=True)
class RetryOutcome:
    """What a retry did."""

    batches_restarted: int
    prompts_in_restarted: int
    prompts_requeued: int
    #: Prompts whose result is here but whose delivery failed: left alone (they are paid
    #: for; redeliver them).
    delivery_failures_left: int

    @property
    def prompts_to_send(self) -> int:
        return self.prompts_in_restarted + self.prompts_requeued


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """Where a run's results go now (``kind`` None: nowhere, they stay in the workspace)."""

    run_id: int
    run_label: str
    kind: str | None = None
    target: str | None = None


@dataclass(frozen=True, slots=True)
class DeleteOutcome:
    """A run deleted, with what went with it."""

    run_id: int
    run_label: str
    prompts: int = 0
    batches: tuple[int, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class RunFailures:
    """Prompts of one run that failed (or expired) in one state since a point in time.

    Attributes:
        run_id, run_label: the run (``#3 'reviews'``).
        state: ``failed`` or ``expired``.
        prompts: how many are in that state now.
        delivery_only: of those, how many have their answer and only its delivery failed
            (redeliver them; sending them again would be paid twice).
    """

    run_id: int
    run_label: str
    state: PromptState
    prompts: int
    delivery_only: int = 0
