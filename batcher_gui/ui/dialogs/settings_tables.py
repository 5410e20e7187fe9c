"""Preferences → Workspace: the settings that map models to values, edited as small tables.

``prices`` (model → input and output USD per 1M tokens) and ``token_limits`` (model → tokens)
are stored as JSON objects; here each is a table with Add row and Remove row. A row is checked
as it is typed; once every row is complete and right, the whole mapping is sent (the same value
``batcher config set`` would store), else the first problem is said and nothing is sent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from batcher_gui.ui.dialogs.settings_profiles import plain_button

#: Keys of a live price besides input and output, kept as they were (cached input...).
_EXTRA = "extra"


class RowProblem(ValueError):
    """A row that cannot be stored as it is; the message says what to type."""


def _decimal(value: float) -> str:
    """0.075 as "0.075", 2.0 as "2", 1e-05 as "0.00001" (never scientific notation)."""
    return f"{value:.10f}".rstrip("0").rstrip(".")


def _amount(text: str, what: str, row: int) -> float:
    cleaned = text.strip().lstrip("$").strip()
    try:
        value = float(cleaned)
    except ValueError:
        value = -1.0
    if not cleaned or not math.isfinite(value) or value < 0:
        raise RowProblem(f"Row {row}: {what} must be a number of 0 or more (USD per 1M "
                         "tokens), e.g. 0.15.")
    return value


class MappingTable(QWidget):
    """A table of model → value with Add row and Remove row (see the module docstring).

    Signals: ``edited(dict)`` with the whole mapping, once complete; ``problem(str)`` with
    what to fix (an empty string: nothing to fix, nothing changed)."""

    edited = Signal(object)
    problem = Signal(str)
    COLUMNS: tuple[str, ...] = ()
    MODEL_HINT = "e.g. gpt-4o-mini"

    def __init__(self, name: str, parent: Any = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setAccessibleName(name)
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table, as everywhere else
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(self.COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(130)
        self.table.setMaximumHeight(200)
        self.table.itemChanged.connect(lambda _item: self.changed())
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.add_button = plain_button("Add row", f"Add a row to {name}")
        self.add_button.clicked.connect(self.add_row)
        self.remove_button = plain_button("Remove row", f"Remove the selected row of {name}")
        self.remove_button.clicked.connect(self.remove_rows)
        self.remove_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self._shown: dict[str, Any] = {}

    # -- what each kind of table has -----------------------------------------------------------
    def _fill(self, row: int, model: str, value: Any) -> None:
        raise NotImplementedError

    def _value(self, row: int) -> Any:
        """The stored value of a row (its model is checked by the caller)."""
        raise NotImplementedError

    def _blank(self, row: int) -> bool:
        return all(not self._text(row, c) for c in range(len(self.COLUMNS)))

    # -- showing -------------------------------------------------------------------------------
    def set_mapping(self, mapping: Mapping[str, Any]) -> None:
        """Show the stored ``mapping`` as stored (without sending it back). Rows not stored
        yet are dropped, unless the user is typing in a cell of a table that says the same."""
        wanted = dict(mapping)
        editing = self.table.state() is QAbstractItemView.State.EditingState
        try:
            if editing and self.read() == wanted:  # the user types on: leave the rows be
                self._shown = wanted
                return
        except RowProblem:
            pass
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for model, value in wanted.items():
            row = self.table.rowCount()
            self.table.insertRow(row)
            self._fill(row, model, value)
        self.table.blockSignals(False)
        self._shown = wanted
        self._selection_changed()

    def add_row(self) -> None:
        row = self.table.rowCount()
        self.table.blockSignals(True)
        self.table.insertRow(row)
        self._fill(row, "", None)
        self.table.blockSignals(False)
        self.table.setCurrentCell(row, 0)  # typing starts editing it (any key edits)
        self.table.setFocus()

    def remove_rows(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()}, reverse=True)
        for row in rows:
            self.table.removeRow(row)
        if rows:
            self.changed()

    def _selection_changed(self) -> None:
        self.remove_button.setEnabled(bool(self.table.selectedIndexes()))

    # -- reading back --------------------------------------------------------------------------
    def _text(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text().strip() if item is not None else ""

    def _item(self, text: str, hint: str = "") -> QTableWidgetItem:
        item = QTableWidgetItem(text)
        if hint:
            item.setToolTip(hint)
        return item

    def read(self) -> dict[str, Any]:
        """The mapping the rows make; raises RowProblem for the first row that is not right
        (rows left wholly empty are skipped)."""
        out: dict[str, Any] = {}
        first: dict[str, int] = {}
        for row in range(self.table.rowCount()):
            if self._blank(row):
                continue
            model = self._text(row, 0).lower()
            if not model:
                raise RowProblem(f"Row {row + 1}: type the model's name ({self.MODEL_HINT}).")
            if model in first:
                raise RowProblem(f"Row {row + 1}: {model} is in row {first[model] + 1} too; "
                                 "one row per model.")
            first[model] = row
            out[model] = self._value(row)
        return out

    def changed(self) -> None:
        """A cell was typed (or a row removed): send the mapping once it is right."""
        try:
            mapping = self.read()
        except RowProblem as exc:
            self.problem.emit(str(exc))
            return
        if mapping == self._shown:
            self.problem.emit("")
            return
        self.edited.emit(mapping)


class PricesTable(MappingTable):
    """Model | input | output | which price it is (batch, or the live list price)."""

    COLUMNS = ("Model", "Input $/1M tokens", "Output $/1M tokens", "Price is")
    KINDS = (("batch", "the batch price"), ("live", "the live price (halved for batches)"))

    def _fill(self, row: int, model: str, value: Any) -> None:
        extra: dict[str, Any] = {}
        kind, prices = "batch", ("", "")
        if isinstance(value, (list, tuple)):
            prices = (_decimal(value[0]), _decimal(value[1]))
        elif isinstance(value, Mapping):
            kind = "live"
            prices = (_decimal(value["input"]), _decimal(value["output"]))
            extra = {k: v for k, v in value.items() if k not in ("input", "output")}
        name = self._item(model, "A model name, or its start: gpt-4o is every model whose "
                                 "name begins with gpt-4o")
        name.setData(Qt.ItemDataRole.UserRole, extra)
        self.table.setItem(row, 0, name)
        self.table.setItem(row, 1, self._item(prices[0], "USD per 1 million input tokens"))
        self.table.setItem(row, 2, self._item(prices[1], "USD per 1 million output tokens"))
        choice = QComboBox()
        choice.setAccessibleName(f"Row {row + 1}: which price")
        for data, text in self.KINDS:
            choice.addItem(text, data)
        choice.setCurrentIndex(0 if kind == "batch" else 1)
        if extra:
            choice.setToolTip("Also kept: " + ", ".join(f"{k.replace('_', ' ')} {v}"
                                                        for k, v in extra.items()))
        choice.currentIndexChanged.connect(lambda _i: self.changed())
        self.table.setCellWidget(row, 3, choice)

    def _blank(self, row: int) -> bool:
        return all(not self._text(row, c) for c in range(3))

    def _value(self, row: int) -> Any:
        model = self._text(row, 0)
        if not self._text(row, 1) and not self._text(row, 2):
            raise RowProblem(f"Row {row + 1}: type the input and output prices of {model}.")
        low = _amount(self._text(row, 1), "the input price", row + 1)
        high = _amount(self._text(row, 2), "the output price", row + 1)
        choice = self.table.cellWidget(row, 3)
        if isinstance(choice, QComboBox) and choice.currentData() == "live":
            item = self.table.item(row, 0)
            extra = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
            return {"input": low, "output": high, **(extra or {})}
        return (low, high)


class TokenLimitsTable(MappingTable):
    """Model (or profile/model) | tokens."""

    COLUMNS = ("Model (or profile/model)", "Tokens")

    def _fill(self, row: int, model: str, value: Any) -> None:
        self.table.setItem(row, 0, self._item(model, "A model name, or its start; "
                                                     "profile/model for one profile only"))
        tokens = "" if value is None else f"{int(value):,}"
        item = self._item(tokens, "Input tokens of this model that may wait at the provider "
                                  "at once")
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.table.setItem(row, 1, item)

    def _value(self, row: int) -> Any:
        text = self._text(row, 1).replace(",", "").replace("_", "").replace(" ", "")
        if not text.isdigit() or int(text) <= 0:
            raise RowProblem(f"Row {row + 1}: the limit must be a whole number of tokens "
                             "above 0, e.g. 2,000,000.")
        return int(text)
