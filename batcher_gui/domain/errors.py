"""Errors that domain code raises. Every error a user can cause says what to do about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from batcher_gui.domain.wording import plural

if TYPE_CHECKING:
    from batcher_gui.domain.outcomes import BudgetExceeded


class BatcherError(Exception):
    """Base of every error Batcher raises on purpose (as opposed to a bug)."""


class InvalidTransition(BatcherError):
    """A state change that the state machine does not allow."""

    def __init__(self, kind: str, entity_id: object, from_state: str | None, to_state: str) -> None:
        self.kind = kind
        self.entity_id = entity_id
        self.from_state = from_state
        self.to_state = to_state
        super().__init__(
            f"{kind} {entity_id}: cannot go from {from_state or 'nothing'!s} to {to_state}"
        )


class NotFound(BatcherError):
    """A run, batch, prompt or profile that the user named does not exist."""


class WorkspaceError(BatcherError):
    """The workspace cannot be opened or used (bad location, newer schema, locked...)."""


@dataclass(frozen=True, slots=True)
class LineError:
    """One problem in an input file, precise enough to find and fix it."""

    path: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f", line {self.line}"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


class ImportValidationError(BatcherError):
    """An input file (or some of its lines) is not valid. Nothing was imported.

    Attributes:
        errors: the first problems found (capped, see ``total``).
        total: how many problems there are in all.
    """

    def __init__(self, errors: list[LineError], total: int | None = None) -> None:
        self.errors = errors
        self.total = total if total is not None else len(errors)
        head = "\n".join(str(e) for e in errors[:20])
        more = self.total - min(len(errors), 20)
        tail = f"\n... and {plural(more, 'more problem')}" if more > 0 else ""
        super().__init__(head + tail)


class DatabaseBusy(BatcherError):
    """Another writer holds the workspace database longer than the busy timeout (transient)."""


class AmbiguousReference(BatcherError):
    """A name or number the user gave matches more than one thing."""


class InvalidInput(BatcherError):
    """A value the user gave (a setting, a profile field, a path...) is not acceptable.

    Nothing was changed. The command line exits with code 2 for these.
    """


class OverBudget(InvalidInput):
    """Submitting would pass a profile's spending cap; the user must say so explicitly.

    Attributes:
        refusal: the figures (which cap, how much); the window words its question from
            them, the command line prints ``str()`` of the error.
    """

    def __init__(self, refusal: BudgetExceeded) -> None:
        from batcher_gui.domain.budget import budget_words  # budget -> outcomes -> errors

        self.refusal = refusal
        who = f"run {refusal.run_label}: " if refusal.run_label else ""
        super().__init__(f"{who}{budget_words(refusal)}. Nothing was sent; to send it anyway, "
                         "confirm in the window or use `batcher submit --allow-over-budget`")


class Cancelled(BatcherError):
    """The user stopped a long operation; nothing of it was kept."""
