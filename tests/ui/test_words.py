"""Preferences in the user's words: no setting key, exception class, errno or command-line flag
reaches the window; refusals name the field's label and say what to type (real service, real
workspace, real sandbox servers, offscreen)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import qasync
from keyring.backends import fail
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from batcher_gui.app import Service
from batcher_gui.config.profiles import ProfileFields
from batcher_gui.config.settings import SPECS
from batcher_gui.domain.models import ImportOptions, ProfileKind
from batcher_gui.ui.dialogs import words
from tests.app.conftest import write_chat
from tests.ui.conftest import await_task, open_service
from tests.ui.test_settings_dialog import (
    UNREACHABLE,
    click,
    every_text,
    make_dialog,
    select,
    settle,
    shown,
    type_into,
)

#: What must never be read in a dialog: class names, errno codes, flags, commands, "(s)".
INTERNAL = re.compile(r"[A-Z][a-z]+(Error|Exception)\b|Errno|--[a-z]|`|batcher [a-z]+ |\(s\)"
                      r"|got '")


def plain(text: str) -> None:
    assert not INTERNAL.search(text), text
    for key in SPECS:
        if "_" in key:  # (prices, notifications: words too)
            assert key not in text, text


# -- workspace settings ----------------------------------------------------------------------
def test_each_typed_setting_is_refused_by_its_label_with_what_to_type(
        service: Service, qtbot: QtBot) -> None:
    dialog = make_dialog(qtbot, service)
    dialog.open_page("workspace")
    before = await_task(qtbot, service.read(service.store.raw_settings))
    checked = 0
    for key, row in dialog.workspace.rows.items():
        if not isinstance(row.editor, QLineEdit):
            continue
        spec = SPECS[key]
        low = spec.low if spec.low is not None else 0
        for bad in ("soon", str(low - 1) if low else "-1", "0.5" if spec.kind == "int" else "",
                    "1e12"):
            if not bad:
                continue
            type_into(qtbot, row.editor, bad)
            qtbot.keyClick(row.editor, Qt.Key.Key_Return)
            settle(qtbot, dialog)
            message = shown(row.message)
            assert message.startswith(f"✖ “{spec.label}” must be "), message
            assert "Not changed: still" in message
            plain(message)
            checked += 1
        row.set_value(getattr(service.settings, key))
    assert checked >= 20
    assert await_task(qtbot, service.read(service.store.raw_settings)) == before
    # The field that started it: "sandbox_poll_interval_seconds must be…, got '0.0'".
    row = dialog.workspace.rows["sandbox_poll_interval_seconds"]
    type_into(qtbot, row.editor, "0")  # type: ignore[arg-type]
    qtbot.keyClick(row.editor, Qt.Key.Key_Return)
    settle(qtbot, dialog)
    assert shown(row.message) == ("✖ “Poll interval, sandbox” must be a number of seconds "
                                  "from 0.1 to 3600. Not changed: still 1 second.")
    plain(every_text(dialog))


def test_the_command_line_still_names_the_key_it_was_given() -> None:
    """The settings model's own messages stay for `batcher config` (whose users type keys),
    and say what was typed, not how it was read."""
    from batcher_gui.config import settings
    from batcher_gui.domain.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        settings.parse("sandbox_poll_interval_seconds", "0")
    assert str(caught.value) == ("sandbox_poll_interval_seconds must be a number of seconds "
                                 "from 0.1 to 3600, got '0'")
    ignored = SPECS["poll_interval_seconds"].ignored("soon")
    assert ignored == ("“Poll interval, real providers” held 'soon', not a number of seconds "
                       "from 0.1 to 86400; using the default, 30")


# -- profiles --------------------------------------------------------------------------------
def test_profile_refusals_say_which_field_and_how_in_plain_words(
        service: Service, qtbot: QtBot, tmp_path: Path) -> None:
    dialog = make_dialog(qtbot, service)
    page = dialog.profiles
    click(qtbot, dialog, page.add_button)
    type_into(qtbot, page.name, "acme")
    for kind, said in ((ProfileKind.OPENAI_COMPATIBLE,
                        "✖ An OpenAI-compatible profile needs a base URL: the server's API root "
                        "including /v1, e.g. http://localhost:8000/v1"),
                       (ProfileKind.AZURE, "✖ An Azure OpenAI profile needs a base URL: the "
                                           "resource endpoint, e.g. "
                                           "https://my-resource.openai.azure.com")):
        page.kind.setCurrentIndex(page.kind.findData(kind.value))
        click(qtbot, dialog, page.save_button)
        assert shown(page.message) == said
    page.kind.setCurrentIndex(page.kind.findData(ProfileKind.OPENAI_COMPATIBLE.value))
    type_into(qtbot, page.base_url, "http://localhost:8000/v1")
    for field, text, said in (
            (page.budget_run, "-5", "✖ The budget per run must be from 0 to 1,000,000,000 USD, "
                                    "not -5."),
            (page.budget_month, "lots", "✖ The budget per month must be an amount in USD, e.g. "
                                        "25 (or empty for no cap)."),
            (page.poll, "0.01", "✖ The poll interval must be from 0.1 to 86,400 seconds, "
                                "not 0.01.")):
        type_into(qtbot, field, text)
        click(qtbot, dialog, page.save_button)
        assert shown(page.message) == said
        plain(shown(page.message))
        type_into(qtbot, field, "")
    click(qtbot, dialog, page.save_button)
    assert shown(page.message) == "✔ Added the profile “acme”."

    # A profile in use by a run stays, and the dialog says so before asking anything.
    data = write_chat(tmp_path / "p.jsonl", 2)
    await_task(qtbot, service.import_file(data, ImportOptions(), profile="acme"))
    select(qtbot, dialog, "acme")
    click(qtbot, dialog, page.delete_button)
    assert shown(page.message) == ("✖ 1 run uses “acme”, so it stays: delete it first (until "
                                   "then its results stay in the workspace).")
    assert page.confirm is None
    plain(every_text(dialog))


# -- keys and connection tests ---------------------------------------------------------------
def test_connection_verdicts_say_what_happened_and_what_to_do(
        service: Service, provider: str, qtbot: QtBot) -> None:
    for name, url in (("acme", provider), ("nowhere", "https://api.example.invalid/v1"),
                      ("closed", UNREACHABLE), ("notapi", provider.rsplit("/v1", 1)[0] + "/x")):
        await_task(qtbot, service.add_profile(ProfileFields(name, ProfileKind.OPENAI_COMPATIBLE,
                                                        url)))
    dialog = make_dialog(qtbot, service)
    keys = dialog.keys
    host = provider.split("//")[1].split("/")[0]

    def test(name: str, key: str | None) -> str:
        select(qtbot, dialog, name)
        type_into(qtbot, keys.edit, key or "")
        click(qtbot, dialog, keys.test_button)
        said = shown(keys.verdict)
        plain(said)
        return said

    assert test("acme", None) == ("⚠ No key: “acme” has no API key yet. Paste it above and "
                                  "press Save key.")
    refused = test("acme", "sk-wrong-1717")
    assert refused.startswith(f"✖ Key refused: {host} did not accept this key (401: ")
    assert refused.endswith("Paste the right key above and press Save key, or fix the "
                            "environment variable the profile reads.")
    assert "sk-wrong-1717" not in refused
    assert test("acme", "sk-good-4242") == f"✔ Works: {host} accepted the key."
    assert test("nowhere", "sk-any") == (
        "⚠ Unreachable: cannot reach api.example.invalid: the name does not resolve — check "
        "the base URL and your network.")
    assert test("closed", "sk-any") == ("⚠ Unreachable: cannot reach 127.0.0.1:9: nothing "
                                        "answers at that address — check the base URL and "
                                        "your network.")
    assert test("notapi", "sk-good-4242").startswith(
        f"✖ Error: {host} answered, but has no batch API at this base URL (404: ")
    select(qtbot, dialog, "openai")
    click(qtbot, dialog, keys.test_button)
    assert shown(keys.verdict) == ("⚠ No key: “openai” has no API key yet. Paste it above and "
                                   "press Save key, or set the environment variable "
                                   "OPENAI_API_KEY before starting Batcher.")


def test_without_a_keyring_nothing_technical_is_shown(qloop: qasync.QEventLoop, qtbot: QtBot,
                                                      tmp_path: Path) -> None:
    service = open_service(qtbot, tmp_path / "ws", fail.Keyring())
    try:
        dialog = make_dialog(qtbot, service)
        select(qtbot, dialog, "openai")
        type_into(qtbot, dialog.keys.edit, "sk-abc")
        click(qtbot, dialog, dialog.keys.save_button)
        note = shown(dialog.keys.keyring_note)
        assert note == (
            "✖ No OS keyring is available on this system, so Batcher cannot store a key here. "
            "Keep the key in an environment variable instead. Set the variable before starting "
            "Batcher (e.g. export MY_API_KEY=…), type its name in “Key env var” above and press "
            "Save profile. OpenAI profiles also read OPENAI_API_KEY, Anthropic (Claude) profiles "
            "ANTHROPIC_API_KEY.")
        assert dialog.keys.status.text() == ("No key yet, and none can be stored here (see "
                                             "below).")
        type_into(qtbot, dialog.keys.edit, "")
        click(qtbot, dialog, dialog.keys.test_button)
        assert shown(dialog.keys.verdict) == (  # not "paste it and Save key": it cannot be
            "⚠ No key: “openai” has no API key, and there is no OS keyring to store one in: "
            "set the environment variable OPENAI_API_KEY before starting Batcher.")
        text = every_text(dialog)
        plain(text)
        assert "NoKeyringError" not in text and "backend" not in text
    finally:
        await_task(qtbot, service.close())


def test_locked_keyring_says_to_unlock_it() -> None:
    said = words.no_keyring("no OS keyring can be used: it is locked")
    assert said.startswith("The OS keyring is locked, so Batcher cannot store a key now: "
                           "unlock it")
    plain(said)


def test_money_has_the_digits_an_amount_needs() -> None:
    assert [words.money(v) for v in (0, 6e-07, 2.025e-06, 0.0001, 0.00077, 0.014747, 0.05,
                                     0.0999, 0.118, 12.4, 1234.5)] == [
        "$0", "under $0.0001", "under $0.0001", "$0.0001", "$0.00077", "$0.015", "$0.05",
        "$0.10", "$0.12", "$12.40", "$1,234.50"]
    assert words.money_range(0.0000771, 0.118) == "under $0.0001 to $0.12"
    assert words.money_range(0.000012, 0.000071) == "under $0.0001"
    assert words.money_range(0.12, 0.1201) == "$0.12"
