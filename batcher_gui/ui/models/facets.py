"""The facets beside the prompts table: one line per facet value with its count, each a
toggle (Datasette's facets). Values of one facet are OR-ed, facets AND-ed; the chosen values
become the facet fields of the prompts query (:meth:`FacetsModel.filters`).

A flat list: a heading line per facet (state, model, check, label, note, finish reason, error
kind), then its values, most frequent first. A chosen value stays listed at a count of 0, so
it can be unchosen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFont

from batcher_gui.domain.review import FacetCounts
from batcher_gui.domain.states import PromptState
from batcher_gui.domain.views import CheckState

Index = QModelIndex | QPersistentModelIndex
#: (facet, heading) in the order shown; the facet is also the PromptQuery field it fills.
FACETS: tuple[tuple[str, str], ...] = (
    ("states", "State"), ("models", "Model"), ("checks", "Check"), ("labels", "Label"),
    ("has_note", "Note"), ("finish_reasons", "Finish reason"), ("error_kinds", "Error kind"),
)
#: Role of a line's (facet, value) (None for a heading).
FacetRole = Qt.ItemDataRole.UserRole + 1
_CHECK_WORDS = {CheckState.PASSED: "passed", CheckState.FAILED: "failed",
                CheckState.UNCHECKED: "not checked"}


class FacetsModel(QAbstractListModel):
    """See the module docstring. ``filtersChanged`` follows every toggle."""

    filtersChanged = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._counts = FacetCounts()
        self._chosen: dict[str, set[Any]] = {name: set() for name, _ in FACETS}
        self._label_names: dict[int, str] = {}
        #: (facet or None, value, text) per line; facet None: a heading.
        self._lines: list[tuple[str | None, Any, str]] = []
        self._rebuild()

    # -- what it shows -------------------------------------------------------------------------
    def set_counts(self, counts: FacetCounts) -> None:
        self._counts = counts
        self._rebuild()

    def set_label_names(self, names: dict[int, str]) -> None:
        if names != self._label_names:
            self._label_names = dict(names)
            self._rebuild()

    def words(self, facet: str, value: Any) -> str:
        """A value as the list says it."""
        if facet == "states":
            return str(PromptState(value).value)
        if facet == "checks":
            return _CHECK_WORDS[CheckState(value)]
        if facet == "labels":
            return "no label" if value == 0 else self._label_names.get(value, f"label {value}")
        if facet == "has_note":
            return "with a note" if value else "without a note"
        if facet in ("finish_reasons", "error_kinds"):
            return str(value) if value else "none"
        return str(value)

    def _values(self, facet: str) -> dict[Any, int]:
        c = self._counts
        if facet == "has_note":
            return {True: c.notes[0], False: c.notes[1]}
        found: dict[Any, int] = dict(getattr(c, facet))
        return found

    def _rebuild(self) -> None:
        self.beginResetModel()
        self._lines = []
        for facet, heading in FACETS:
            values = self._values(facet)
            for chosen in self._chosen[facet]:
                values.setdefault(chosen, 0)
            shown = [(v, n) for v, n in values.items() if n or v in self._chosen[facet]]
            if not shown:
                continue
            self._lines.append((None, facet, heading))
            for value, n in sorted(shown, key=lambda vn: (-vn[1], str(vn[0]))):
                self._lines.append((facet, value, f"{self.words(facet, value)}  {n:,}"))
        self.endResetModel()

    # -- toggles -------------------------------------------------------------------------------
    def toggle(self, row: int) -> None:
        """Choose or unchoose the value on ``row`` (a heading: nothing)."""
        if not 0 <= row < len(self._lines):
            return
        facet, value, _ = self._lines[row]
        if facet is None:
            return
        chosen = self._chosen[facet]
        if facet == "has_note":  # with and without together is no filter: one at a time
            chosen.symmetric_difference_update({value})
            chosen.discard(not value)
        else:
            chosen.symmetric_difference_update({value})
        self.dataChanged.emit(self.index(row), self.index(row), [Qt.ItemDataRole.CheckStateRole])
        self.filtersChanged.emit()

    def clear(self) -> None:
        if any(self._chosen.values()):
            for chosen in self._chosen.values():
                chosen.clear()
            self._rebuild()
            self.filtersChanged.emit()

    def chosen(self) -> dict[str, set[Any]]:
        return {k: set(v) for k, v in self._chosen.items() if v}

    def filters(self) -> dict[str, Any]:
        """The PromptQuery fields of the chosen values (empty: any)."""
        sort: Callable[[Any], str] = str
        out: dict[str, Any] = {}
        for facet, _ in FACETS:
            values = self._chosen[facet]
            if facet == "has_note":
                out[facet] = next(iter(values)) if values else None
            elif facet == "states":
                out[facet] = tuple(sorted((PromptState(v) for v in values), key=sort))
            elif facet == "checks":
                out[facet] = tuple(sorted((CheckState(v) for v in values), key=sort))
            else:
                out[facet] = tuple(sorted(values, key=sort))
        return out

    # -- Qt model API --------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._lines)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._lines):
            return None
        facet, value, text = self._lines[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return text
        if role == FacetRole:
            return None if facet is None else (facet, value)
        if role == Qt.ItemDataRole.CheckStateRole and facet is not None:
            return (Qt.CheckState.Checked if value in self._chosen[facet]
                    else Qt.CheckState.Unchecked)
        if role == Qt.ItemDataRole.FontRole and facet is None:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole and facet is not None:
            return f"Show only these prompts (click again to show all); {self.words(facet, value)}"
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if self._lines[index.row()][0] is None:
            return Qt.ItemFlag.ItemIsEnabled
        # Not ItemIsUserCheckable: the box only shows the choice; a click anywhere on the line
        # toggles it (the view's clicked signal), and a click on the box does not toggle twice.
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
