"""Preferences → Workspace: the workspace's folder, and a row per setting (label, an editor
that suits its type, help, Reset, and the service's answer).

Every change goes through the service at once (there is no OK button to forget): a value the
service refuses is shown next to its field, in the window's words (the setting's label, never
its key), and nothing changes. The page is built from the typed settings model, so a new
setting appears here by itself; prices and token limits are tables (settings_tables.py).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from batcher_gui.config.prices import prices_date
from batcher_gui.config.settings import SPECS, SettingSpec
from batcher_gui.domain.errors import BatcherError, InvalidInput
from batcher_gui.ui.base.messages import open_path
from batcher_gui.ui.dialogs import words
from batcher_gui.ui.dialogs.settings_profiles import Message, Tasks, plain_button
from batcher_gui.ui.dialogs.settings_tables import MappingTable, PricesTable, TokenLimitsTable

if TYPE_CHECKING:
    from batcher_gui.app import Service

UNITS = {"s": "seconds"}
#: The settings edited as tables: their help says how to fill the table in (the model's help
#: describes the JSON the command line takes).
TABLES: dict[str, tuple[type[MappingTable], str]] = {
    "prices": (PricesTable, (
        "your own prices, over the built-in table (prices of {date}). A model name also "
        "covers longer names that start with it: gpt-4o covers gpt-4o-2024-08-06. The batch "
        "price is what the Batch API charges; the live price is the list price, halved for "
        "batches")),
    "token_limits": (TokenLimitsTable, (
        "how many input tokens of one model may wait at the provider at once (your account's "
        "batch queue limit), over the built-in table. A batch is sent only when it fits "
        "beside the model's batches already there. Write profile/model (e.g. azure-eu/gpt-4o) "
        "for a limit of one profile only")),
}


class SettingRow:
    """One setting: a label, an editor that suits its type, its help, Reset, its message."""

    def __init__(self, page: WorkspacePage, spec: SettingSpec) -> None:
        self.page, self.spec = page, spec
        name = spec.label
        self.label = QLabel(name)
        self.wide = spec.kind in ("tuple", "mapping")  # lists and tables take the room there is
        self.editor: QCheckBox | QComboBox | QLineEdit | MappingTable
        help_text = spec.help
        if spec.kind == "bool":
            self.editor = QCheckBox("on")
            self.editor.toggled.connect(lambda on: self.page.apply(self, on))
        elif spec.key == "default_profile":
            self.editor = QComboBox()
            self.editor.activated.connect(  # activated: the user's choice, not a refill
                lambda i: self.page.apply(self, self.editor.itemData(i)))
        elif spec.key in TABLES:  # prices, token limits: a row per model
            table, help_text = TABLES[spec.key]
            help_text = help_text.format(date=prices_date())
            self.editor = table(name)
            self.editor.edited.connect(lambda mapping: self.page.apply(self, mapping))
            self.editor.problem.connect(self._table_problem)
        else:  # numbers and lists are typed: the model parses and checks the text
            self.editor = QLineEdit()
            self.editor.setPlaceholderText(words.expected(spec))
            self.editor.editingFinished.connect(self._typed)
            if not self.wide:
                self.editor.setMaximumWidth(160)
        self.editor.setAccessibleName(name)
        if not isinstance(self.editor, MappingTable):
            self.editor.setToolTip(f"{help_text[:1].upper()}{help_text[1:]}")
        self.label.setBuddy(self.editor)
        self.unit = QLabel(UNITS.get(spec.unit, spec.unit))
        default = words.shown(spec, spec.default)
        self.reset = plain_button("Reset", f"Reset {name}")
        self.reset.setToolTip(f"Back to the default: {default}")
        self.reset.clicked.connect(lambda: self.page.reset(self))
        self.help = QLabel(f"{help_text[:1].upper()}{help_text[1:]}. Default: {default}.")
        self.help.setWordWrap(True)
        self.help.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # quieter than labels
        self.message = Message(f"{name} message")
        self._tried: str | None = None  # the last text sent: leaving the field resends nothing

    def set_value(self, value: Any) -> None:
        """Show ``value`` (the stored one) without sending it back."""
        self.editor.blockSignals(True)
        if isinstance(self.editor, QCheckBox):
            self.editor.setChecked(bool(value))
        elif isinstance(self.editor, QComboBox):
            if self.editor.findData(value) < 0:
                self.editor.addItem(value, value)
            self.editor.setCurrentIndex(self.editor.findData(value))
        elif isinstance(self.editor, MappingTable):
            self.editor.set_mapping(value)
        else:
            self.editor.setText(self.spec.shown(value))
        self.editor.blockSignals(False)
        self._tried = None
        self.reset.setEnabled(value != self.spec.default)

    def _table_problem(self, text: str) -> None:
        if text:
            self.message.error(f"{text} Not saved yet.")
        else:
            self.message.clear_message()

    def _typed(self) -> None:
        assert isinstance(self.editor, QLineEdit)
        text = self.editor.text().strip()
        if text not in (self.spec.shown(getattr(self.page.service.settings, self.spec.key)),
                        self._tried):
            self._tried = text
            self.page.apply(self, text)


class WorkspacePage(QWidget):
    """The workspace's folder, and every workspace setting from :data:`SPECS`."""

    #: the default profile changed (the profiles page marks it).
    changed = Signal()

    def __init__(self, service: Service, tasks: Tasks, parent: Any = None) -> None:
        super().__init__(parent)
        self.service, self.tasks = service, tasks
        folder = QGroupBox("Workspace folder")
        self.path = QLabel(str(service.paths.root.absolute()))
        self.path.setAccessibleName("Workspace folder")
        self.path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.path.setWordWrap(True)
        self.open_button = plain_button("Open folder")
        self.open_button.setToolTip("Show the workspace's database, batches, results and logs")
        self.open_button.clicked.connect(self.open_folder)
        row = QHBoxLayout(folder)
        row.addWidget(self.path, 1)
        row.addWidget(self.open_button)

        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        grid.setVerticalSpacing(2)
        self.rows: dict[str, SettingRow] = {}
        for spec in SPECS.values():
            setting = self.rows[spec.key] = SettingRow(self, spec)
            r = grid.rowCount()
            top = (Qt.AlignmentFlag.AlignTop if isinstance(setting.editor, MappingTable)
                   else Qt.AlignmentFlag(0))
            grid.addWidget(setting.label, r, 0, top)
            editor = QHBoxLayout()
            editor.addWidget(setting.editor, 1 if setting.wide else 0)
            editor.addWidget(setting.unit)
            if not setting.wide:
                editor.addStretch(1)
            grid.addLayout(editor, r, 1)
            grid.addWidget(setting.reset, r, 2, top)
            grid.addWidget(setting.help, r + 1, 1, 1, 2)
            grid.addWidget(setting.message, r + 2, 1, 1, 2)
            grid.setRowMinimumHeight(r + 3, 10)  # air between two settings
        body = QWidget()
        body.setLayout(grid)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        settings = QGroupBox("Settings of this workspace (each applies as soon as it is changed)")
        QVBoxLayout(settings).addWidget(scroll)
        layout = QVBoxLayout(self)
        layout.addWidget(folder)
        layout.addWidget(settings, 1)

    async def reload(self) -> None:
        """Show the current values, and the profiles the default can be."""
        choices = self.rows["default_profile"].editor
        assert isinstance(choices, QComboBox)
        choices.clear()  # its signal is "activated": the user's choices only
        for profile in await self.service.profiles():
            choices.addItem(profile.name, profile.name)
        for key, setting in self.rows.items():
            setting.set_value(getattr(self.service.settings, key))

    def open_folder(self) -> None:
        open_path(self, self.service.paths.root, "the workspace folder")

    def apply(self, row: SettingRow, value: Any) -> None:
        self.tasks.start(self._apply(row, value), f"set-{row.spec.key}")

    async def _apply(self, row: SettingRow, value: Any) -> None:
        key = row.spec.key
        old = getattr(self.service.settings, key)
        try:
            await asyncio.shield(self.service.set_setting(key, value))
        except BatcherError as exc:
            said = (words.refused(row.spec) if isinstance(exc, InvalidInput)
                    and row.spec.kind != "str" else words.plain(str(exc)).rstrip(".") + ".")
            row.message.error(f"{said} Not changed: still {words.shown(row.spec, old)}.")
            if not isinstance(row.editor, (QLineEdit, MappingTable)):
                row.set_value(old)  # typed text and rows stay, to be fixed; a choice goes back
            return
        row.set_value(getattr(self.service.settings, key))
        row.message.say("Saved.")
        if key == "default_profile":
            self.changed.emit()

    def reset(self, row: SettingRow) -> None:
        self.tasks.start(self._reset(row), f"reset-{row.spec.key}")

    async def _reset(self, row: SettingRow) -> None:
        try:
            await asyncio.shield(self.service.unset_setting(row.spec.key))
        except BatcherError as exc:
            row.message.error(words.plain(str(exc)))
            return
        row.set_value(getattr(self.service.settings, row.spec.key))
        row.message.say("Back to the default.")
        if row.spec.key == "default_profile":
            self.changed.emit()
