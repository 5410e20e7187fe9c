"""Preferences on a real service, a real SQLite workspace and real sandbox servers (offscreen)."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import pytest
import qasync
from keyring.backends import fail
from PySide6.QtCore import QEvent, QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QTableWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from batcher_gui.app import Service
from batcher_gui.config.profiles import MAX_REQUESTS_RANGE, ProfileFields
from batcher_gui.config.secrets import SERVICE
from batcher_gui.domain.models import ProfileKind
from batcher_gui.ui.dialogs.settings_dialog import SettingsDialog
from batcher_gui.ui.dialogs.settings_tables import PricesTable, TokenLimitsTable
from tests.fakes import MemoryKeyring
from tests.ui.conftest import await_task, open_service

WAIT = 30_000
T = TypeVar("T")
KEY = "sk-proj-Zq8xW3vB7nL2mK9pR4tY6uI1oE5aS0dF"
UNREACHABLE = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there


def make_dialog(qtbot: QtBot, service: Service) -> SettingsDialog:
    dialog = SettingsDialog(service)
    qtbot.addWidget(dialog)
    dialog.show()
    settle(qtbot, dialog)
    assert dialog.profiles.list.count() > 0
    return dialog


def settle(qtbot: QtBot, dialog: SettingsDialog) -> None:
    """Wait until every service call the dialog started has answered."""
    qtbot.waitUntil(lambda: dialog.tasks.idle, timeout=WAIT)


def click(qtbot: QtBot, dialog: SettingsDialog, button: QAbstractButton) -> None:
    assert button.isEnabled() and button.isVisible(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    settle(qtbot, dialog)


def select(qtbot: QtBot, dialog: SettingsDialog, name: str) -> None:
    dialog.select_profile(name)
    settle(qtbot, dialog)
    assert dialog.profiles.current is not None and dialog.profiles.current.name == name


def type_into(qtbot: QtBot, field: QLineEdit, text: str) -> None:
    field.clear()
    qtbot.keyClicks(field, text)


def every_text(dialog: SettingsDialog) -> str:
    """Everything the dialog could show or tell assistive technology, in one string."""
    texts = [dialog.windowTitle()]
    for widget in dialog.findChildren(QWidget):
        for getter in ("text", "displayText", "placeholderText", "toolTip", "statusTip",
                       "whatsThis", "accessibleName", "accessibleDescription", "title",
                       "windowTitle", "currentText"):
            value = getattr(widget, getter, None)
            if callable(value):
                value = value()
                if isinstance(value, str):
                    texts.append(value)
        if isinstance(widget, QListWidget):
            texts += [widget.item(i).text() for i in range(widget.count())]
        if isinstance(widget, QComboBox):
            texts += [widget.itemText(i) for i in range(widget.count())]
    return "\n".join(texts)


def shown(label: QLabel) -> str:
    return label.text() if label.isVisible() else ""


# -- profiles ----------------------------------------------------------------------------------
def test_add_edit_refuse_and_delete_a_profile(service: Service, qtbot: QtBot) -> None:
    dialog = make_dialog(qtbot, service)
    page = dialog.profiles
    assert [p.name for p in page.profiles] == ["openai", "sandbox", "sandbox-claude"]
    assert "(default)" in page.list.item(0).text()

    click(qtbot, dialog, page.add_button)
    assert page.current is None and page.name.text() == ""
    type_into(qtbot, page.name, "acme")
    page.kind.setCurrentIndex(page.kind.findData(ProfileKind.OPENAI_COMPATIBLE.value))
    type_into(qtbot, page.base_url, "http://localhost:8000/v1/")
    page.max_requests.setValue(1_000)
    type_into(qtbot, page.poll, "60")
    click(qtbot, dialog, page.save_button)
    assert "Added the profile “acme”" in shown(page.message)
    acme = await_task(qtbot, service.profile("acme"))
    assert (acme.kind, acme.base_url) == (ProfileKind.OPENAI_COMPATIBLE, "http://localhost:8000/v1")
    assert acme.limits.max_requests == 1_000 and acme.options == {"poll_interval_seconds": 60.0}
    assert page.current is not None and page.current.name == "acme"
    assert page.base_url.text() == "http://localhost:8000/v1"  # as stored

    type_into(qtbot, page.key_env, "ACME_API_KEY")
    page.max_bytes.setValue(5_000_000)
    click(qtbot, dialog, page.save_button)
    assert "Saved the profile “acme”" in shown(page.message)
    acme = await_task(qtbot, service.profile("acme"))
    assert (acme.key_env, acme.limits.max_batch_bytes) == ("ACME_API_KEY", 5_000_000)

    # Refusals are shown in plain words, next to the form, and change nothing.
    for field, text, said in (
            (page.base_url, "localhost 8000", "is not a full web address: write it with "
                                              "http:// or https://"),
            (page.poll, "0", "The poll interval must be from 0.1 to 86,400 seconds, not 0"),
            (page.poll, "soon", "must be a number of seconds, e.g. 60"),
            (page.key_env, "9LIVES", "'9LIVES' is not an environment variable name")):
        before = field.text()
        type_into(qtbot, field, text)
        click(qtbot, dialog, page.save_button)
        message = shown(page.message)
        assert message.startswith("✖") and said in message, message
        for internal in ("--", "got ", "(s)", "Error", "poll_interval"):
            assert internal not in message, message
        assert "Traceback" not in every_text(dialog)
        assert await_task(qtbot, service.profile("acme")) == acme
        type_into(qtbot, field, before)
    type_into(qtbot, page.name, "sandbox")  # taken
    click(qtbot, dialog, page.save_button)
    assert "already exists" in shown(page.message)
    assert sorted(p.name for p in await_task(qtbot, service.profiles())) == [
        "acme", "openai", "sandbox", "sandbox-claude"]
    # A limit the service would refuse cannot even be typed: the boxes hold its own range.
    page.max_requests.setValue(MAX_REQUESTS_RANGE[1] + 1)
    assert page.max_requests.value() == MAX_REQUESTS_RANGE[1]

    # The default profile cannot be deleted; the dialog says how to change it.
    select(qtbot, dialog, "openai")
    click(qtbot, dialog, page.delete_button)
    assert "default profile" in shown(page.message)
    assert page.confirm is None or not page.confirm.isVisible()
    assert "openai" in [p.name for p in await_task(qtbot, service.profiles())]

    select(qtbot, dialog, "acme")
    click(qtbot, dialog, page.delete_button)
    assert page.confirm is not None and page.confirm.isVisible()
    click(qtbot, dialog, page.confirm.button(QMessageBox.StandardButton.Cancel))
    assert "acme" in [p.name for p in await_task(qtbot, service.profiles())]
    click(qtbot, dialog, page.delete_button)
    click(qtbot, dialog, page.confirm.button(QMessageBox.StandardButton.Yes))
    assert "Deleted the profile “acme”" in shown(page.message)
    assert [p.name for p in await_task(qtbot, service.profiles())] == [
        "openai", "sandbox", "sandbox-claude"]
    assert [p.name for p in page.profiles] == ["openai", "sandbox", "sandbox-claude"]


def test_the_default_profile_moves_between_profiles_and_pages(service: Service,
                                                              qtbot: QtBot) -> None:
    dialog = make_dialog(qtbot, service)
    page, combo = dialog.profiles, dialog.workspace.rows["default_profile"].editor
    assert isinstance(combo, QComboBox)
    select(qtbot, dialog, "openai")
    assert page.is_default.isChecked() and not page.is_default.isEnabled()  # never none
    select(qtbot, dialog, "sandbox")
    assert not page.is_default.isChecked()
    assert not page.kind.isEnabled() and page.base_url.isReadOnly()  # served by Batcher
    page.is_default.setChecked(True)
    page.max_requests.setValue(500)
    click(qtbot, dialog, page.save_button)
    assert service.settings.default_profile == "sandbox"
    sandbox = await_task(qtbot, service.profile("sandbox"))
    assert sandbox.limits.max_requests == 500 and sandbox.is_builtin_sandbox
    assert "(default, built-in)" in page.list.item(1).text()
    assert combo.currentText() == "sandbox"  # the workspace page follows

    dialog.open_page("workspace")
    combo.setCurrentIndex(combo.findData("openai"))
    combo.activated.emit(combo.currentIndex())  # what a choice in the list does
    settle(qtbot, dialog)
    assert service.settings.default_profile == "openai"
    assert "(default)" in page.list.item(0).text()
    assert "default" not in page.list.item(1).text()


# -- keys --------------------------------------------------------------------------------------
def test_a_key_is_stored_in_the_keyring_and_never_shown(qloop: qasync.QEventLoop,
                                                        qtbot: QtBot, tmp_path: Path) -> None:
    keyring = MemoryKeyring()
    service = open_service(qtbot, tmp_path / "ws", keyring)
    try:
        dialog = make_dialog(qtbot, service)
        keys = dialog.keys
        select(qtbot, dialog, "openai")
        assert "No key stored" in keys.status.text()
        assert keys.edit.echoMode() is QLineEdit.EchoMode.Password
        assert not keys.save_button.isEnabled()  # nothing typed yet
        type_into(qtbot, keys.edit, KEY)
        assert KEY not in keys.edit.displayText()
        click(qtbot, dialog, keys.save_button)
        assert keyring.entries == {(SERVICE, "openai"): KEY}
        assert "Key stored" in keys.status.text()
        assert "Stored the key" in shown(keys.verdict)
        assert keys.edit.text() == ""  # cleared once stored
        assert KEY not in every_text(dialog) and KEY[8:-8] not in every_text(dialog)
        # Shown again: the field is empty, not pre-filled with the stored key.
        select(qtbot, dialog, "sandbox")
        select(qtbot, dialog, "openai")
        assert keys.edit.text() == "" and "Key stored" in keys.status.text()
        assert KEY not in every_text(dialog)

        click(qtbot, dialog, keys.remove_button)
        assert keyring.entries == {}
        assert "Removed the stored key" in shown(keys.verdict)
        assert "No key stored" in keys.status.text()
        type_into(qtbot, keys.edit, "two words")  # a pasted paragraph, not a key
        click(qtbot, dialog, keys.save_button)
        assert "whitespace" in shown(keys.verdict) and keyring.entries == {}
    finally:
        await_task(qtbot, service.close())


def test_without_a_keyring_the_page_explains_environment_variables(
        qloop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path) -> None:
    service = open_service(qtbot, tmp_path / "ws", fail.Keyring())
    try:
        dialog = make_dialog(qtbot, service)
        select(qtbot, dialog, "openai")
        note = shown(dialog.keys.keyring_note)
        for words in ("No OS keyring is available on this system", "Key env var",
                      "Save profile", "OPENAI_API_KEY"):
            assert words in note
        for internal in ("--key-env", "NoKeyringError", "Error", "batcher ", "backend"):
            assert internal not in note
        type_into(qtbot, dialog.keys.edit, KEY)
        click(qtbot, dialog, dialog.keys.save_button)
        assert ("No OS keyring is available on this system, so Batcher cannot store a key "
                "here") in shown(dialog.keys.keyring_note)
        assert "Error" not in shown(dialog.keys.keyring_note)
        assert not shown(dialog.keys.verdict)  # nothing was stored...
        assert dialog.keys.edit.text() == KEY  # ...so the typed key stays, for another try
        assert KEY not in every_text(dialog).replace(KEY, "", 1)  # (that was edit.text())
        select(qtbot, dialog, "sandbox")  # needs no key: the sandbox never asks the keyring
        assert "No key needed" in dialog.keys.status.text()
        assert not dialog.keys.edit.isEnabled()
    finally:
        await_task(qtbot, service.close())


class ButtonWatch(QObject):
    """What a button said each time it was enabled or disabled."""

    def __init__(self, button: QAbstractButton) -> None:
        super().__init__()
        self.seen: list[tuple[bool, str]] = []
        button.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.EnabledChange and isinstance(obj, QAbstractButton):
            self.seen.append((obj.isEnabled(), obj.text()))
        return False


def test_connection_verdicts(service: Service, provider: str, qtbot: QtBot) -> None:
    await_task(qtbot, service.add_profile(ProfileFields("acme", ProfileKind.OPENAI_COMPATIBLE,
                                                    provider)))
    await_task(qtbot, service.add_profile(ProfileFields("gone", ProfileKind.OPENAI_COMPATIBLE,
                                                    UNREACHABLE)))
    dialog = make_dialog(qtbot, service)
    keys = dialog.keys
    watch = ButtonWatch(keys.test_button)

    select(qtbot, dialog, "sandbox")
    click(qtbot, dialog, keys.test_button)
    assert shown(keys.verdict).startswith("✔ Works")
    assert watch.seen == [(False, "Testing…"), (True, "Test connection")]

    select(qtbot, dialog, "acme")
    click(qtbot, dialog, keys.test_button)
    assert shown(keys.verdict).startswith("⚠ No key")
    type_into(qtbot, keys.edit, "sk-wrong-1717")
    click(qtbot, dialog, keys.test_button)
    refused = shown(keys.verdict)
    assert refused.startswith("✖ Key refused") and "401" in refused
    assert "sk-wrong-1717" not in refused  # the provider shows it masked
    type_into(qtbot, keys.edit, "sk-good-4242")
    click(qtbot, dialog, keys.test_button)
    assert shown(keys.verdict).startswith("✔ Works")
    click(qtbot, dialog, keys.save_button)  # stored: the next test uses it
    click(qtbot, dialog, keys.test_button)
    assert shown(keys.verdict).startswith("✔ Works")
    colours = keys.verdict.styleSheet()

    select(qtbot, dialog, "gone")
    type_into(qtbot, keys.edit, "sk-any-1234")
    click(qtbot, dialog, keys.test_button)
    assert shown(keys.verdict).startswith("⚠ Unreachable")
    assert keys.verdict.styleSheet() != colours  # not told by words alone
    assert keys.test_button.isEnabled() and keys.test_button.text() == "Test connection"


# -- workspace settings ------------------------------------------------------------------------
def test_workspace_settings_are_checked_stored_and_reset(service: Service, qtbot: QtBot) -> None:
    dialog = make_dialog(qtbot, service)
    dialog.open_page("workspace")
    page = dialog.workspace
    assert dialog.tabs.currentWidget() is page
    row = page.rows["poll_interval_seconds"]
    assert isinstance(row.editor, QLineEdit) and row.editor.text() == "30"
    assert not row.reset.isEnabled()  # already the default

    def typed(text: str) -> None:
        type_into(qtbot, row.editor, text)
        qtbot.keyClick(row.editor, Qt.Key.Key_Return)
        settle(qtbot, dialog)

    stored = await_task(qtbot, service.read(service.store.raw_settings))
    said = ("✖ “Poll interval, real providers” must be a number of seconds from 0.1 to 86400. "
            "Not changed: still 30 seconds.")
    for bad in ("soon", "0.01"):
        typed(bad)
        assert shown(row.message) == said
        assert service.settings.poll_interval_seconds == 30.0
        assert await_task(qtbot, service.read(service.store.raw_settings)) == stored
    typed("45")
    assert service.settings.poll_interval_seconds == 45.0
    raw = await_task(qtbot, service.read(service.store.raw_settings))
    assert raw["poll_interval_seconds"] == 45
    assert shown(row.message) == "✔ Saved." and row.editor.text() == "45"
    assert row.reset.isEnabled()
    click(qtbot, dialog, row.reset)
    assert service.settings.poll_interval_seconds == 30.0 and row.editor.text() == "30"
    raw = await_task(qtbot, service.read(service.store.raw_settings))
    assert "poll_interval_seconds" not in raw
    assert not row.reset.isEnabled()

    notifications = page.rows["notifications"]
    assert notifications.editor.isChecked()
    click(qtbot, dialog, notifications.editor)
    assert service.settings.notifications is False
    click(qtbot, dialog, notifications.reset)
    assert service.settings.notifications is True and notifications.editor.isChecked()

    backoff = page.rows["token_limit_backoff_seconds"]
    type_into(qtbot, backoff.editor, "60, 120")
    qtbot.keyClick(backoff.editor, Qt.Key.Key_Return)
    settle(qtbot, dialog)
    assert service.settings.token_limit_backoff_seconds == (60.0, 120.0)
    assert backoff.editor.text() == "60, 120"
    # Every setting of the model is on the page, with its help.
    labels = {row.label.text() for row in page.rows.values()}
    assert len(labels) == len(page.rows) == len(service.settings.__slots__)
    assert "Notifications" in labels


def test_workspace_folder_opens_in_the_file_manager(service: Service, qtbot: QtBot) -> None:
    class Opened(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.urls: list[QUrl] = []

        @Slot(QUrl)
        def open(self, url: QUrl) -> None:
            self.urls.append(url)

    opened = Opened()
    QDesktopServices.setUrlHandler("file", opened, "open")
    try:
        dialog = make_dialog(qtbot, service)
        dialog.open_page("workspace")
        assert dialog.workspace.path.text() == str(service.paths.root)
        click(qtbot, dialog, dialog.workspace.open_button)
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [u.toLocalFile() for u in opened.urls] == [str(service.paths.root)]


def test_a_welcome_screen_can_open_the_key_field_of_a_profile(service: Service,
                                                              qtbot: QtBot) -> None:
    dialog = SettingsDialog(service)
    qtbot.addWidget(dialog)
    dialog.open_page("workspace")
    dialog.select_profile("sandbox")  # asked before the list is read: remembered
    dialog.focus_key_field()
    dialog.show()
    settle(qtbot, dialog)
    assert dialog.tabs.currentWidget() is dialog.profiles
    assert dialog.profiles.current is not None and dialog.profiles.current.name == "sandbox"
    dialog.select_profile("openai")
    dialog.focus_key_field()
    settle(qtbot, dialog)
    assert dialog.profiles.current is not None and dialog.profiles.current.name == "openai"
    assert dialog.focusWidget() is dialog.keys.edit
    with pytest.raises(ValueError, match="profiles, workspace"):
        dialog.open_page("keys")
    assert {box.title() for box in dialog.findChildren(QGroupBox)} >= {"Profile", "API key"}


# -- the tables: prices and token limits ---------------------------------------------------------
def _cell(qtbot: QtBot, dialog: SettingsDialog, table: QTableWidget, row: int, column: int,
          text: str) -> None:
    """Type into a cell as the user does: the edit is committed, then checked (and sent)."""
    table.item(row, column).setText(text)
    settle(qtbot, dialog)


def test_prices_are_a_table_checked_row_by_row_and_stored_as_the_command_line_stores_them(
        service: Service, qtbot: QtBot) -> None:
    dialog = make_dialog(qtbot, service)
    dialog.open_page("workspace")
    row = dialog.workspace.rows["prices"]
    editor = row.editor
    assert isinstance(editor, PricesTable)
    grid = editor.table
    assert grid.rowCount() == 0 and not row.reset.isEnabled()
    assert "Default: none (the built-in table only)." in row.help.text()
    assert "{" not in row.help.text()  # no JSON to write here

    click(qtbot, dialog, editor.add_button)
    assert grid.rowCount() == 1 and service.settings.prices == {}
    _cell(qtbot, dialog, grid, 0, 0, "My-Model")
    assert shown(row.message) == ("✖ Row 1: type the input and output prices of My-Model. "
                                  "Not saved yet.")
    _cell(qtbot, dialog, grid, 0, 1, "0.1")
    assert shown(row.message) == ("✖ Row 1: the output price must be a number of 0 or more "
                                  "(USD per 1M tokens), e.g. 0.15. Not saved yet.")
    assert service.settings.prices == {}  # nothing half-typed is stored
    _cell(qtbot, dialog, grid, 0, 2, "$0.40")
    assert shown(row.message) == "✔ Saved."
    assert service.settings.prices == {"my-model": (0.1, 0.4)}
    raw = await_task(qtbot, service.read(service.store.raw_settings))
    assert raw["prices"] == {"my-model": [0.1, 0.4]}  # as `batcher config set prices` stores
    assert [grid.item(0, c).text() for c in range(3)] == ["my-model", "0.1", "0.4"]
    assert row.reset.isEnabled()

    # A wrong value is refused with what to type, and the stored prices stay.
    for bad in ("-1", "cheap", "nan"):
        _cell(qtbot, dialog, grid, 0, 1, bad)
        assert shown(row.message) == ("✖ Row 1: the input price must be a number of 0 or "
                                      "more (USD per 1M tokens), e.g. 0.15. Not saved yet.")
        assert service.settings.prices == {"my-model": (0.1, 0.4)}
    _cell(qtbot, dialog, grid, 0, 1, "0.2")
    assert service.settings.prices == {"my-model": (0.2, 0.4)}

    # The list price: stored in the long form, as the command line takes it.
    choice = grid.cellWidget(0, 3)
    assert isinstance(choice, QComboBox) and choice.currentData() == "batch"
    choice.setCurrentIndex(choice.findData("live"))
    settle(qtbot, dialog)
    assert service.settings.prices == {"my-model": {"input": 0.2, "output": 0.4}}

    # One row per model.
    click(qtbot, dialog, editor.add_button)
    for column, text in enumerate(("MY-MODEL", "1", "2")):
        _cell(qtbot, dialog, grid, 1, column, text)
    assert shown(row.message) == ("✖ Row 2: my-model is in row 1 too; one row per model. "
                                  "Not saved yet.")
    grid.selectRow(1)
    click(qtbot, dialog, editor.remove_button)
    assert not shown(row.message) and grid.rowCount() == 1
    assert service.settings.prices == {"my-model": {"input": 0.2, "output": 0.4}}

    grid.selectRow(0)
    click(qtbot, dialog, editor.remove_button)
    assert service.settings.prices == {} and shown(row.message) == "✔ Saved."


def test_a_live_price_keeps_what_the_table_does_not_show(service: Service,
                                                         qtbot: QtBot) -> None:
    await_task(qtbot, service.set_setting("prices", '{"big": {"input": 2, "output": 8, '
                                                '"cached_input": 0.5}}'))
    dialog = make_dialog(qtbot, service)
    dialog.open_page("workspace")
    editor = dialog.workspace.rows["prices"].editor
    assert isinstance(editor, PricesTable)
    choice = editor.table.cellWidget(0, 3)
    assert isinstance(choice, QComboBox) and choice.currentData() == "live"
    assert "cached input 0.5" in choice.toolTip()
    _cell(qtbot, dialog, editor.table, 0, 2, "10")
    assert service.settings.prices == {"big": {"input": 2.0, "output": 10.0,
                                               "cached_input": 0.5}}


def test_token_limits_are_a_table_of_whole_numbers(service: Service, qtbot: QtBot) -> None:
    dialog = make_dialog(qtbot, service)
    dialog.open_page("workspace")
    row = dialog.workspace.rows["token_limits"]
    editor = row.editor
    assert isinstance(editor, TokenLimitsTable)
    grid = editor.table
    click(qtbot, dialog, editor.add_button)
    _cell(qtbot, dialog, grid, 0, 0, "gpt-4o")
    refused = ("✖ Row 1: the limit must be a whole number of tokens above 0, e.g. 2,000,000. "
               "Not saved yet.")
    assert shown(row.message) == refused
    for bad in ("0", "1.5", "lots", "-3"):
        _cell(qtbot, dialog, grid, 0, 1, bad)
        assert shown(row.message) == refused
        assert service.settings.token_limits == {}
    _cell(qtbot, dialog, grid, 0, 1, "1,350,000")
    assert service.settings.token_limits == {"gpt-4o": 1_350_000}
    assert grid.item(0, 1).text() == "1,350,000" and shown(row.message) == "✔ Saved."
    click(qtbot, dialog, editor.add_button)
    _cell(qtbot, dialog, grid, 1, 0, "sandbox/gpt-4o-mini")
    _cell(qtbot, dialog, grid, 1, 1, "2000000")
    assert service.settings.token_limits == {"gpt-4o": 1_350_000,
                                             "sandbox/gpt-4o-mini": 2_000_000}
    raw = await_task(qtbot, service.read(service.store.raw_settings))
    assert raw["token_limits"] == {"gpt-4o": 1350000, "sandbox/gpt-4o-mini": 2000000}
    click(qtbot, dialog, row.reset)
    assert service.settings.token_limits == {} and grid.rowCount() == 0
