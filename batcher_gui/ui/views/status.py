"""The status bar: what the engine does now and next, in one honest line; and the banner for
what the user should act on, said once, in the window's words, with the button that fixes it."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from batcher_gui.domain.events import (
    EngineActivity,
    EngineState,
    EngineStateChanged,
    Notice,
    NoticeLevel,
    ProfileWait,
    WaitKind,
)
from batcher_gui.domain.wording import plural
from batcher_gui.ui.base.theme import state_colour

#: How the window says why a profile's batches wait.
WAIT_WORDS = {
    WaitKind.NO_KEY: "has no API key",
    WaitKind.KEY_REFUSED: "has a key the provider refused",
    WaitKind.UNUSABLE: "cannot be used as it is set up",
}


def waiting_words(waiting: dict[str, ProfileWait]) -> str:
    """"profile “openai” has no API key" (one or several profiles)."""
    parts = [f"“{name}” {WAIT_WORDS[wait.kind]}" for name, wait in sorted(waiting.items())]
    return ("profile " if len(parts) == 1 else "profiles ") + "; ".join(parts)


class EngineStatus(QWidget):
    """"● driving · 2 batches in flight · next poll in 12 s" (updated every second; one line,
    the whole of it in the tooltip)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        self.dot = QLabel("●")
        self.text = QLabel("opening the workspace…")
        self.text.setAccessibleName("Engine status")
        self.text.setWordWrap(False)
        # One line, whatever it says: a long text is cut, never wrapped (the bar never grows).
        self.text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.dot)
        layout.addWidget(self.text, 1)
        self.state = EngineState.IDLE
        self.reason = ""
        self.waiting: dict[str, ProfileWait] = {}
        #: Profiles the driving process (another one, maybe on another machine) parks.
        self.driver_waiting: dict[str, ProfileWait] = {}
        self.in_flight = 0
        self.next_poll: float | None = None
        self._timer = QTimer(self, interval=1000)
        self._timer.timeout.connect(self._show)
        self._timer.start()

    def opening(self, where: str) -> None:
        self.state, self.reason, self.waiting = EngineState.IDLE, "", {}
        self.text.setText(f"opening {where}…")

    def on_state(self, event: EngineStateChanged) -> None:
        self.state, self.reason = event.state, event.reason
        if event.state is not EngineState.WAITING_FOR_DRIVER:
            self.driver_waiting = {}  # this process drives (or stopped): its own words count
        self.waiting = dict(event.waiting_profiles)
        self._show()

    def on_driver_waits(self, waits: Any) -> None:
        """What the workspace says the other driver parks (a DriverWaits, or None)."""
        self.driver_waiting = dict(waits.profiles) if waits is not None else {}
        self._show()

    def on_activity(self, event: EngineActivity) -> None:
        self.in_flight, self.next_poll = event.in_flight, event.next_poll_at
        self._show()

    def _show(self) -> None:
        colour = {EngineState.DRIVING: "completed", EngineState.WAITING_FOR_DRIVER: "in_progress",
                  EngineState.PAUSED: "expired", EngineState.STOPPED: "failed"}.get(
            self.state, "pending")
        if self.state is EngineState.DRIVING and self.waiting:
            colour = "expired"
        if self.state is EngineState.DRIVING:
            parts = ["driving", f"{plural(self.in_flight, 'batch', 'batches')} in flight"
                     if self.in_flight else "nothing in flight"]
            if self.in_flight and self.next_poll is not None:
                parts.append(f"next check in {max(0, self.next_poll - time.time()):.0f} s")
            if self.waiting:
                parts.append(f"waiting: {waiting_words(self.waiting)}")
            text = " · ".join(parts)
        elif self.state is EngineState.WAITING_FOR_DRIVER:
            text = f"{self.reason} — showing its changes as they happen"
            if self.driver_waiting:
                colour = "expired"
                text += (f" · waiting there: {waiting_words(self.driver_waiting)} on that "
                         "machine")
        elif self.state is EngineState.PAUSED:
            text = (f"waiting for you: {waiting_words(self.waiting)}" if self.waiting
                    else f"waiting for you: {self.reason}")
        elif self.state is EngineState.STOPPED:
            text = f"stopped ({self.reason})" if self.reason else "stopped"
        else:
            return  # opening: its text stays
        self.dot.setStyleSheet(f"color: {state_colour(colour).name()};")
        self.text.setText(" ".join(text.split()))
        self.text.setToolTip(text)


class Banner(QFrame):
    """A message across the top of the window for things the user should act on.

    A profile waiting for the user (no key, key refused) is said once, with a button to fix
    it; after Dismiss it stays away until the set of waiting profiles changes.

    Signals:
        action: the button was pressed; carries the profile it is about ("" for none).
    """

    action = Signal(str)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # messages quote names and providers
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAccessibleName("Message")
        self.button = QPushButton()
        self.button.setVisible(False)
        self.button.clicked.connect(lambda: self.action.emit(self._about))
        self.close_button = QPushButton("Dismiss")
        self.close_button.clicked.connect(self.dismiss)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        layout.addWidget(self.close_button)
        self._about = ""
        self._waiting_key: frozenset[tuple[str, WaitKind]] = frozenset()
        self._dismissed: frozenset[tuple[str, WaitKind]] | None = None
        self._showing_waiting = False
        self.hide()

    def show_message(self, text: str, level: NoticeLevel = NoticeLevel.INFO,
                     button: str | None = None, about: str = "") -> None:
        colour = {NoticeLevel.ERROR: "failed", NoticeLevel.WARNING: "expired"}.get(
            level, "in_progress")
        self.setStyleSheet(f"Banner {{ border: 1px solid {state_colour(colour).name()}; "
                           "border-radius: 4px; }")
        self.label.setText(text)
        self.button.setText(button or "")
        self.button.setVisible(bool(button))
        self._about = about
        self._showing_waiting = False
        self.show()

    def dismiss(self) -> None:
        if self._showing_waiting:
            self._dismissed = self._waiting_key
        self.hide()

    def on_engine_state(self, event: EngineStateChanged) -> None:
        """Profiles waiting for the user: said once (see the class docstring)."""
        waiting = dict(event.waiting_profiles)
        key = frozenset((name, wait.kind) for name, wait in waiting.items())
        if key == self._waiting_key:
            return
        self._waiting_key = key
        if not waiting:  # (what was dismissed stays dismissed if it comes back)
            if self._showing_waiting:
                self.hide()
            return
        if key == self._dismissed:
            return
        name = sorted(waiting)[0]
        kinds = {wait.kind for wait in waiting.values()}
        about = name if len(waiting) == 1 else ""
        text = (f"Batches of {waiting_words(waiting)}, so they wait; the others go on. "
                if len(waiting) > 1 else
                f"Profile “{name}” {WAIT_WORDS[waiting[name].kind]}, so its batches wait; "
                "the others go on.")
        button = "Add Key…" if kinds <= {WaitKind.NO_KEY} else "Preferences…"
        self.show_message(text, NoticeLevel.WARNING, button, about)
        self._showing_waiting = True

    def on_notice(self, notice: Notice) -> None:
        """Show what went wrong for good (not every retry; a profile waiting for the user is
        said by :meth:`on_engine_state`, once)."""
        if notice.needs_user:
            return
        if notice.level is NoticeLevel.ERROR and notice.batch_id is None:
            self.show_message(notice.message, notice.level)
