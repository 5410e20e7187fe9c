"""Where a run's results go as they arrive: nowhere (read them here or export), a folder, or a
webhook; and sending them again.

What each target really gets (engine/delivery.py): a folder holds two files for the run,
``<run name>.jsonl`` and ``<run name>.csv``, each growing by one line per answer as answers
arrive; a webhook gets one POST per answer, retried with backoff until it answers 2xx.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
)

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.file_names import results_file_stem
from batcher_gui.domain.views import RunOverview
from batcher_gui.domain.wording import plural, shortened
from batcher_gui.ui.base.messages import pick_files
from batcher_gui.ui.base.said import delivery_set
from batcher_gui.ui.base.tasks import spawn
from batcher_gui.ui.dialogs.words import plain

if TYPE_CHECKING:
    from batcher_gui.app import Service


class DeliveryDialog(QDialog):
    """Set or clear a run's results folder or webhook; redeliver failed (or all) results."""

    def __init__(self, service: Service, run: RunOverview, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("delivery-dialog")
        self.setWindowTitle(f"Delivery of run {run.run.label}")
        self.service, self.run = service, run
        stem = shortened(results_file_stem(run.run.name, run.run.id))
        self.none = QRadioButton("No delivery — read the answers here, or export the run")
        self.folder = QRadioButton("Write the answers to a folder")
        self.folder.setToolTip(f"Two files for this run, “{stem}.jsonl” and “{stem}.csv” "
                               "(with the run's number added if another run's files already "
                               "have those names), one line per answer")
        self.folder_note = QLabel(
            f"Batcher keeps two files there for this run, “{stem}.jsonl” and “{stem}.csv”, "
            "and adds a line to each as every answer arrives.")
        self.webhook = QRadioButton("Send each answer to a webhook")
        self.webhook_note = QLabel(
            "One POST per answer (a JSON object with the run, the custom_id, the model, the "
            "usage and the response); one the server refuses is sent again, up to the "
            "“Webhook attempts” set in Preferences → Workspace.")
        for note in (self.folder_note, self.webhook_note):
            note.setWordWrap(True)
            note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.group = QButtonGroup(self)
        for button in (self.none, self.folder, self.webhook):
            self.group.addButton(button)
        self.folder_path = QLineEdit()
        self.folder_path.setAccessibleName("Results folder")
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: spawn(self._browse(), name="browse", owner=self))
        self.webhook_url = QLineEdit()
        self.webhook_url.setAccessibleName("Webhook URL")
        self.webhook_url.setPlaceholderText("https://example.com/hooks/batcher")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Delivery message")
        self.redeliver_failed = QPushButton("Send failed deliveries again")
        self.redeliver_all = QPushButton("Send all answers again")
        self.redeliver_failed.clicked.connect(
            lambda: spawn(self._redeliver(failed_only=True), name="redeliver", owner=self))
        self.redeliver_all.clicked.connect(
            lambda: spawn(self._redeliver(failed_only=False), name="redeliver", owner=self))

        kind, target = run.run.delivery_kind, run.run.delivery_target or ""
        {"folder": self.folder, "webhook": self.webhook}.get(kind or "", self.none
                                                              ).setChecked(True)
        if kind == "folder":
            self.folder_path.setText(target)
        elif kind == "webhook":
            self.webhook_url.setText(target)

        grid = QGridLayout()
        grid.addWidget(self.none, 0, 0, 1, 3)
        grid.addWidget(self.folder, 1, 0, 1, 3)
        grid.addWidget(self.folder_path, 2, 1)
        grid.addWidget(browse, 2, 2)
        grid.addWidget(self.folder_note, 3, 1, 1, 2)
        grid.addWidget(self.webhook, 4, 0, 1, 3)
        grid.addWidget(self.webhook_url, 5, 1, 1, 2)
        grid.addWidget(self.webhook_note, 6, 1, 1, 2)
        grid.setColumnMinimumWidth(0, 18)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Close)
        buttons.accepted.connect(lambda: spawn(self._save(), name="delivery", owner=self))
        buttons.rejected.connect(self.reject)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.message)
        redeliver = QGridLayout()
        redeliver.addWidget(self.redeliver_failed, 0, 0)
        redeliver.addWidget(self.redeliver_all, 0, 1)
        layout.addLayout(redeliver)
        layout.addWidget(buttons)
        self._update()
        self.group.buttonToggled.connect(lambda *_: self._update())
        self.resize(600, 340)

    def _update(self) -> None:
        self.folder_path.setEnabled(self.folder.isChecked())
        self.webhook_url.setEnabled(self.webhook.isChecked())
        has_target = self.run.run.delivery_kind is not None
        for button in (self.redeliver_failed, self.redeliver_all):
            button.setEnabled(has_target)
            button.setToolTip("" if has_target else "Save a folder or webhook first")

    async def _browse(self) -> None:
        start = self.folder_path.text() or str(Path.home())
        chosen = await pick_files(self, "Results folder", start, "", directory=True)
        if chosen:
            self.folder_path.setText(chosen[0])
            self.folder.setChecked(True)

    async def _save(self) -> None:
        folder = self.folder_path.text().strip() if self.folder.isChecked() else None
        webhook = self.webhook_url.text().strip() if self.webhook.isChecked() else None
        if self.folder.isChecked() and not folder:
            self.message.setText("Choose the folder the answers go to.")
            return
        if self.webhook.isChecked() and not webhook:
            self.message.setText("Type the webhook's URL (http:// or https://).")
            return
        if webhook and not webhook.startswith(("http://", "https://")):
            self._error("The webhook's URL must start with http:// or https://, e.g. "
                        "https://example.com/hooks/batcher.")
            return
        try:
            outcome = await self.service.set_delivery(self.run.run.id, folder=folder,
                                                   webhook=webhook)
        except BatcherError as exc:
            self._error(plain(str(exc)))
            return
        self.message.setText(delivery_set(outcome))
        self.accept()

    async def _redeliver(self, *, failed_only: bool) -> None:
        try:
            count = await self.service.redeliver(self.run.run.id, failed_only=failed_only)
        except BatcherError as exc:
            self._error(plain(str(exc)))
            return
        self.message.setText(f"{plural(count, 'answer')} will be delivered again.")

    def _error(self, text: str) -> None:
        self.message.setText(f"<span style='color:#c62828'>{html.escape(text)}</span>")
