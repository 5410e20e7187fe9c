"""Edit → Labels…: the workspace's label names, keys 1-9 (the number keys in the prompts table).

An emptied name deletes that label (its prompts lose it: said before saving). A refused name
(a duplicate, too long) is said in the dialog, which stays open; nothing is half saved: names
are checked before any is written.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.review import LABEL_KEYS, clean_label_name
from batcher_gui.ui.base.tasks import spawn


class LabelsDialog(QDialog):
    """See the module docstring. ``saved`` follows a successful save."""

    saved = Signal()

    def __init__(self, service: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.setWindowTitle("Labels")
        self.setObjectName("labels-dialog")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("In the prompts table, keys 1–9 put these labels on the "
                                "current prompt (again: off; 0: none), N adds a note."))
        form = QFormLayout()
        self.fields: dict[int, QLineEdit] = {}
        for key in LABEL_KEYS:
            field = QLineEdit()
            field.setAccessibleName(f"Label {key}")
            field.setPlaceholderText("(unused)")
            form.addRow(f"Key {key}:", field)
            self.fields[key] = field
        layout.addLayout(form)
        self.problem = QLabel("")
        self.problem.setObjectName("labels-problem")
        self.problem.setWordWrap(True)
        layout.addWidget(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.names: dict[int, str] = {}

    async def load(self) -> None:
        self.names = await self.service.label_names()
        for key, field in self.fields.items():
            field.setText(self.names.get(key, ""))

    def changes(self) -> tuple[dict[int, str], list[int]]:
        """(names to write by key, keys to delete); raises InvalidInput for a bad name."""
        named, removed = {}, []
        seen: dict[str, int] = {}
        for key, field in self.fields.items():
            text = field.text().strip()
            if not text:
                if key in self.names:
                    removed.append(key)
                continue
            name = clean_label_name(text)
            if name.casefold() in seen:
                raise BatcherError(f"keys {seen[name.casefold()]} and {key} are both called "
                                   f"{name!r}: give each label its own name")
            seen[name.casefold()] = key
            if self.names.get(key) != name:
                named[key] = name
        return named, removed

    def save(self) -> None:
        try:
            named, removed = self.changes()
        except BatcherError as exc:
            self.problem.setText(str(exc))
            return
        spawn(self._save(named, removed), name="labels-save", owner=self)

    async def _save(self, named: dict[int, str], removed: list[int]) -> None:
        try:
            for key in removed:
                await self.service.remove_label(key)
            # Renames that swap two names go through a free name first (names are unique).
            for key in named:
                if key in self.names:
                    await self.service.name_label(key, f"~{key}~")
            for key, name in named.items():
                await self.service.name_label(key, name)
        except BatcherError as exc:
            self.problem.setText(str(exc))
            return
        self.saved.emit()
        self.accept()
