"""The status bar: what the engine does now and next, in one honest line; and the banner for
problems the user can act on."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from batcher_gui.domain.events import (
    EngineActivity,
    EngineState,
    EngineStateChanged,
    Notice,
    NoticeLevel,
)
from batcher_gui.ui.theme import state_colour


class EngineStatus(QWidget):
    """"● driving · 2 batches in flight · next poll in 12 s" (updated every second)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        self.dot = QLabel("●")
        self.text = QLabel("opening the workspace…")
        self.text.setAccessibleName("Engine status")
        layout.addWidget(self.dot)
        layout.addWidget(self.text, 1)
        self.state = EngineState.IDLE
        self.reason = ""
        self.in_flight = 0
        self.next_poll: float | None = None
        self._timer = QTimer(self, interval=1000)
        self._timer.timeout.connect(self._show)
        self._timer.start()

    def on_state(self, event: EngineStateChanged) -> None:
        self.state, self.reason = event.state, event.reason
        self._show()

    def on_activity(self, event: EngineActivity) -> None:
        self.in_flight, self.next_poll = event.in_flight, event.next_poll_at
        self._show()

    def _show(self) -> None:
        colour = {EngineState.DRIVING: "completed", EngineState.WAITING_FOR_DRIVER: "in_progress",
                  EngineState.PAUSED: "expired", EngineState.STOPPED: "failed"}.get(
            self.state, "pending")
        self.dot.setStyleSheet(f"color: {state_colour(colour).name()};")
        if self.state is EngineState.DRIVING:
            parts = ["driving", f"{self.in_flight} batch(es) in flight" if self.in_flight
                     else "nothing in flight"]
            if self.in_flight and self.next_poll is not None:
                parts.append(f"next poll in {max(0, self.next_poll - time.time()):.0f} s")
            text = " · ".join(parts)
        elif self.state is EngineState.WAITING_FOR_DRIVER:
            text = f"{self.reason} — showing its changes as they happen"
        elif self.state is EngineState.PAUSED:
            text = f"paused: {self.reason}"
        elif self.state is EngineState.STOPPED:
            text = f"stopped ({self.reason})" if self.reason else "stopped"
        else:
            text = "starting…"
        self.text.setText(text)
        self.text.setToolTip(text)


class Banner(QFrame):
    """A message across the top of the window for things the user should act on."""

    action = Signal(str)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAccessibleName("Message")
        self.button = QPushButton()
        self.button.setVisible(False)
        self.button.clicked.connect(lambda: self.action.emit(self.button.text()))
        close = QPushButton("Dismiss")
        close.clicked.connect(self.hide)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str, level: NoticeLevel = NoticeLevel.INFO,
                     button: str | None = None) -> None:
        colour = {NoticeLevel.ERROR: "failed", NoticeLevel.WARNING: "expired"}.get(
            level, "in_progress")
        self.setStyleSheet(f"Banner {{ border: 1px solid {state_colour(colour).name()}; "
                           "border-radius: 4px; }")
        self.label.setText(text)
        self.button.setText(button or "")
        self.button.setVisible(bool(button))
        self.show()

    def on_notice(self, notice: Notice) -> None:
        """Show what needs the user (no key...) or went wrong for good; not every retry."""
        if notice.needs_user or (notice.level is NoticeLevel.ERROR and notice.batch_id is None):
            self.show_message(notice.message, notice.level,
                              "Settings…" if notice.needs_user else None)
