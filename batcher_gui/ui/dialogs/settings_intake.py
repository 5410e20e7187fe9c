"""Preferences → Intake API: listen for scripts' requests (on/off, address), and bearer tokens.

On/off and the address are this machine's (the window's settings file): two windows of a team
workspace on two machines each decide for themselves. The tokens are the workspace's: a token
made here works with ``batcher serve --intake`` on the server too. A new token is shown once,
in a read-only field with a Copy button; only its hash is kept.

Signals:
    switched: the user applied on/off or the address (the window starts or stops the API).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from batcher_gui.app.intake import Intake
from batcher_gui.domain.errors import BatcherError

if TYPE_CHECKING:
    from batcher_gui.app import Service
    from batcher_gui.ui.dialogs.settings_profiles import Tasks

KEY_ON = "intake_api/enabled"
KEY_ADDRESS = "intake_api/address"
KEY_PUBLIC = "intake_api/public"
DEFAULT_ADDRESS = "127.0.0.1:8766"


def intake_wanted(memory: QSettings | None) -> tuple[bool, str, bool]:
    """(on, address, other computers may reach it) as this machine's settings say; off (and
    loopback only) by default."""
    if memory is None:
        return False, DEFAULT_ADDRESS, False
    on = bool(memory.value(KEY_ON, False, bool))
    public = bool(memory.value(KEY_PUBLIC, False, bool))
    return on, str(memory.value(KEY_ADDRESS, DEFAULT_ADDRESS) or DEFAULT_ADDRESS), public


def _when(at: float | None) -> str:
    return "never" if at is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


class IntakePage(QWidget):
    """See the module docstring."""

    switched = Signal()

    def __init__(self, service: Service, tasks: Tasks, memory: QSettings | None) -> None:
        super().__init__()
        self.service = service
        self.tasks = tasks
        self.memory = memory
        self.intake = Intake(service)
        on, address, public = intake_wanted(memory)

        listen = QGroupBox("Listen")
        self.enabled = QCheckBox("Take requests from scripts over HTTP (the intake API)")
        self.enabled.setChecked(on)
        self.address = QLineEdit(address)
        self.address.setAccessibleName("Intake API address")
        self.address.setToolTip("HOST:PORT; 127.0.0.1 takes requests from this computer only")
        self.public = QCheckBox("Let other computers reach it (an address other than 127.0.0.1)")
        self.public.setChecked(public)
        self.apply = QPushButton("Apply")
        self.apply.setAccessibleName("Apply intake API settings")
        self.apply.clicked.connect(self._apply)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        form = QFormLayout(listen)
        form.addRow(self.enabled)
        form.addRow("Address", self.address)
        form.addRow(self.public)
        form.addRow(self.apply, self.status)

        tokens = QGroupBox("Bearer tokens")
        self.name = QLineEdit()
        self.name.setPlaceholderText("what the token is for, e.g. nightly-eval")
        self.name.setAccessibleName("New token name")
        self.create = QPushButton("Create token")
        self.create.clicked.connect(lambda: self.tasks.start(self._create(), "intake-token"))
        self.shown_token = QLineEdit()
        self.shown_token.setReadOnly(True)
        self.shown_token.setAccessibleName("New token (shown once)")
        self.shown_token.setPlaceholderText("a new token appears here once")
        self.copy = QPushButton("Copy")
        self.copy.setEnabled(False)
        self.copy.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self.shown_token.text()))
        self.list = QListWidget()
        self.list.setAccessibleName("Intake tokens")
        self.revoke = QPushButton("Revoke")
        self.revoke.clicked.connect(lambda: self.tasks.start(self._revoke(), "intake-revoke"))
        self.said = QLabel("")
        self.said.setWordWrap(True)
        # Said while the list is empty: what a token is for and how to make one.
        self.empty = QLabel("No tokens yet. Scripts need one to post prompts: name it above "
                            "and press Create token.")
        self.empty.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.name, 1)
        row.addWidget(self.create)
        shown = QHBoxLayout()
        shown.addWidget(self.shown_token, 1)
        shown.addWidget(self.copy)
        box = QVBoxLayout(tokens)
        box.addLayout(row)
        box.addLayout(shown)
        box.addWidget(self.said)
        box.addWidget(self.empty)
        box.addWidget(self.list, 1)
        box.addWidget(self.revoke)

        layout = QVBoxLayout(self)
        layout.addWidget(listen)
        layout.addWidget(tokens, 1)

    def show_status(self, text: str) -> None:
        """What the window says of the API (listening where, or why not)."""
        self.status.setText(text)

    def _apply(self) -> None:
        if self.memory is not None:
            self.memory.setValue(KEY_ON, self.enabled.isChecked())
            self.memory.setValue(KEY_ADDRESS, self.address.text().strip() or DEFAULT_ADDRESS)
            self.memory.setValue(KEY_PUBLIC, self.public.isChecked())
        self.switched.emit()

    async def reload(self) -> None:
        tokens = await self.intake.tokens()
        self.list.clear()
        for token in tokens:
            state = f"revoked {_when(token.revoked_at)}" if token.revoked_at else (
                f"last used {_when(token.last_used_at)}")
            item = QListWidgetItem(f"{token.name} — made {_when(token.created_at)}, {state}")
            item.setData(Qt.ItemDataRole.UserRole, token.name)
            self.list.addItem(item)
        self.empty.setVisible(not tokens)

    async def _create(self) -> None:
        try:
            stored, token = await self.intake.create_token(self.name.text())
        except BatcherError as exc:
            self.said.setText(str(exc))
            return
        self.shown_token.setText(token)
        self.copy.setEnabled(True)
        self.name.clear()
        self.said.setText(f"Token {stored.name!r}: copy it now, it is not shown again (only "
                          "its hash is kept). Send it as: Authorization: Bearer <token>")
        await self.reload()

    async def _revoke(self) -> None:
        item = self.list.currentItem()
        if item is None:
            self.said.setText("Select a token to revoke.")
            return
        name: Any = item.data(Qt.ItemDataRole.UserRole)
        await self.intake.revoke_token(str(name))
        self.said.setText(f"Token {name!r} revoked.")
        await self.reload()
