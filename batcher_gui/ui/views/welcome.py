"""What an empty workspace shows: what Batcher does, where to drop a file, and a sample to try
without a key or any cost."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from batcher_gui.paths import resource

PITCH = ("Batcher sends large sets of prompts through OpenAI's Batch API at half the price of "
         "live calls. Every prompt, batch and answer stays in this workspace on your computer, "
         "to review offline whenever you like.")
DROP = ("Drop a prompts file here\n\nJSON Lines (.jsonl), CSV or TSV, Excel (.xlsx), or a text "
        "file with one prompt per line")


class WelcomePanel(QWidget):
    """The first thing a new workspace shows (in place of the empty prompts table)."""

    choose_file = Signal()
    try_sample = Signal()
    add_key = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        icon = QLabel()
        icon.setPixmap(QIcon(str(resource("icons", "batcher.svg"))).pixmap(72, 72))
        title = QLabel("<h2>Welcome to Batcher</h2>")
        pitch = QLabel(PITCH)
        pitch.setWordWrap(True)
        header = QHBoxLayout()
        header.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        text = QVBoxLayout()
        text.addWidget(title)
        text.addWidget(pitch)
        header.addLayout(text, 1)
        title.setAlignment(Qt.AlignmentFlag.AlignLeft)

        self.drop_zone = QFrame()
        self.drop_zone.setObjectName("drop-zone")
        self.drop_zone.setFrameShape(QFrame.Shape.StyledPanel)
        self.drop_zone.setStyleSheet(
            "#drop-zone { border: 2px dashed palette(mid); border-radius: 12px; }")
        self.drop_zone.setMinimumHeight(170)
        drop_label = QLabel(DROP)
        drop_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        drop_label.setWordWrap(True)
        self.choose_button = QPushButton("Choose a file…")
        self.choose_button.clicked.connect(self.choose_file)
        zone = QVBoxLayout(self.drop_zone)
        zone.addStretch(1)
        zone.addWidget(drop_label)
        zone.addWidget(self.choose_button, 0, Qt.AlignmentFlag.AlignHCenter)
        zone.addStretch(1)

        self.sample_button = QPushButton("Try the sample")
        self.sample_button.setToolTip("34 prompts on the built-in sandbox: no key, no cost, "
                                      "answers in under half a minute")
        self.sample_button.clicked.connect(self.try_sample)
        self.key_button = QPushButton("Add your OpenAI key…")
        self.key_button.setToolTip("Stored in your system's keyring, never in a file")
        self.key_button.clicked.connect(self.add_key)
        sample_note = QLabel("Runs 34 example prompts on the built-in sandbox — no key, no "
                             "cost — so you can see a batch go from sent to answered.")
        sample_note.setWordWrap(True)
        key_note = QLabel("For real answers: the key is kept in your system's keyring, never "
                          "in a file.")
        key_note.setWordWrap(True)
        actions = QHBoxLayout()
        for button, note in ((self.sample_button, sample_note), (self.key_button, key_note)):
            column = QVBoxLayout()
            column.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)
            column.addWidget(note)
            column.addStretch(1)
            actions.addLayout(column, 1)

        # One readable column however wide the window is, centred.
        content = QWidget()
        content.setMaximumWidth(900)
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(18)
        layout.addLayout(header)
        layout.addWidget(self.drop_zone)
        layout.addLayout(actions)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(content, 20)  # grows up to its maximum width, then the sides do
        row.addStretch(1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(28, 24, 28, 24)
        outer.addLayout(row)
        outer.addStretch(1)

    def set_busy(self, busy: bool, message: str = "") -> None:
        """While the sample is being imported: no second click."""
        self.sample_button.setEnabled(not busy)
        self.sample_button.setText(message or "Try the sample")
