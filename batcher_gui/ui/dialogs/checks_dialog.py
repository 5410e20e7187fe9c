"""Run → Checks…: the rules every answer of a run must meet, and how many pass.

Each kind is ticked on or off; the schema (pasted, or loaded from a file) and the regex are
validated as they are typed, the problem shown under the form and Save kept off until they are
right. Save replaces the run's rules; its answers are checked again in the background (the
Check column, the runs list's Checks column and these counts fill in as they are).
"""

from __future__ import annotations

import asyncio
import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from batcher_gui.domain.checks import CheckCounts, CheckRules, parse_labels, parse_schema
from batcher_gui.domain.errors import BatcherError, InvalidInput
from batcher_gui.domain.views import RunOverview
from batcher_gui.ui.base.messages import pick_files
from batcher_gui.ui.base.tasks import spawn
from batcher_gui.ui.dialogs.words import plain

if TYPE_CHECKING:
    from batcher_gui.app import Service

#: A schema file bigger than this is not a schema (and would stall the form).
MAX_SCHEMA_BYTES = 2 * 1024 * 1024
_ERROR = "<span style='color:#c62828'>{}</span>"


def counts_words(counts: CheckCounts) -> str:
    return (f"{counts.passed:,} passed · {counts.failed:,} failed · "
            f"{counts.not_checked:,} not checked")


class ChecksDialog(QDialog):
    """Set or clear a run's checks on answers (see the module docstring)."""

    def __init__(self, service: Service, run: RunOverview, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("checks-dialog")
        self.setWindowTitle(f"Checks on the answers of run {run.run.label}")
        self.service, self.run = service, run
        self.use_json = QCheckBox("The answer parses as &JSON")
        self.use_json.setToolTip("An answer that is only a ```json fenced block passes too")
        self.use_schema = QCheckBox("It matches a JSON &Schema:")
        self.schema = QPlainTextEdit()
        self.schema.setAccessibleName("JSON Schema")
        self.schema.setPlaceholderText('{"type": "object", "required": ["score"], '
                                       '"properties": {"score": {"type": "integer"}}}')
        self.load_schema = QPushButton("Load from File…")
        self.load_schema.clicked.connect(
            lambda: spawn(self._load_schema(), name="load-schema", owner=self))
        self.use_labels = QCheckBox("It is one of these &labels:")
        self.labels = QLineEdit()
        self.labels.setAccessibleName("Labels")
        self.labels.setPlaceholderText("good, bad, unsure")
        self.labels_loose = QCheckBox("Ignore case and spaces around")
        self.use_regex = QCheckBox("It matches the &regex:")
        self.regex = QLineEdit()
        self.regex.setAccessibleName("Regular expression")
        self.regex.setPlaceholderText(r"^(yes|no)\b  (found anywhere; anchor with ^ and $)")
        self.use_max = QCheckBox("It has at most")
        self.max_chars = QSpinBox()
        self.max_chars.setAccessibleName("Most characters")
        self.max_chars.setRange(0, 100_000_000)
        self.max_chars.setValue(1000)
        self.max_chars.setGroupSeparatorShown(True)
        self.counts = QLabel("Reading the counts…")
        self.counts.setAccessibleName("Check counts")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Checks message")
        note = QLabel("The answer must meet every rule ticked; the first it breaks is shown "
                      "with the prompt. Saving checks every answer of the run again, in the "
                      "background.")
        note.setWordWrap(True)
        note.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        grid = QGridLayout()
        grid.addWidget(self.use_json, 0, 0, 1, 3)
        grid.addWidget(self.use_schema, 1, 0, 1, 2)
        grid.addWidget(self.load_schema, 1, 2)
        grid.addWidget(self.schema, 2, 0, 1, 3)
        grid.addWidget(self.use_labels, 3, 0)
        grid.addWidget(self.labels, 3, 1, 1, 2)
        grid.addWidget(self.labels_loose, 4, 1, 1, 2)
        grid.addWidget(self.use_regex, 5, 0)
        grid.addWidget(self.regex, 5, 1, 1, 2)
        grid.addWidget(self.use_max, 6, 0)
        grid.addWidget(self.max_chars, 6, 1)
        grid.addWidget(QLabel("characters"), 6, 2)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Close)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.clear_button = buttons.addButton("Remove Checks",
                                              QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.accepted.connect(lambda: spawn(self._save(), name="checks", owner=self))
        buttons.rejected.connect(self.reject)
        self.clear_button.clicked.connect(
            lambda: spawn(self._save(CheckRules()), name="checks", owner=self))
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(grid)
        layout.addWidget(self.counts)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

        for box in (self.use_json, self.use_schema, self.use_labels, self.labels_loose,
                    self.use_regex, self.use_max):
            box.toggled.connect(self._validate)
        self.schema.textChanged.connect(self._validate)
        self.labels.textChanged.connect(self._validate)
        self.regex.textChanged.connect(self._validate)
        self.max_chars.valueChanged.connect(self._validate)
        self._validate()
        self.resize(620, 520)
        self.loading = spawn(self._load(), name="checks-load", owner=self)

    # -- the form ----------------------------------------------------------------------------
    def rules(self) -> CheckRules:
        """The rules the form says; InvalidInput (in words) when one is wrong."""
        schema = None
        if self.use_schema.isChecked():
            if not self.schema.toPlainText().strip():
                raise InvalidInput("Paste a JSON Schema, or load one from a file.")
            schema = parse_schema(self.schema.toPlainText())
        labels: tuple[str, ...] = ()
        if self.use_labels.isChecked():
            labels = parse_labels(self.labels.text())
            if not labels:
                raise InvalidInput("Type the labels, separated by commas.")
        regex = self.regex.text() if self.use_regex.isChecked() else None
        return CheckRules(json=self.use_json.isChecked(), schema=schema, labels=labels,
                          labels_loose=self.labels_loose.isChecked(), regex=regex,
                          max_chars=self.max_chars.value() if self.use_max.isChecked() else None)

    def _validate(self) -> bool:
        self.schema.setEnabled(self.use_schema.isChecked())
        self.load_schema.setEnabled(True)
        self.labels.setEnabled(self.use_labels.isChecked())
        self.labels_loose.setEnabled(self.use_labels.isChecked())
        self.regex.setEnabled(self.use_regex.isChecked())
        self.max_chars.setEnabled(self.use_max.isChecked())
        try:
            rules = self.rules()
        except InvalidInput as exc:
            self._error(str(exc))
            self.save_button.setEnabled(False)
            return False
        self.message.setText("" if not rules.empty else
                             "No rule ticked: saving removes the run's checks.")
        self.save_button.setEnabled(True)
        return True

    def show_rules(self, rules: CheckRules) -> None:
        """Fill the form with the run's rules."""
        self.use_json.setChecked(rules.json)
        self.use_schema.setChecked(rules.schema is not None)
        if rules.schema is not None:
            self.schema.setPlainText(json.dumps(rules.schema, indent=2, ensure_ascii=False))
        self.use_labels.setChecked(bool(rules.labels))
        self.labels.setText(", ".join(rules.labels))
        self.labels_loose.setChecked(rules.labels_loose)
        self.use_regex.setChecked(rules.regex is not None)
        self.regex.setText(rules.regex or "")
        self.use_max.setChecked(rules.max_chars is not None)
        if rules.max_chars is not None:
            self.max_chars.setValue(rules.max_chars)
        self._validate()

    def _error(self, text: str) -> None:
        self.message.setText(_ERROR.format(html.escape(plain(text))))

    # -- the service -------------------------------------------------------------------------
    async def _load(self) -> None:
        try:
            checks = await self.service.run_checks(self.run.run.id)
        except BatcherError as exc:
            self._error(str(exc))
            return
        self.show_rules(checks.rules)
        self.show_counts(checks.counts, has_rules=not checks.rules.empty)

    def show_counts(self, counts: CheckCounts, *, has_rules: bool = True) -> None:
        self.counts.setText(counts_words(counts) if has_rules else "The run has no checks.")

    async def _load_schema(self) -> None:
        chosen = await pick_files(self, "JSON Schema", str(Path.home()),
                                  "JSON Schema (*.json);;All files (*)")
        if not chosen:
            return
        path = Path(chosen[0])
        try:
            text = await asyncio.get_running_loop().run_in_executor(None, _read_schema, path)
        except (OSError, UnicodeDecodeError, InvalidInput) as exc:
            self._error(f"Cannot read {path.name}: {exc}")
            return
        self.use_schema.setChecked(True)
        self.schema.setPlainText(text)

    async def _save(self, rules: CheckRules | None = None) -> None:
        if rules is None:
            if not self._validate():
                return
            rules = self.rules()
        try:
            checks = await self.service.set_checks(self.run.run.id, rules)
        except BatcherError as exc:
            self._error(str(exc))
            return
        self.show_counts(checks.counts, has_rules=not checks.rules.empty)
        self.accept()


def _read_schema(path: Path) -> str:
    if path.stat().st_size > MAX_SCHEMA_BYTES:
        raise InvalidInput(f"it is bigger than {MAX_SCHEMA_BYTES // (1024 * 1024)} MB")
    return path.read_text(encoding="utf-8")


def open_checks(window: Any, live: Any, session: Any) -> ChecksDialog | None:
    """Run → Checks… for the selected run (the window's slot)."""
    run = live.selected_run()
    if run is None or session is None or session.service is None:
        return None
    dialog = ChecksDialog(session.service, run, window)
    session.adopt(dialog)
    dialog.finished.connect(lambda _r: (dialog.deleteLater(), live.refresh_soon()))
    dialog.show()
    return dialog
