"""What the window's views ask for and get back: queries over prompts, rows, run overviews."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from batcher_gui.domain.models import Run
from batcher_gui.domain.pricing import CostRange, PriceTable
from batcher_gui.domain.progress import GroupCounts, RunEnding, run_ending
from batcher_gui.domain.states import PromptState
from batcher_gui.domain.wording import provider_words


class PromptSort(StrEnum):
    """Columns the prompts view sorts by (in SQL)."""

    ID = "id"
    STATE = "state"
    CUSTOM_ID = "user_custom_id"
    MODEL = "model"
    INPUT_TOKENS = "input_tokens"
    OUTPUT_TOKENS = "output_tokens"
    UPDATED = "updated_at"


class CheckState(StrEnum):
    """What a prompt's answer is, against its run's checks (a filter and a facet)."""

    PASSED = "passed"
    FAILED = "failed"
    #: No answer yet, no checks on its run, or checked under older rules not yet re-checked.
    UNCHECKED = "unchecked"


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
    #: Facet filters (empty: any). Labels are keys 1-9, 0 for "no label"; a finish reason or
    #: error kind of "" matches prompts without one. Values of one facet are OR-ed, facets
    #: AND-ed with each other and with the filters above.
    models: tuple[str, ...] = ()
    checks: tuple[CheckState, ...] = ()
    labels: tuple[int, ...] = ()
    finish_reasons: tuple[str, ...] = ()
    error_kinds: tuple[str, ...] = ()
    has_note: bool | None = None


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
    #: The reviewer's label key (1-9) and note (None: none); the check: True passed, False
    #: failed (``check_detail`` says which rule and where), None not checked.
    label: int | None = None
    note: str | None = None
    check: bool | None = None
    check_detail: str = ""


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
    #: The profile its run goes through and the provider behind it ("claude (Anthropic)").
    provider: str = ""


@dataclass(frozen=True, slots=True)
class RunOverview:
    """One row of the runs list: counts by state, tokens, cost, when it started and ended.

    Attributes:
        usage: (model, input tokens, output tokens) as the provider reported per batch.
        estimate: (model, prompts counted, input tokens, output bound) counted offline.
        started_at: when its first batch was sent (None: not yet).
        finished_at: when its last batch ended, once nothing of it is left to do (see
            :func:`batcher_gui.domain.progress.run_has_ended`).
        cost: USD reported so far (None: nothing reported, or no price known); filled in by
            :meth:`priced`, like ``unpriced`` (models used without a known price) and
            ``cost_estimate`` (the range counted offline; None: nothing counted yet).
        drafts_waiting_since: when its oldest waiting draft last grew (None: no draft
            waits; :func:`batcher_gui.domain.progress.drafts_due` says when it goes).
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
    #: model -> (input tokens read from the prompt cache, written to it, of those written
    #: for an hour), as results said.
    cache: Mapping[str, tuple[int, int, int]] = field(default_factory=dict)
    drafts_waiting_since: float | None = None
    cost: float | None = None
    unpriced: tuple[str, ...] = ()
    cost_estimate: CostRange | None = None
    #: The profile's kind ("openai", "anthropic"...): which provider the run goes to.
    profile_kind: str = ""
    #: For a re-run: "re-run of #3 (model → gpt-4o; 18 failed checks)"; "" for an import.
    lineage: str = ""

    def priced(self, prices: PriceTable) -> RunOverview:
        """This overview with its cost, unpriced models and estimate filled in."""
        estimate = (prices.estimate({model: (tokens_in, bound)
                                     for model, _, tokens_in, bound in self.estimate})
                    if self.estimate else None)
        return dataclasses.replace(
            self, cost=prices.usage_cost(self.usage, self.cache),
            unpriced=tuple(prices.unpriced(m for m, _, _ in self.usage)),
            cost_estimate=estimate)

    @property
    def provider(self) -> str:
        """The profile and the provider behind it, e.g. "claude (Anthropic)"."""
        return provider_words(self.profile, self.profile_kind)

    @property
    def groups(self) -> GroupCounts:
        """Its prompts by state group (pending, in flight, done, failed, cancelled)."""
        return GroupCounts.of(self.counts)

    @property
    def ended(self) -> bool:
        return self.finished_at is not None

    @property
    def ending(self) -> RunEnding | None:
        """How it ended (None: it has not)."""
        return run_ending(self.counts) if self.ended else None

    @property
    def tokens(self) -> tuple[int, int]:
        """(input, output) tokens the provider reported."""
        return (sum(u[1] for u in self.usage), sum(u[2] for u in self.usage))

    @property
    def counted(self) -> int:
        """Prompts whose tokens have been counted (all of them, soon after an import)."""
        return sum(e[1] for e in self.estimate)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def count(self, *states: PromptState) -> int:
        return sum(self.counts.get(s, 0) for s in states)
