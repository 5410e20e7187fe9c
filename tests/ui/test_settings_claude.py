"""Preferences → Provider profiles for Claude and the OpenAI-compatible presets, on a real
service and SQLite workspace (offscreen)."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from batcher_gui.app import Service
from batcher_gui.domain.models import ProfileKind, ProfileLimits
from batcher_gui.ui.dialogs.settings_dialog import SettingsDialog
from tests.ui.conftest import await_task
from tests.ui.test_settings_dialog import (
    click,
    every_text,
    make_dialog,
    select,
    shown,
    type_into,
)


def choose_kind(dialog: SettingsDialog, kind: ProfileKind) -> None:
    combo = dialog.profiles.kind
    combo.setCurrentIndex(combo.findData(kind.value))


def choose_tier(dialog: SettingsDialog, text: str) -> None:
    combo = dialog.profiles.tier.choice
    combo.setCurrentIndex(combo.findText(text))


def choose_preset(dialog: SettingsDialog, label: str) -> None:
    """As a user picks an entry of the list: the choice is made, then reported as activated."""
    combo = dialog.profiles.presets.choice
    index = combo.findText(label)
    assert index > 0, label
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def limits_shown(dialog: SettingsDialog) -> tuple[int, int]:
    return dialog.profiles.max_requests.value(), dialog.profiles.max_bytes.value()


def tier_row_shown(dialog: SettingsDialog) -> bool:
    return dialog.profiles.form.isRowVisible(dialog.profiles.tier)


def test_a_claude_profile_with_its_tier_is_added_saved_and_read_back(service: Service,
                                                                     qtbot: QtBot) -> None:
    dialog = make_dialog(qtbot, service)
    page = dialog.profiles
    click(qtbot, dialog, page.add_button)
    assert not tier_row_shown(dialog)  # a new profile starts OpenAI-compatible
    assert limits_shown(dialog) == (50_000, 200_000_000)

    choose_kind(dialog, ProfileKind.ANTHROPIC)
    assert page.kind.currentText() == "Anthropic (Claude)"
    assert tier_row_shown(dialog)
    assert limits_shown(dialog) == (100_000, 256_000_000)  # Anthropic's, not OpenAI's
    assert page.base_url.placeholderText().startswith("empty: https://api.anthropic.com")
    assert "/v1 at the end is dropped" in page.base_url.toolTip()
    assert page.key_env.placeholderText() == "optional (ANTHROPIC_API_KEY is read anyway)"
    assert page.tier.room.text() == "200,000 requests may wait at once"
    assert not page.tier.custom.isVisible()

    type_into(qtbot, page.name, "claude")
    type_into(qtbot, page.base_url, "https://api.anthropic.com/v1")
    choose_tier(dialog, "Custom number")
    assert page.tier.custom.isVisible()
    page.tier.custom.setValue(450_000)
    assert page.tier.room.text() == "450,000 requests may wait at once"
    choose_tier(dialog, "Build")
    assert page.tier.room.text() == "300,000 requests may wait at once"
    click(qtbot, dialog, page.save_button)
    assert "Added the profile “claude”" in shown(page.message), shown(page.message)
    claude = await_task(qtbot, service.profile("claude"))
    assert (claude.kind, claude.base_url, claude.options) == (
        ProfileKind.ANTHROPIC, "https://api.anthropic.com", {"tier": "build"})
    assert claude.limits == ProfileLimits(100_000, 256_000_000)
    assert page.base_url.text() == "https://api.anthropic.com"  # as stored: no /v1

    # Read back from the workspace when shown again; the tier row is a Claude profile's only.
    select(qtbot, dialog, "openai")
    assert not tier_row_shown(dialog)
    select(qtbot, dialog, "claude")
    assert tier_row_shown(dialog) and page.tier.choice.currentText() == "Build"
    choose_tier(dialog, "Custom number")
    page.tier.custom.setValue(450_000)
    click(qtbot, dialog, page.save_button)
    assert await_task(qtbot, service.profile("claude")).options == {"tier": 450_000}
    select(qtbot, dialog, "openai")
    select(qtbot, dialog, "claude")
    assert page.tier.choice.currentText() == "Custom number"
    assert page.tier.custom.value() == 450_000 and page.tier.custom.isVisible()
    assert page.tier.room.text() == "450,000 requests may wait at once"

    text = every_text(dialog)
    assert "ProfileKind" not in text and "anthropic\n" not in text and "TIER" not in text

    # Made an OpenAI-compatible profile, it keeps its limits and loses its tier.
    choose_kind(dialog, ProfileKind.OPENAI_COMPATIBLE)
    assert not tier_row_shown(dialog) and limits_shown(dialog) == (100_000, 256_000_000)
    type_into(qtbot, page.base_url, "http://localhost:8000/v1")
    click(qtbot, dialog, page.save_button)
    changed = await_task(qtbot, service.profile("claude"))
    assert (changed.kind, changed.options) == (ProfileKind.OPENAI_COMPATIBLE, {})


def test_limits_a_user_typed_stay_when_the_kind_changes(service: Service, qtbot: QtBot) -> None:
    dialog = make_dialog(qtbot, service)
    page = dialog.profiles
    click(qtbot, dialog, page.add_button)
    page.max_requests.setValue(7_000)
    choose_kind(dialog, ProfileKind.ANTHROPIC)
    assert limits_shown(dialog) == (7_000, 200_000_000)
    click(qtbot, dialog, page.add_button)  # a new form: defaults follow the kind again
    choose_kind(dialog, ProfileKind.ANTHROPIC)
    choose_kind(dialog, ProfileKind.OPENAI)
    assert limits_shown(dialog) == (50_000, 200_000_000)


def test_a_preset_fills_a_new_profile_and_says_what_was_verified(service: Service,
                                                                 qtbot: QtBot) -> None:
    dialog = make_dialog(qtbot, service)
    page = dialog.profiles
    presets = page.presets
    assert [presets.choice.itemText(i) for i in range(presets.choice.count())] == [
        "Start from a preset…", "Gemini (OpenAI-compatible)", "Groq"]
    select(qtbot, dialog, "sandbox")
    assert not presets.isEnabled()  # the built-in sandbox is what it is
    select(qtbot, dialog, "openai")
    assert presets.isEnabled() and not presets.note.isVisible()

    click(qtbot, dialog, page.add_button)
    choose_kind(dialog, ProfileKind.ANTHROPIC)  # the preset sets the kind back
    choose_preset(dialog, "Groq")
    assert presets.choice.currentIndex() == 0  # the list is a way to fill in, not a state
    assert page.name.text() == "groq"
    assert page.kind.currentText() == "OpenAI-compatible" and not tier_row_shown(dialog)
    assert page.base_url.text() == "https://api.groq.com/openai/v1"
    assert page.key_env.text() == "GROQ_API_KEY"
    assert limits_shown(dialog) == (50_000, 100_000_000)
    note = shown(presets.note)
    assert note.startswith("Checked only against Batcher's sandbox, not against Groq itself.")
    assert "chat completions only" in note and "7 days" in note
    click(qtbot, dialog, page.save_button)
    assert "Added the profile “groq”" in shown(page.message)
    groq = await_task(qtbot, service.profile("groq"))
    assert (groq.kind, groq.base_url, groq.key_env, groq.limits.max_batch_bytes) == (
        ProfileKind.OPENAI_COMPATIBLE, "https://api.groq.com/openai/v1", "GROQ_API_KEY",
        100_000_000)

    # A name typed first is kept; the sentence follows the profile made from the preset.
    click(qtbot, dialog, page.add_button)
    assert not presets.note.isVisible()
    type_into(qtbot, page.name, "gem")
    choose_preset(dialog, "Gemini (OpenAI-compatible)")
    assert page.name.text() == "gem"
    assert "48 hours" in shown(presets.note) and "Gemini itself" in shown(presets.note)
    click(qtbot, dialog, page.save_button)
    gem = await_task(qtbot, service.profile("gem"))
    assert gem.base_url == "https://generativelanguage.googleapis.com/v1beta/openai"
    assert (gem.key_env, gem.limits.max_batch_bytes) == ("GEMINI_API_KEY", 2_000_000_000)
    select(qtbot, dialog, "openai")
    assert not presets.note.isVisible()
    select(qtbot, dialog, "groq")
    assert "not against Groq itself" in shown(presets.note)


def test_connection_verdicts_name_anthropic_and_its_key_variable() -> None:
    from batcher_gui.domain.models import Profile
    from batcher_gui.ui.dialogs import words

    claude = Profile(3, "claude", ProfileKind.ANTHROPIC, None, None,
                     ProfileLimits(100_000, 256_000_000), {"tier": "build"})
    assert words.verdict("works", "", claude) == "Works: api.anthropic.com accepted the key."
    assert words.verdict("no key", "", claude) == (
        "No key: “claude” has no API key yet. Paste it above and press Save key, or set the "
        "environment variable ANTHROPIC_API_KEY before starting Batcher.")
    missing = words.verdict("error", "the provider said (404 not_found_error): Not found",
                            claude)
    assert missing.startswith("Error: api.anthropic.com answered, but has no batch API at this "
                              "base URL (404: Not found.)")
    assert missing.endswith("Check that the base URL is Anthropic's API root, e.g. "
                            "https://api.anthropic.com (without /v1).")
    gateway = Profile(4, "gw", ProfileKind.ANTHROPIC, "http://127.0.0.1:8123", "GW_KEY",
                      ProfileLimits())
    assert words.verdict("works", "", gateway) == "Works: 127.0.0.1:8123 accepted the key."
