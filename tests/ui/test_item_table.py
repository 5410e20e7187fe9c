"""The runs and batches tables update in place: the selection survives every refresh, and a
selected item that goes away is deselected out loud (selectionChanged)."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import QAbstractItemView, QTableView
from pytestqt.qtbot import QtBot

from batcher_gui.ui.models.table import ItemRole, ItemTableModel


@dataclass(frozen=True)
class Item:
    id: int
    text: str = ""


class Model(ItemTableModel[Item]):
    HEADERS = ("id", "text")

    def key(self, item: Item) -> Hashable:
        return item.id

    def cell(self, item: Item, column: int, role: int) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return str(item.id) if column == 0 else item.text


def _view(qtbot: QtBot, items: list[Item]) -> tuple[QTableView, Model, list[int]]:
    model = Model()
    model.set_items(items)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    changes: list[int] = []

    def changed(_s: QItemSelection, _d: QItemSelection) -> None:
        rows = view.selectionModel().selectedRows()
        changes.append(model.data(rows[0], ItemRole).id if rows else -1)

    view.selectionModel().selectionChanged.connect(changed)
    return view, model, changes


def _selected(view: QTableView) -> int | None:
    rows = view.selectionModel().selectedRows()
    return view.model().data(rows[0], ItemRole).id if rows else None


def test_a_new_item_above_keeps_the_selection_on_the_same_item(qtbot: QtBot,
                                                               qtmodeltester: Any) -> None:
    view, model, changes = _view(qtbot, [Item(3), Item(2), Item(1)])
    view.selectRow(1)
    assert _selected(view) == 2 and changes == [2]
    model.set_items([Item(5), Item(4), Item(3), Item(2, "changed"), Item(1)])
    assert _selected(view) == 2  # the same run, now two rows lower
    assert view.selectionModel().selectedRows()[0].row() == 3
    assert model.data(model.index(3, 1)) == "changed"
    assert set(changes) == {2}  # the same item all along (its row moved)
    qtmodeltester.check(model)


def test_the_selected_item_going_away_is_said(qtbot: QtBot) -> None:
    view, model, changes = _view(qtbot, [Item(3), Item(2), Item(1)])
    view.selectRow(1)
    model.set_items([Item(4), Item(3), Item(1)])  # 2 deleted, 4 added in one refresh
    # The view moves to a neighbour, as lists do after a deletion, and says so: whoever
    # shows the selection's details follows it (it never keeps showing the deleted one).
    assert _selected(view) in (3, 1)
    assert changes[0] == 2 and changes[-1] == _selected(view)
    assert [i.id for i in model.items()] == [4, 3, 1]


def test_items_that_move_keep_the_selection(qtbot: QtBot, qtmodeltester: Any) -> None:
    view, model, changes = _view(qtbot, [Item(1), Item(2), Item(3)])
    view.selectRow(0)
    model.set_items([Item(3), Item(2), Item(1), Item(0)])
    assert _selected(view) == 1
    assert view.selectionModel().selectedRows()[0].row() == 2
    assert [i.id for i in model.items()] == [3, 2, 1, 0]
    qtmodeltester.check(model)


def test_emptying_and_filling_again(qtbot: QtBot) -> None:
    view, model, changes = _view(qtbot, [Item(1), Item(2)])
    view.selectRow(0)
    model.set_items([])
    assert model.rowCount() == 0 and _selected(view) is None and changes[-1] == -1
    model.set_items([Item(7), Item(8)])
    assert [model.data(model.index(r, 0)) for r in range(2)] == ["7", "8"]
