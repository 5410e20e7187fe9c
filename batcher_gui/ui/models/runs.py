"""The runs table: one row per run, newest first, counted by state group."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from PySide6.QtCore import Qt

from batcher_gui.domain.money import usd
from batcher_gui.domain.progress import StateGroup
from batcher_gui.domain.states import PromptState
from batcher_gui.domain.views import RunOverview
from batcher_gui.ui.base.theme import money, state_colour, when
from batcher_gui.ui.models.table import ItemRole, ItemTableModel, ProgressRole

__all__ = ["ItemRole", "ProgressRole", "RunsModel"]

P = PromptState
COL_RUN, COL_PROGRESS, COL_PENDING, COL_IN_FLIGHT, COL_DONE, COL_FAILED, COL_CANCELLED, \
    COL_TOKENS, COL_COST, COL_PROVIDER, COL_MODELS, COL_SOURCE, COL_STARTED, COL_FINISHED, \
    COL_ESTIMATE = range(15)
_GROUP_COLUMNS = {COL_PENDING: StateGroup.PENDING, COL_IN_FLIGHT: StateGroup.IN_FLIGHT,
                  COL_DONE: StateGroup.DONE, COL_FAILED: StateGroup.FAILED,
                  COL_CANCELLED: StateGroup.CANCELLED}


class RunsModel(ItemTableModel[RunOverview]):
    """One row per run: progress by state, counts by group, tokens, cost, timing."""

    HEADERS = ("Run", "Progress", "Pending", "In flight", "Done", "Failed", "Cancelled",
               "Tokens", "Cost", "Provider", "Models", "Source", "Started", "Finished",
               "Estimate")
    NUMERIC = frozenset({COL_PENDING, COL_IN_FLIGHT, COL_DONE, COL_FAILED, COL_CANCELLED,
                         COL_TOKENS, COL_COST, COL_ESTIMATE})

    def key(self, item: RunOverview) -> Hashable:
        return item.run.id

    def cell(self, item: RunOverview, column: int, role: int) -> Any:
        if role == ProgressRole and column == COL_PROGRESS:
            return [(s, item.counts.get(s, 0)) for s in PromptState if item.counts.get(s)]
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == COL_FAILED and item.groups.failed:
                return state_colour(P.FAILED)
            if column == COL_CANCELLED and item.groups.cancelled:
                return state_colour(P.CANCELLED)
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(item, column)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return self._text(item, column)

    def _text(self, item: RunOverview, column: int) -> str | None:
        if column == COL_RUN:
            return item.run.label.replace("'", "")
        if column == COL_PROGRESS:
            return f"{item.groups.done:,} / {item.total:,}"
        if column in _GROUP_COLUMNS:
            return f"{item.groups.get(_GROUP_COLUMNS[column]):,}"
        if column == COL_TOKENS:
            tokens_in, tokens_out = item.tokens
            return f"{tokens_in:,} in / {tokens_out:,} out" if tokens_in or tokens_out else ""
        if column == COL_COST:
            if item.cost is None and item.usage:
                return "no price known"
            return money(item.cost)
        if column == COL_PROVIDER:
            return item.provider
        if column == COL_MODELS:
            return ", ".join(item.models)
        if column == COL_SOURCE:
            if item.lineage:  # a re-run: where it comes from says more than the file
                return item.lineage
            return (item.run.source_path or "").rsplit("/", 1)[-1]
        if column == COL_STARTED:
            return when(item.started_at)
        if column == COL_FINISHED:
            return when(item.finished_at)
        if column == COL_ESTIMATE:
            return self._estimate_text(item)
        return None

    def _tooltip(self, item: RunOverview, column: int) -> str | None:
        if column == COL_RUN:
            return (f"{item.run.label}\n{item.lineage}\n{item.run.source_path or ''}\n"
                    f"{item.provider}").replace("\n\n", "\n").strip()
        if column == COL_PROGRESS:
            lines = [f"{group.value}: {n:,}" for group, n in item.groups.items() if n]
            return "\n".join(lines) or "no prompts"
        if column == COL_ESTIMATE:
            return self._estimate_tooltip(item)
        if column == COL_COST and item.unpriced:
            return f"No price is known for {', '.join(item.unpriced)}."
        return self._text(item, column)

    @staticmethod
    def _estimate_text(run: RunOverview) -> str:
        cost = run.cost_estimate
        if cost is None:
            return "counting…" if run.total else ""
        if not cost.priced:
            text = "no price known"
        elif cost.high == 0:
            text = usd(0.0, "")
        else:
            text = f"{usd(cost.low, '')} – {usd(cost.high, '')}"
        return f"≥ {text} (counting)" if run.counted < run.total else text

    @staticmethod
    def _estimate_tooltip(run: RunOverview) -> str:
        cost = run.cost_estimate
        if cost is None:
            return "Tokens are being counted." if run.total else ""
        tokens_in = sum(e[2] for e in run.estimate)
        bound = sum(e[3] for e in run.estimate)
        text = (f"Estimated cost at batch prices, from {run.counted:,} of {run.total:,} "
                f"prompts counted: {tokens_in:,} input tokens, at most {bound:,} output.")
        if cost.priced:
            text += f"\nLive calls would cost up to {usd(cost.live_high, '?')}."
        else:
            text += "\nSome models have no known price (Preferences → Workspace → prices)."
        return text
