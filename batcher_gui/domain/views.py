"""What the window's views ask for and get back: queries over prompts, rows, run overviews."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from batcher_gui.domain.models import Run
from batcher_gui.domain.states import PromptState


class PromptSort(StrEnum):
    """Columns the prompts view sorts by (in SQL)."""

    ID = "id"
    STATE = "state"
    CUSTOM_ID = "user_custom_id"
    MODEL = "model"
    INPUT_TOKENS = "input_tokens"
    OUTPUT_TOKENS = "output_tokens"
    UPDATED = "updated_at"


@dataclass(frozen=True, slots=True)
class PromptQuery:
    """Which prompts a view shows, in which order.

    Attributes:
        text: a substring of the custom_id, the request or the response (case-insensitive
            for ASCII); empty for none.
        has_error: True: only prompts with an error (provider or delivery); False: none.
    """

    run_id: int | None = None
    batch_id: int | None = None
    states: tuple[PromptState, ...] = ()
    model: str | None = None
    has_error: bool | None = None
    text: str = ""
    sort: PromptSort = PromptSort.ID
    descending: bool = False


@dataclass(frozen=True, slots=True)
class PromptRow:
    """One row of the prompts table (previews, not whole bodies)."""

    id: int
    run_id: int
    batch_id: int | None
    state: PromptState
    custom_id: str
    model: str
    endpoint: str
    prompt: str
    answer: str
    error: str
    input_tokens: int | None
    output_tokens: int | None
    attempts: int
    updated_at: float | None


@dataclass(frozen=True, slots=True)
class Transition:
    """One audited state change."""

    from_state: str | None
    to_state: str
    at: float
    reason: str | None


@dataclass(frozen=True, slots=True)
class PromptDetail:
    """Everything about one prompt, for the detail pane."""

    row: PromptRow
    line_no: int
    body: bytes
    response: bytes | None
    error: str | None
    delivery_error: str | None
    transitions: tuple[Transition, ...]


@dataclass(frozen=True, slots=True)
class RunOverview:
    """One row of the runs list: counts by state, tokens, when it started and finished.

    Attributes:
        usage: (model, input tokens, output tokens) as the provider reported per batch.
        estimate: (model, prompts counted, input tokens, output bound) counted offline.
        started_at: when its first batch was sent (None: not yet).
        finished_at: when its last batch ended, once nothing of it is left to do.
    """

    run: Run
    profile: str
    models: tuple[str, ...]
    counts: dict[PromptState, int] = field(default_factory=dict)
    usage: tuple[tuple[str, int, int], ...] = ()
    batches: int = 0
    batches_in_flight: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    estimate: tuple[tuple[str, int, int, int], ...] = ()
    #: model -> (input tokens read from the prompt cache, written to it), as results said.
    cache: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def counted(self) -> int:
        """Prompts whose tokens have been counted (all of them, soon after an import)."""
        return sum(e[1] for e in self.estimate)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def count(self, *states: PromptState) -> int:
        return sum(self.counts.get(s, 0) for s in states)
