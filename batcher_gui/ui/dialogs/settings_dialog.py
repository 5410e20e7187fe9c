"""Preferences (Ctrl+,): provider profiles with their keys, and the workspace's settings.

A key goes from the password field straight to the OS keyring through the service, and the
field is emptied: nothing here reads a stored key back, so none can ever be shown.

Every change goes through the service at once (there is no OK button to forget): a value the
service refuses is shown next to its field, in the window's words (the setting's label, never
its key), and nothing changes. The workspace page is built from the typed settings model, so a
new setting appears here by itself; prices and token limits are tables (settings_tables.py).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QByteArray, QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from batcher_gui.config.prices import prices_date
from batcher_gui.config.secrets import OPENAI_KEY_ENV, SecretStoreUnavailable
from batcher_gui.config.settings import SPECS, SettingSpec
from batcher_gui.domain.errors import BatcherError, InvalidInput
from batcher_gui.domain.models import Profile, ProfileKind
from batcher_gui.ui.dialogs import words
from batcher_gui.ui.dialogs.settings_profiles import Message, ProfilesPage, Tasks, plain_button
from batcher_gui.ui.dialogs.settings_tables import MappingTable, PricesTable, TokenLimitsTable

if TYPE_CHECKING:
    from batcher_gui.app import Service

T = TypeVar("T")

UNITS = {"s": "seconds"}
#: verdict kind → (state colour, mark): the mark tells them apart without colour.
VERDICTS = {"works": ("completed", "✔"), "key refused": ("failed", "✖"),
            "unreachable": ("expired", "⚠"), "no key": ("expired", "⚠")}
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


class KeyBox(QGroupBox):
    """The shown profile's API key: whether one is stored, store, remove, test the connection."""

    def __init__(self, service: Service, tasks: Tasks) -> None:
        super().__init__("API key")
        self.service, self.tasks = service, tasks
        self.profile: Profile | None = None
        self._shown = 0  # bumped per profile: a late answer about another one is dropped
        self._focus = False
        self.status = QLabel()
        self.status.setAccessibleName("Key status")
        self.status.setWordWrap(True)
        self.edit = QLineEdit()
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setAccessibleName("API key")
        self.edit.setPlaceholderText("paste a key to store it (it is never shown)")
        self.edit.textChanged.connect(lambda text: self.save_button.setEnabled(
            bool(text.strip()) and self._usable()))
        self.edit.returnPressed.connect(self._save_clicked)
        self.save_button = plain_button("Save key")
        self.save_button.clicked.connect(self._save_clicked)
        self.remove_button = plain_button("Remove key")
        self.remove_button.clicked.connect(lambda: self.tasks.start(self.remove(), "remove-key"))
        self.test_button = plain_button("Test connection")
        self.test_button.setToolTip("One cheap call to the provider, as the profile is saved, "
                                    "with the key typed here (else the stored one)")
        self.test_button.clicked.connect(lambda: self.tasks.start(self.test(), "test"))
        self.verdict = Message("Connection verdict")
        self.keyring_note = Message("Keyring note")
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        row = QHBoxLayout()
        row.addWidget(self.edit, 1)
        for button in (self.save_button, self.remove_button, self.test_button):
            row.addWidget(button)
        layout.addLayout(row)
        layout.addWidget(self.verdict)
        layout.addWidget(self.keyring_note)
        self.show_for(None)

    def _usable(self) -> bool:
        return self.profile is not None and not self.profile.is_builtin_sandbox

    def show_for(self, profile: Profile | None) -> None:
        self.profile = profile
        self._shown += 1
        self.edit.clear()
        self.verdict.clear_message()
        self.keyring_note.clear_message()
        self.tasks.start(self.refresh(), "key-state")

    def focus_field(self) -> None:
        """Put the cursor in the key field (once it can take a key)."""
        self._focus = not self.edit.isEnabled()
        if not self._focus:
            self.edit.setFocus()

    async def refresh(self) -> None:
        profile, shown = self.profile, self._shown
        for widget in (self.edit, self.remove_button):
            widget.setEnabled(self._usable())
        self.save_button.setEnabled(False)  # until a key is typed
        self.test_button.setEnabled(profile is not None)
        if profile is None:
            self.status.setText("Save the profile first; then store its key here.")
            return
        if profile.is_builtin_sandbox:
            self.status.setText("No key needed: the built-in sandbox runs on this computer and "
                                "costs nothing.")
            return
        self.status.setText("Looking for a key…")
        has = await self.service.has_key(profile)  # reads the keyring: never the key itself
        reason = self.service.secrets.unavailable_reason
        if shown != self._shown:
            return
        env = profile.key_env or (OPENAI_KEY_ENV if profile.kind is ProfileKind.OPENAI else None)
        if has and env and os.environ.get(env, "").strip():
            self.status.setText(f"✔ Key available from the environment variable {env} (a key "
                                "stored in the OS keyring would come first).")
        elif has:
            self.status.setText("✔ Key stored in the OS keyring. Paste a new one to replace it.")
        elif reason:
            self.status.setText("No key yet, and none can be stored here (see below).")
        else:
            self.status.setText("No key stored yet: paste it below and press Save key.")
        if reason:
            self.keyring_note.error(words.no_keyring(reason))
        if self._focus:
            self.focus_field()

    def _save_clicked(self) -> None:
        if self.save_button.isEnabled():
            self.tasks.start(self.save(), "save-key")

    async def save(self) -> None:
        profile = self.profile
        if profile is None:
            return
        self.save_button.setEnabled(False)
        stored, _ = await self._keyring(asyncio.shield(
            self.service.set_key(profile.name, self.edit.text())))
        self.save_button.setEnabled(bool(self.edit.text().strip()))
        if not stored:
            return
        self.edit.clear()  # stored: no copy stays in the widget
        self.save_button.setEnabled(False)
        self.verdict.say(f"Stored the key for “{profile.name}” in the OS keyring.")
        await self.refresh()

    async def _keyring(self, call: Awaitable[T]) -> tuple[bool, T | None]:
        """(done, its answer) of a keyring change; a refusal is shown where it belongs."""
        try:
            return True, await call
        except SecretStoreUnavailable:
            self.keyring_note.error(words.no_keyring(self.service.secrets.unavailable_reason))
        except BatcherError as exc:
            self.verdict.error(str(exc))
        return False, None

    async def remove(self) -> None:
        if self.profile is None:
            return
        done, gone = await self._keyring(asyncio.shield(self.service.delete_key(self.profile.name)))
        if not done:
            return
        self.verdict.say("Removed the stored key." if gone else "There was no stored key.")
        await self.refresh()

    async def test(self) -> None:
        profile, shown = self.profile, self._shown
        if profile is None:
            return
        self.test_button.setText("Testing…")
        self.test_button.setEnabled(False)
        self.verdict.say("Asking the provider…", "in_progress", "…")
        try:
            verdict = await self.service.test_connection(
                profile.name, key=self.edit.text().strip() or None)
        except BatcherError as exc:
            verdict = None
            self.verdict.error(str(exc))
        finally:
            self.test_button.setText("Test connection")
            self.test_button.setEnabled(True)
        if verdict is not None and shown == self._shown:  # else: about a profile left behind
            state, mark = VERDICTS.get(verdict.kind, ("failed", "✖"))
            keyring = self.service.secrets.unavailable_reason is None
            self.verdict.say(words.verdict(verdict.kind, verdict.message, profile,
                                           keyring=keyring), state, mark)


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
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.service.paths.root)))

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


class SettingsDialog(QDialog):
    """Preferences: ``SettingsDialog(service, parent=window)``, then ``open()`` (never
    ``exec()``: a nested event loop would re-enter qasync). Reads the service again each time
    it is shown."""

    PAGES = ("profiles", "workspace")

    def __init__(self, service: Service, parent: Any = None) -> None:
        super().__init__(parent)
        self.service = service
        self.setWindowTitle("Preferences")
        self.setObjectName("settings-dialog")
        self.tasks = Tasks(self)
        self.profiles = ProfilesPage(service, self.tasks)
        self.workspace = WorkspacePage(service, self.tasks)
        self.keys = KeyBox(service, self.tasks)
        self.profiles.right.insertWidget(1, self.keys)
        self.profiles.shown.connect(self.keys.show_for)
        self.profiles.changed.connect(lambda: self.tasks.start(self.workspace.reload(),
                                                               "workspace-page"))
        self.workspace.changed.connect(lambda: self.tasks.start(self.profiles.reload(),
                                                                "profiles-page"))
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Settings pages")
        self.tabs.addTab(self.profiles, "Provider profiles")
        self.tabs.addTab(self.workspace, "Workspace")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        for button in buttons.buttons():
            button.setAutoDefault(False)  # Enter in a field must not close the dialog
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
        self.resize(920, 720)
        # The window's layout memory, if it has one (MainWindow.settings).
        memory = getattr(parent, "settings", None)
        self.memory = memory if isinstance(memory, QSettings) else None
        geometry = self.memory.value("preferences/geometry") if self.memory else None
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not event.spontaneous():  # shown by the program, not restored by the desktop
            self.tasks.start(self._load(), "load")

    async def _load(self) -> None:
        await self.profiles.reload()
        await self.workspace.reload()

    def open_page(self, name: str) -> None:
        """Show the page ``name``: "profiles" or "workspace"."""
        if name not in self.PAGES:
            raise ValueError(f"no settings page {name!r}; pages: {', '.join(self.PAGES)}")
        self.tabs.setCurrentIndex(self.PAGES.index(name))

    def select_profile(self, name: str) -> None:
        """Show the profiles page with ``name`` selected (once the list is read)."""
        self.open_page("profiles")
        self.profiles.select_profile(name)

    def focus_key_field(self) -> None:
        """Put the cursor in the shown profile's API key field ("Add your OpenAI key")."""
        self.open_page("profiles")
        self.keys.focus_field()

    def done(self, result: int) -> None:
        if self.memory is not None:
            self.memory.setValue("preferences/geometry", self.saveGeometry())
        super().done(result)
