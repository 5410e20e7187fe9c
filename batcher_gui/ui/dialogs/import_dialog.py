"""Import files as runs: look at the file, answer what its format needs, see the first requests
as they will be sent, let the whole file be checked in the background, then import with a
progress bar and a Cancel button (a cancelled import leaves nothing behind).

Several files (a drop of many) are taken one after another in the same dialog. Nothing here
reads a file on the GUI thread: the peek, the example requests and the dry run all run in
worker threads, and a newer question cancels the older one's answer.
"""

from __future__ import annotations

import asyncio
import html
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from batcher_gui.config.prices import price_table
from batcher_gui.domain import intake as previews
from batcher_gui.domain.errors import BatcherError, Cancelled, ImportValidationError, LineError
from batcher_gui.domain.events import Event, ImportProgress
from batcher_gui.domain.intake import FileEstimate
from batcher_gui.domain.models import ImportOptions, ImportSummary, InputFormat, ProfileLimits
from batcher_gui.domain.pricing import PriceTable
from batcher_gui.domain.wording import plural, size_text
from batcher_gui.ui.base.tasks import spawn
from batcher_gui.ui.dialogs import words
from batcher_gui.ui.dialogs.import_form import FORMAT_NAMES, ImportForm

if TYPE_CHECKING:
    from batcher_gui.app import Service

#: Options settle this long after the last keystroke before the file is read again.
SETTLE_MS = 300
JSONL_COLUMNS = ["custom_id", "url", "model", "first user text"]
def _html(text: str) -> str:
    """Text for a rich-text label (quotes stay quotes)."""
    return html.escape(text, quote=False)


#: The problems listed under the summary, at most.
SHOWN_PROBLEMS = 50
RED = "#c62828"


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
        self.file_label = QLabel()
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.format = QComboBox()
        self.format.setAccessibleName("Format")
        self.format.addItem("Detect", None)
        for fmt, name in FORMAT_NAMES.items():
            self.format.addItem(name, fmt)
        self.format.activated.connect(
            lambda _i: spawn(self._load(), name="import-peek", owner=self))
        self.sheet = QComboBox()
        self.sheet.setAccessibleName("Sheet")
        self.sheet.activated.connect(
            lambda _i: spawn(self._load(), name="import-peek", owner=self))
        self.sheet_label = QLabel("Sheet")
        top = QHBoxLayout()
        top.addWidget(self.file_label, 1)
        top.addWidget(QLabel("Format"))
        top.addWidget(self.format)
        top.addWidget(self.sheet_label)
        top.addWidget(self.sheet)

        self.table = QTableWidget()
        self.table.setAccessibleName("File preview")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
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

        self.check_bar = QProgressBar()
        self.check_bar.setAccessibleName("Checking")
        self.check_bar.setTextVisible(False)
        self.check_bar.setMaximumHeight(8)
        self.summary = QLabel()
        self.summary.setAccessibleName("Check summary")
        self.summary.setWordWrap(True)
        self.cost = QLabel()
        self.cost.setAccessibleName("Cost estimate")
        self.cost.setWordWrap(True)
        self.errors = QListWidget()
        self.errors.setAccessibleName("Problems")
        self.errors.setMaximumHeight(110)
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
        layout.addLayout(top)
        layout.addWidget(self.table, 2)
        layout.addWidget(middle, 3)
        layout.addWidget(self.check_bar)
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
        self.file_label.setText(f"<b>{Path(self.path).name}</b> · reading…")
        try:
            preview = await self.service.preview_file(self.path, options)
        except BatcherError as exc:
            if generation == self._generation:
                self._cannot_import(_problems(exc)[0])
            return
        if generation != self._generation:
            return
        self.preview = preview
        self.file_label.setText(f"<b>{_html(Path(self.path).name)}</b> · "
                                f"{size_text(preview.total_bytes)} · "
                                f"{FORMAT_NAMES[preview.format]}")
        self.file_label.setToolTip(self.path)
        self._show_sheets(preview)
        self._show_table(preview)
        self.form.setEnabled(True)
        self.form.show_file(preview, self._unique_name(Path(self.path).stem), self.last_model)

    def _cannot_import(self, message: str) -> None:
        self.problem = message
        self.file_label.setText(f"<b>{Path(self.path).name}</b>")
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.form.setEnabled(False)
        self.examples.clear()
        self.check_bar.setRange(0, 1)
        self.check_bar.setValue(0)
        self.summary.setText(f"<b>This file cannot be imported.</b> {_html(message)}")
        self.cost.setText("")
        self.errors.clear()
        self._update_buttons()

    def _show_sheets(self, preview: previews.FilePreview) -> None:
        shown = preview.format is InputFormat.XLSX
        self.sheet.setVisible(shown)
        self.sheet_label.setVisible(shown)
        current = self.sheet.currentData()
        self.sheet.clear()
        for name in preview.sheets:
            self.sheet.addItem(name, name)
        if current in preview.sheets:
            self.sheet.setCurrentIndex(preview.sheets.index(current))

    def _show_table(self, preview: previews.FilePreview) -> None:
        columns = (preview.columns or (JSONL_COLUMNS if preview.format is InputFormat.JSONL
                                       else ["prompt"]))
        self.table.clear()
        self.table.setColumnCount(len(columns))
        self.table.setHorizontalHeaderLabels(columns)
        self.table.setRowCount(len(preview.rows))
        for r, row in enumerate(preview.rows):
            for c, cell in enumerate(row[:len(columns)]):
                self.table.setItem(r, c, QTableWidgetItem(cell.replace("\n", " ⏎ ")))
        for c in range(len(columns)):
            self.table.setColumnWidth(c, 320 if len(columns) == 1 else 160)
        self.table.horizontalHeader().setStretchLastSection(True)

    def _unique_name(self, stem: str) -> str:
        name, n = stem, 2
        while name in self._run_names:
            name, n = f"{stem} ({n})", n + 1
        return name

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
        self.cost.setText("")
        self.summary.setText("Checking the whole file…")
        self.errors.clear()
        self.check_bar.setRange(0, 1000)
        self.check_bar.setValue(0)
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
        self.examples.setPlainText(_examples_text(examples))

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
        self.cost.setText("Counting tokens…")
        try:
            estimate = await self.service.estimate_file(
                path, options, profile=self.form.profile_name() or None, cancel=stop)
        except BatcherError:  # Cancelled among them: newer options are being checked
            return
        if generation == self._generation:
            self._show_estimate(estimate)

    def _show_estimate(self, estimate: FileEstimate) -> None:
        cost = estimate.cost
        if cost is None:
            return
        self.cost.setText(cost_text(estimate, self.form.prices))
        self.estimate = estimate

    def _check_progress(self, generation: int, done: int, total: int) -> None:
        if generation == self._generation and total:
            self.check_bar.setValue(int(1000 * done / total))

    def _show_problem(self, exc: BatcherError) -> None:
        """Why nothing can be imported: one problem in the summary, several listed below it
        (each said once)."""
        problems = _problems(exc)
        total = max(len(problems), getattr(exc, "total", 0))
        self.problem = problems[0]
        self.check_bar.setValue(0)
        self.errors.clear()
        if total == 1:
            said = _html(problems[0])
        else:
            said = f"{plural(total, 'problem')}, listed below."
            for problem in problems[:SHOWN_PROBLEMS]:
                self.errors.addItem(problem)
            more = total - min(len(problems), SHOWN_PROBLEMS)
            if more > 0:
                self.errors.addItem(f"… and {plural(more, 'more problem')}")
        self.summary.setText(f"<b>Cannot import with these settings:</b> {said}")
        self._update_buttons()

    def _show_report(self, report: previews.ValidationReport) -> None:
        self.report = report
        self.check_bar.setValue(1000)
        models = ", ".join(f"{_html(model)} ×{n:,}" for model, n in sorted(
            report.models.items(), key=lambda kv: -kv[1])[:4])
        text = (f"<b>{plural(report.valid, 'prompt')}</b> ready in "
                f"<b>{plural(report.batches, 'batch', 'batches')}</b>"
                + (f" · {models}" if models else ""))
        if report.invalid:
            text += (f" · <span style='color:{RED}'><b>{plural(report.invalid, 'line')}</b> "
                     "with problems</span>")
        for warning in report.warnings:
            text += f"<br>{_html(words.import_message(warning))}"
        self.summary.setText(text)
        self.errors.clear()
        for error in report.errors:
            self.errors.addItem(words.import_problem(error))
        if report.invalid > len(report.errors):
            more = report.invalid - len(report.errors)
            self.errors.addItem(f"… and {plural(more, 'more line')} with problems")
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
        self.format.setEnabled(not importing)
        self.sheet.setEnabled(not importing)
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
                                 f"{_html(words.plain(str(outcome)))}")
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
        self.format.setCurrentIndex(0)
        self.sheet.clear()
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


def _problems(exc: BatcherError) -> list[str]:
    """An error's problems in the dialog's words (at least one)."""
    errors: list[LineError] = getattr(exc, "errors", None) or []
    return ([words.import_problem(e) for e in errors] if errors
            else [words.plain(str(exc).splitlines()[0] if str(exc) else "unknown problem")])


def cost_text(estimate: FileEstimate, prices: PriceTable) -> str:
    """Tokens and what they cost (rich text); models without a known price are named, never
    priced at $0."""
    cost = estimate.cost
    assert cost is not None
    about = "" if estimate.exact else "about "
    text = (f"{about}{estimate.input_tokens:,} input tokens, at most "
            f"{estimate.output_bound:,} output")
    unpriced = sorted(m for m in estimate.models if prices.price(m) is None)
    if unpriced:
        names = " or ".join(f"“{_html(m)}”" for m in unpriced[:3])
        names += f" and {plural(len(unpriced) - 3, 'more model')}" if len(unpriced) > 3 else ""
        missing = f"<span style='color:{RED}'>no price known for {names}</span>"
    if unpriced and len(unpriced) == len(estimate.models):
        return f"{text} · {missing}, so no cost can be shown"
    others = " for the other models" if unpriced else ""
    text += (f" · <b>{words.money_range(cost.low, cost.high)}</b> at batch prices{others} "
             f"(live calls: up to {words.money(cost.live_high)})")
    return f"{text} · {missing}" if unpriced else text


def _examples_text(examples: list[tuple[str, bytes] | LineError]) -> str:
    if not examples:
        return "(the file has no prompts)"
    parts = []
    for example in examples:
        if isinstance(example, LineError):
            parts.append(f"✖ {words.import_problem(example)}")
        else:
            custom_id, body = example
            pretty = orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2).decode()
            parts.append(f"custom_id: {custom_id}\n{pretty}")
    return "\n\n".join(parts)


__all__ = ["ImportDialog", "ImportSummary"]
