"""Preferences → Provider profiles → API key: whether the shown profile has a key, storing and
removing it, and testing the connection.

A key goes from the password field straight to the OS keyring through the service, and the
field is emptied: nothing here reads a stored key back, so none can ever be shown.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout

from batcher_gui.config.secrets import SecretStoreUnavailable, default_key_env
from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.models import Profile
from batcher_gui.ui.dialogs import words
from batcher_gui.ui.dialogs.settings_profiles import Message, Tasks, plain_button

if TYPE_CHECKING:
    from batcher_gui.app import Service

T = TypeVar("T")

#: verdict kind → (state colour, mark): the mark tells them apart without colour.
VERDICTS = {"works": ("completed", "✔"), "key refused": ("failed", "✖"),
            "unreachable": ("expired", "⚠"), "no key": ("expired", "⚠")}


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
        env = profile.key_env or default_key_env(profile.kind)
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
