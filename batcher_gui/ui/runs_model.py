"""The runs table (one row per run, newest first) and the batches table of the selection.

Both are small (runs and batches number in the tens to thousands), so each refresh reads them
whole in the view reader and updates the table in place: rows that changed get
``dataChanged``; a different set of rows resets the table (selection kept by the view).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from batcher_gui.config.prices import price_table
from batcher_gui.domain.models import Batch
from batcher_gui.domain.money import usd
from batcher_gui.domain.pricing import CostRange
from batcher_gui.domain.states import PromptState
from batcher_gui.domain.views import RunOverview
from batcher_gui.ui.theme import age, money, state_colour, state_label, when

Index = QModelIndex | QPersistentModelIndex
ItemRole = Qt.ItemDataRole.UserRole + 1
#: Role returning, for a progress column, the segments (state, count) to paint.
ProgressRole = Qt.ItemDataRole.UserRole + 2
T = TypeVar("T")

P = PromptState
_DONE = (P.PROCESSED, P.DELIVERED, P.DELIVERING)
_FAILED = (P.FAILED, P.EXPIRED, P.CANCELLED)


class _TableModel(QAbstractTableModel, Generic[T]):
    """A table of items with an ``id``; subclasses say the columns and cells."""

    HEADERS: tuple[str, ...] = ()
    NUMERIC: frozenset[int] = frozenset()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._items: list[T] = []

    def set_items(self, items: Sequence[T]) -> None:
        new = list(items)
        if [self.key(i) for i in new] != [self.key(i) for i in self._items]:
            self.beginResetModel()
            self._items = new
            self.endResetModel()
            return
        for row, (old, item) in enumerate(zip(self._items, new, strict=True)):
            if old != item:
                self._items[row] = item
                self.dataChanged.emit(self.index(row, 0),
                                      self.index(row, len(self.HEADERS) - 1))

    def key(self, item: T) -> int:
        """What identifies an item across refreshes (its id)."""
        raise NotImplementedError

    def item(self, row: int) -> T | None:
        return self._items[row] if 0 <= row < len(self._items) else None

    def items(self) -> list[T]:
        return list(self._items)

    def row_of(self, key: Any) -> int:
        for row, item in enumerate(self._items):
            if self.key(item) == key:
                return row
        return -1

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section] if 0 <= section < len(self.HEADERS) else None
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self.item(index.row())
        if item is None:
            return None
        if role == ItemRole:
            return item
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in self.NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return self.cell(item, index.column(), role)

    def cell(self, item: T, column: int, role: int) -> Any:
        raise NotImplementedError


class RunsModel(_TableModel[RunOverview]):
    """One row per run: progress by state, counts, tokens, cost, timing."""

    HEADERS = ("Run", "Progress", "Pending", "In flight", "Done", "Failed", "Tokens", "Cost",
               "Profile · model", "Source", "Started", "Finished", "Estimate")
    NUMERIC = frozenset({2, 3, 4, 5, 6, 7, 12})

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.prices = price_table()

    def key(self, item: RunOverview) -> int:
        return item.run.id

    def cost(self, run: RunOverview) -> float | None:
        return self.prices.usage_cost(run.usage, run.cache)

    def estimate(self, run: RunOverview) -> CostRange | None:
        """The run's cost range from its counted tokens (None: nothing counted yet)."""
        if not run.estimate:
            return None
        return self.prices.estimate({model: (tokens_in, bound)
                                     for model, _, tokens_in, bound in run.estimate})

    def _estimate_text(self, run: RunOverview, tooltip: bool) -> str:
        cost = self.estimate(run)
        if cost is None:
            return "counting…" if run.total else ""
        text = f"{usd(cost.low, '')} – {usd(cost.high, '')}" if cost.priced else "no price known"
        if run.counted < run.total:
            text = f"≥ {text} (counting)"
        if not tooltip:
            return text
        tokens_in = sum(e[2] for e in run.estimate)
        bound = sum(e[3] for e in run.estimate)
        return (f"Estimated cost at batch prices, from {run.counted:,} of {run.total:,} "
                f"prompts counted: {tokens_in:,} input tokens, at most {bound:,} output.\n"
                f"Live calls would cost up to {usd(cost.live_high, '?')}.")

    def cell(self, item: RunOverview, column: int, role: int) -> Any:
        if column == 12 and role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._estimate_text(item, role == Qt.ItemDataRole.ToolTipRole)
        if role == ProgressRole and column == 1:
            return [(s, item.counts.get(s, 0)) for s in PromptState if item.counts.get(s)]
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 0:
                return f"{item.run.label}\n{item.run.source_path or ''}"
            if column == 1:
                return "\n".join(f"{s.value}: {n:,}" for s, n in sorted(
                    item.counts.items(), key=lambda kv: kv[0].value)) or "no prompts"
        if role == Qt.ItemDataRole.ForegroundRole and column == 5 and item.count(*_FAILED):
            return state_colour(P.FAILED)
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        tokens_in = sum(u[1] for u in item.usage)
        tokens_out = sum(u[2] for u in item.usage)
        if column == 0:
            return item.run.label.replace("'", "")
        if column == 1:
            done = item.count(*_DONE)
            return f"{done:,} / {item.total:,}"
        if column == 2:
            return f"{item.count(P.PENDING):,}"
        if column == 3:
            return f"{item.count(P.PROCESSING):,}"
        if column == 4:
            return f"{item.count(*_DONE):,}"
        if column == 5:
            return f"{item.count(*_FAILED):,}"
        if column == 6:
            return f"{tokens_in:,} in / {tokens_out:,} out" if tokens_in or tokens_out else ""
        if column == 7:
            cost = self.cost(item)
            if cost is None and item.usage:
                return "no price known"
            return money(cost)
        if column == 8:
            return f"{item.profile} · {', '.join(item.models)}"
        if column == 9:
            return (item.run.source_path or "").rsplit("/", 1)[-1]
        if column == 10:
            return when(item.started_at)
        if column == 11:
            return when(item.finished_at)
        return None


class BatchesModel(_TableModel[Batch]):
    """The batches of the selected run (or all): state, provider id, progress, wait/problem."""

    HEADERS = ("#", "State", "Run", "Model", "Endpoint", "Requests", "Provider batch",
               "Age", "Waiting / problem")
    NUMERIC = frozenset({0, 5})

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.profiles: dict[int, str] = {}

    def key(self, item: Batch) -> int:
        return item.id

    def cell(self, item: Batch, column: int, role: int) -> Any:
        if role == ProgressRole and column == 5 and item.counts_total:
            done = item.counts_completed or 0
            failed = item.counts_failed or 0
            rest = max(item.counts_total - done - failed, 0)
            return [(P.PROCESSED, done), (P.FAILED, failed), (P.PENDING, rest)]
        if role == Qt.ItemDataRole.ForegroundRole and column == 1:
            return state_colour(item.state)
        if role == Qt.ItemDataRole.ForegroundRole and column == 8 and (item.problem
                                                                        or item.error):
            return state_colour("failed")
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        if column == 0:
            return str(item.id)
        if column == 1:
            return state_label(item.state)
        if column == 2:
            return f"#{item.run_id}" if item.run_id else ""
        if column == 3:
            return f"{self.profiles.get(item.profile_id, '?')} · {item.model}"
        if column == 4:
            return item.endpoint.removeprefix("/v1/")
        if column == 5:
            if item.counts_total:
                done = (item.counts_completed or 0) + (item.counts_failed or 0)
                return f"{done:,} / {item.counts_total:,}"
            return f"{item.request_count:,}"
        if column == 6:
            return item.provider_batch_id or ""
        if column == 7:
            return age(item.created_at)
        if column == 8:
            return item.problem or item.wait_reason or item.error or ""
        return None
