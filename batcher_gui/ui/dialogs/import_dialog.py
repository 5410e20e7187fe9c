"""Import files as runs: look at the file, answer what its format needs, see the first requests
as they will be sent, let the whole file be checked in the background, then import with a
progress bar and a Cancel button (a cancelled import leaves nothing behind).

Several files (a drop of many) are taken one after another in the same dialog. Nothing here
reads a file on the GUI thread: the peek, the example requests and the dry run all run in
worker threads, and a newer question cancels the older one's answer. The file's line and rows
are shown by import_file_view.py, what the check found by import_check_view.py.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from batcher_gui.config.prices import price_table
from batcher_gui.domain import intake as previews
from batcher_gui.domain.errors import BatcherError, Cancelled, ImportValidationError
from batcher_gui.domain.events import Event, ImportProgress
from batcher_gui.domain.intake import FileEstimate
from batcher_gui.domain.models import ImportOptions, ImportSummary, InputFormat, ProfileLimits
from batcher_gui.domain.names import run_name_from_file
from batcher_gui.domain.progress import unique_name
from batcher_gui.domain.wording import plural
from batcher_gui.ui.base.tasks import spawn
from batcher_gui.ui.dialogs import words
from batcher_gui.ui.dialogs.import_check_view import CheckView
from batcher_gui.ui.dialogs.import_file_view import FileView
from batcher_gui.ui.dialogs.import_form import ImportForm
from batcher_gui.ui.dialogs.import_words import escaped, examples_text, problems

if TYPE_CHECKING:
    from batcher_gui.app import Service

#: Options settle this long after the last keystroke before the file is read again.
SETTLE_MS = 300


class ImportDialog(QDialog):
    """See the module docstring. ``imported`` carries each run made (an ImportSummary)."""

    imported = Signal(object)

    def __init__(self, service: Service, files: list[str], parent: Any = None,
                 last_model: str | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("import-dialog")
        self.setWindowTitle("Import prompts")
        self.service = service
        self.files = list(files)
        self.index = 0
        self.last_model = last_model
        self.preview: previews.FilePreview | None = None
        self.report: previews.ValidationReport | None = None
        self.problem: str | None = None  # why the current file cannot be imported as it is
        self.estimate: FileEstimate | None = None  # tokens and cost, once counted
        self._check_stop = threading.Event()
        self._import_stop: threading.Event | None = None
        self._generation = 0  # answers for older options are dropped
        self._run_names: set[str] = set()
        self._build()
        self._settle = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._settle.timeout.connect(
            lambda: spawn(self._recheck(), name="import-check", owner=self))
        self.form.changed.connect(self._settle.start)
        self.form.same_prompt.toggled.connect(lambda _on: self._update_buttons())
        self.form.template.textChanged.connect(self._update_buttons)
        self._update_buttons()  # nothing can be imported before the file has been checked
        spawn(self._start(), name="import-open", owner=self)

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        self.file_view = FileView()
        # The views' widgets by their names: the dialog (and its tests) use them often.
        self.file_label, self.table = self.file_view.file_label, self.file_view.table
        self.format, self.sheet = self.file_view.format, self.file_view.sheet
        self.format.activated.connect(
            lambda _i: spawn(self._load(), name="import-peek", owner=self))
        self.sheet.activated.connect(
            lambda _i: spawn(self._load(), name="import-peek", owner=self))

        self.form = ImportForm()
        self.examples = QPlainTextEdit()
        self.examples.setAccessibleName("Example requests")
        self.examples.setReadOnly(True)
        self.examples.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.examples.setPlaceholderText("The first requests, exactly as they will be sent.")
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(QLabel("<b>The first requests</b>"))
        right_layout.addWidget(self.examples, 1)
        middle = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.form)
        left_layout.addStretch(1)
        middle.addWidget(left)
        middle.addWidget(right)
        middle.setSizes([520, 480])

        self.check_view = CheckView()
        self.summary, self.cost = self.check_view.summary, self.check_view.cost
        self.errors = self.check_view.errors
        self.valid_only = QCheckBox("Import the valid lines and leave the others out")
        self.valid_only.toggled.connect(lambda _on: self._update_buttons())
        self.import_bar = QProgressBar()
        self.import_bar.setAccessibleName("Import progress")
        self.import_bar.setRange(0, 1000)
        self.import_bar.hide()

        self.buttons = QDialogButtonBox()
        self.import_button = QPushButton("Import")
        self.import_button.setDefault(True)
        self.buttons.addButton(self.import_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.skip_button = self.buttons.addButton("Skip this file",
                                                  QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.import_button.clicked.connect(self._import_clicked)
        self.skip_button.clicked.connect(self._next_file)
        self.cancel_button.clicked.connect(self._cancel_clicked)

        layout = QVBoxLayout(self)
        layout.addLayout(self.file_view.top)
        layout.addWidget(self.table, 2)
        layout.addWidget(middle, 3)
        layout.addWidget(self.check_view.check_bar)
        layout.addWidget(self.summary)
        layout.addWidget(self.cost)
        layout.addWidget(self.errors)
        layout.addWidget(self.valid_only)
        layout.addWidget(self.import_bar)
        layout.addWidget(self.buttons)
        self.resize(1000, 760)

    # -- a file --------------------------------------------------------------------------------
    @property
    def path(self) -> str:
        return self.files[self.index]

    async def _start(self) -> None:
        profiles = await self.service.profiles()
        self._run_names = {run.name for run in await self.service.runs()}
        self.form.set_prices(price_table(self.service.settings.prices))
        self.form.set_profiles(profiles, self.service.settings.default_profile)
        await self._load()

    def add_files(self, files: list[str]) -> None:
        """More files (another drop while this dialog is open): taken after the current ones."""
        self.files.extend(f for f in files if f not in self.files[self.index:])
        self._show_position()

    def _show_position(self) -> None:
        left = len(self.files) - self.index
        self.skip_button.setVisible(left > 1)
        name = Path(self.path).name
        position = f" — file {self.index + 1} of {len(self.files)}" if len(self.files) > 1 else ""
        self.setWindowTitle(f"Import {name}{position}")

    async def _load(self) -> None:
        """Peek at the current file (format and sheet as chosen) and fill the form."""
        self._generation += 1
        generation = self._generation
        self._show_position()
        self._check_stop.set()
        self.preview, self.report, self.problem = None, None, None
        options = ImportOptions(format=self.format.currentData(),
                                sheet=self.sheet.currentData())
        self.file_view.show_reading(self.path)
        try:
            preview = await self.service.preview_file(self.path, options)
        except BatcherError as exc:
            if generation == self._generation:
                self._cannot_import(problems(exc)[0])
            return
        if generation != self._generation:
            return
        self.preview = preview
        self.file_view.show_file(self.path, preview)
        self.form.setEnabled(True)
        suggested = unique_name(run_name_from_file(Path(self.path).stem), self._run_names)
        self.form.show_file(preview, suggested, self.last_model)

    def _cannot_import(self, message: str) -> None:
        self.problem = message
        self.file_view.show_unreadable(self.path)
        self.form.setEnabled(False)
        self.examples.clear()
        self.check_view.show_cannot_import(message)
        self._update_buttons()

    # -- checking ------------------------------------------------------------------------------
    def options(self) -> ImportOptions:
        return self.form.options(self.format.currentData(), self.sheet.currentData(),
                                 self.valid_only.isChecked())

    def limits(self) -> ProfileLimits:
        profile = self.form.selected_profile()
        return profile.limits if profile is not None else ProfileLimits()

    async def _recheck(self) -> None:
        """Example requests, then a dry run over the whole file, for the current options."""
        if self.preview is None or self._import_stop is not None:
            return
        self._generation += 1
        generation = self._generation
        self._check_stop.set()
        stop = self._check_stop = threading.Event()
        options, profile, path = self.options(), self.form.profile_name() or None, self.path
        loop = asyncio.get_running_loop()
        self.report, self.problem, self.estimate = None, None, None
        self.check_view.show_checking()
        self._update_buttons()
        try:
            examples = await self.service.example_requests(path, options, profile)
        except BatcherError as exc:
            if generation == self._generation:
                self.examples.setPlainText("")
                self._show_problem(exc)
            return
        if generation != self._generation:
            return
        self.examples.setPlainText(examples_text(examples))

        def progress(done: int, total: int) -> None:  # worker thread
            loop.call_soon_threadsafe(self._check_progress, generation, done, total)

        try:
            report = await self.service.check_file(path, options, profile, cancel=stop,
                                                   progress=progress)
        except Cancelled:
            return
        except BatcherError as exc:
            if generation == self._generation:
                self._show_problem(exc)
            return
        if generation != self._generation:
            return
        self._show_report(report)
        if not report.valid:
            return
        self.check_view.show_counting()
        try:
            estimate = await self.service.estimate_file(
                path, options, profile=self.form.profile_name() or None, cancel=stop)
        except BatcherError:  # Cancelled among them: newer options are being checked
            return
        if generation == self._generation:
            self._show_estimate(estimate)

    def _show_estimate(self, estimate: FileEstimate) -> None:
        if estimate.cost is None:
            return
        self.check_view.show_estimate(estimate, self.form.prices)
        self.estimate = estimate

    def _check_progress(self, generation: int, done: int, total: int) -> None:
        if generation == self._generation:
            self.check_view.show_progress(done, total)

    def _show_problem(self, exc: BatcherError) -> None:
        """Why nothing can be imported (see CheckView.show_problem)."""
        self.problem = self.check_view.show_problem(exc)
        self._update_buttons()

    def _show_report(self, report: previews.ValidationReport) -> None:
        self.report = report
        self.check_view.show_report(report)
        if self.preview is not None and self.preview.format is InputFormat.JSONL:
            self.form.show_model_hint(report.models)
        self._update_buttons()

    def _update_buttons(self) -> None:
        importing = self._import_stop is not None
        report = self.report
        self.valid_only.setVisible(report is not None and report.invalid > 0)
        ready = (self.problem is None and report is not None and report.valid > 0
                 and (report.invalid == 0 or self.valid_only.isChecked()))
        waits = ready and self.form.needs_confirmation()
        self.import_button.setEnabled(ready and not waits and not importing)
        self.import_button.setToolTip(
            "The template has no {column}: tick “Send this same prompt for every row” to "
            "import it as it is, or insert a column" if waits else "")
        self.skip_button.setEnabled(not importing)
        self.form.setEnabled(not importing and self.preview is not None)
        self.file_view.set_choosable(not importing)
        self.errors.setVisible(self.errors.count() > 0)

    # -- importing -----------------------------------------------------------------------------
    def _import_clicked(self) -> None:
        if self._import_stop is None and self.report is not None and self.import_button.isEnabled():
            spawn(self._import(), name="import")

    async def _import(self) -> None:
        stop = self._import_stop = threading.Event()
        self._settle.stop()
        self._check_stop.set()
        self._generation += 1  # a check still running must not overwrite the import's outcome
        path, options, profile = self.path, self.options(), self.form.profile_name()
        name = self.form.name.text().strip() or None
        self.import_bar.setValue(0)
        self.import_bar.show()
        self.cancel_button.setText("Stop import")
        self._update_buttons()

        def on_event(event: Event) -> None:
            if (isinstance(event, ImportProgress) and event.path == path and event.total
                    and shiboken6.isValid(self)):
                self.import_bar.setValue(int(1000 * event.done / event.total))
                self.summary.setText(f"Importing… {plural(event.prompts, 'prompt')} so far")

        unsubscribe = self.service.subscribe(on_event)
        outcome: ImportSummary | BatcherError
        try:
            outcome = await self.service.import_file(path, options, profile=profile, name=name,
                                                     cancel=stop)
        except BatcherError as exc:  # Cancelled and ImportValidationError among them
            outcome = exc
        finally:
            unsubscribe()
        if not shiboken6.isValid(self):  # closed mid-import: the window shows what there is
            return
        self._import_stop = None
        self.import_bar.hide()
        self.cancel_button.setText("Cancel")
        self._update_buttons()
        if isinstance(outcome, Cancelled):
            self.summary.setText("Import stopped; nothing was imported.")
        elif isinstance(outcome, ImportValidationError):
            self._show_problem(outcome)
        elif isinstance(outcome, BatcherError):
            self.summary.setText("<b>The import failed; nothing was imported.</b> "
                                 f"{escaped(words.plain(str(outcome)))}")
        else:
            if options.model and self.preview is not None and \
                    self.preview.format is not InputFormat.JSONL:
                self.last_model = options.model
            self._run_names.add(outcome.run.name)
            self.imported.emit(outcome)
            self._next_file()

    def _next_file(self) -> None:
        self._check_stop.set()
        if self.index + 1 >= len(self.files):
            self.accept()
            return
        self.index += 1
        self.file_view.forget_choices()
        self.valid_only.setChecked(False)
        # At once, not when the peek starts: nothing of the last file may be imported again.
        self._generation += 1
        self.preview, self.report, self.problem = None, None, None
        self._show_position()
        self._update_buttons()
        spawn(self._load(), name="import-peek", owner=self)

    def _cancel_clicked(self) -> None:
        if self._import_stop is not None:
            self._import_stop.set()  # the import stops and leaves nothing behind
            self.summary.setText("Stopping the import…")
            return
        self.reject()

    def done(self, result: int) -> None:
        self._check_stop.set()
        if self._import_stop is not None:  # closed mid-import (Esc, the window's X): stop it
            self._import_stop.set()
        super().done(result)


__all__ = ["ImportDialog", "ImportSummary"]
