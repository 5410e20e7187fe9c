"""Re-run with a change: which prompts (counted), another profile or model, system prompt,
template or request options; the first changed request and the estimate before anything is
made. The re-run itself is the service's (all or nothing, like an import)."""

from __future__ import annotations

import asyncio
import html
from typing import TYPE_CHECKING, Any

import orjson
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
)

from batcher_gui.config.prices import price_table
from batcher_gui.domain.errors import BatcherError, InvalidInput
from batcher_gui.domain.events import ImportProgress
from batcher_gui.domain.models import Run
from batcher_gui.domain.rerun import (
    RerunChange,
    RerunPlan,
    RerunScope,
    parse_option,
    scope_words,
)
from batcher_gui.ui.base.tasks import spawn
from batcher_gui.ui.dialogs.import_words import RED, cost_text

if TYPE_CHECKING:
    from batcher_gui.app import Service

SAME = ""  # the profile combo's "same profile" (never None: see qtfix.py)
TEMPLATE_FORMATS = ("csv", "tsv", "xlsx")


class RerunDialog(QDialog):
    """See the module docstring. ``made`` carries (origin run id, new run id) once made."""

    made = Signal(int, int)

    def __init__(self, service: Service, origin: Run, scope: RerunScope,
                 parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("rerun-dialog")
        self.setWindowTitle(f"Re-run {origin.label} with a change")
        self.service, self.origin, self.scope = service, origin, scope
        self.plan: RerunPlan | None = None
        self._planning: asyncio.Task[Any] | None = None
        self.which = QLabel("Counting the prompts…")
        self.which.setAccessibleName("Which prompts")
        self.which.setWordWrap(True)
        self.which.setTextFormat(Qt.TextFormat.PlainText)
        self.profile = QComboBox()
        self.profile.setAccessibleName("Profile")
        self.profile.addItem("Same profile", SAME)
        self.model = QLineEdit()
        self.model.setAccessibleName("Model")
        self.model.setPlaceholderText("same model as each prompt")
        self.change_system = QCheckBox("Another system prompt (empty: none)")
        self.system = QPlainTextEdit()
        self.system.setAccessibleName("System prompt")
        self.system.setMaximumHeight(70)
        self.system.setEnabled(False)
        self.template = QLineEdit()
        self.template.setAccessibleName("Template")
        templated = origin.source_format in TEMPLATE_FORMATS
        self.template.setEnabled(templated)
        self.template.setPlaceholderText(
            "same template; or e.g. Review: {text}  (the source file is read again)"
            if templated else "only for runs imported from CSV, TSV or Excel files")
        self.options = QPlainTextEdit()
        self.options.setAccessibleName("Request options")
        self.options.setPlaceholderText("one a line: temperature=0.2, max_tokens=300, "
                                        "seed=null (removes it)")
        self.options.setMaximumHeight(60)
        self.name = QLineEdit()
        self.name.setAccessibleName("New run's name")
        self.preview = QPlainTextEdit()
        self.preview.setObjectName("rerun-preview")
        self.preview.setReadOnly(True)
        self.preview.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.estimate = QLabel("")
        self.estimate.setAccessibleName("Estimate")
        self.estimate.setWordWrap(True)
        self.message = QLabel("")
        self.message.setAccessibleName("Re-run message")
        self.message.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Prompts", self.which)
        form.addRow("Profile", self.profile)
        form.addRow("Model", self.model)
        form.addRow(self.change_system)
        form.addRow("System prompt", self.system)
        form.addRow("Template", self.template)
        form.addRow("Options", self.options)
        form.addRow("Name", self.name)
        # The user asked for this re-run and saw its cost: it goes at once, unlike an import
        # (whose drafts wait for more prompts) — unless they want to send it later.
        self.send_now = QCheckBox("Send it now (else it waits like an import until Submit Now)")
        self.send_now.setChecked(True)
        form.addRow(self.send_now)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.rerun_button = buttons.addButton("Re-run", QDialogButtonBox.ButtonRole.AcceptRole)
        self.rerun_button.setEnabled(False)
        buttons.accepted.connect(lambda: spawn(self._make(), name="rerun", owner=self))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("The first request as it will be sent:"))
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.estimate)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self._later = QTimer(self, singleShot=True, interval=300)
        self._later.timeout.connect(self.replan)
        for edit in (self.model, self.template, self.name):
            edit.textChanged.connect(lambda _t: self._changed())
        for text in (self.system, self.options):
            text.textChanged.connect(self._changed)
        self.profile.currentIndexChanged.connect(lambda _i: self._changed())
        self.change_system.toggled.connect(self._system_toggled)
        self.resize(720, 640)
        spawn(self._load_profiles(), name="rerun-profiles", owner=self)
        self.replan()

    async def _load_profiles(self) -> None:
        for profile in await self.service.profiles():
            if profile.id != self.origin.profile_id:
                self.profile.addItem(f"{profile.name} ({profile.kind})", profile.name)
            else:
                self.profile.setItemText(0, f"Same profile ({profile.name})")

    def _system_toggled(self, on: bool) -> None:
        self.system.setEnabled(on)
        self._changed()

    def _changed(self) -> None:
        """A field changed: what was checked no longer holds until it is checked again."""
        self.rerun_button.setEnabled(False)
        self._later.start()

    def change(self) -> RerunChange:
        """The change as the form says (InvalidInput for an option that is not key=value)."""
        options = dict(parse_option(line) for line in self.options.toPlainText().splitlines()
                       if line.strip())
        return RerunChange(
            profile=self.profile.currentData() or None,
            model=self.model.text().strip() or None,
            system=self.system.toPlainText().strip() if self.change_system.isChecked()
            else None,
            template=self.template.text().strip() or None,
            options=options)

    def replan(self) -> None:
        """Check the change again and show what it makes (the last request wins)."""
        if self._planning is not None:
            self._planning.cancel()
        self.rerun_button.setEnabled(False)
        self._planning = spawn(self._plan(), name="rerun-plan", owner=self)

    async def _plan(self) -> None:
        try:
            change = self.change()
            if change.empty:
                count = await self.service.count_rerun(self.origin.id, self.scope)
                self._show_which(count)
                self.preview.setPlainText("")
                self.estimate.setText("")
                if count == 0:
                    self._say(f"Run {self.origin.label} has none of these prompts "
                              f"({self.scope.words}): there is nothing to re-run.", error=True)
                    return
                self._say("Choose what to change: a profile, model, system prompt, template "
                          "or option.")
                return
            self.message.setText("Checking…")
            # First the count and the first requests (quick), then every request rewritten
            # and counted for the estimate (seconds for a million): the button waits for
            # neither the estimate nor the whole check (the re-run itself is all or nothing).
            plan = await self.service.plan_rerun(self.origin.id, change, self.scope,
                                                 estimate=False)
        except (BatcherError, InvalidInput) as exc:
            self.plan = None
            self._say(str(exc), error=True)
            return
        if self._later.isActive():
            # The form changed while this was checked (typing began before the dialog's first
            # check ran): the newer check, due shortly, enables Re-run — not this stale one,
            # whose button would do nothing when clicked.
            return
        self.plan = plan
        self._show_which(plan.count)
        self.name.setPlaceholderText(plan.name)
        self.preview.setPlainText(_examples(plan))
        self._say(plan.words[0].upper() + plan.words[1:] + ": a new run, sent like an import.")
        self.rerun_button.setEnabled(True)
        self.estimate.setText("Estimating the cost…")
        try:
            full = await self.service.plan_rerun(self.origin.id, change, self.scope)
        except BatcherError as exc:
            self.plan = None
            self.rerun_button.setEnabled(False)
            self.estimate.setText("")
            self._say(str(exc), error=True)
            return
        if full.estimate is not None and full.estimate.cost is not None:
            self.estimate.setText(cost_text(full.estimate,
                                            price_table(self.service.settings.prices)))

    def _show_which(self, count: int) -> None:
        self.which.setText(f"{scope_words(self.scope, count)} of run {self.origin.label}")

    def _say(self, text: str, *, error: bool = False) -> None:
        shown = html.escape(text, quote=False)
        self.message.setText(f"<span style='color:{RED}'>{shown}</span>" if error else shown)

    async def _make(self) -> None:
        if self.plan is None or self._later.isActive():
            return
        if self._planning is not None and not self._planning.done():
            self._planning.cancel()  # only the estimate is left: the re-run need not wait
        self.rerun_button.setEnabled(False)
        self._say(f"Making the re-run of {self.plan.which}…")
        job = self.service.new_job_id()

        def progress(event: object) -> None:  # a big re-run takes seconds: show how far
            if isinstance(event, ImportProgress) and event.job_id == job and event.total:
                self._say(f"Making the re-run: {event.done:,} of {event.total:,} prompts…")

        unsubscribe = self.service.subscribe(progress)
        try:
            summary = await self.service.rerun(self.origin.id, self.change(), self.scope,
                                               name=self.name.text().strip() or None,
                                               job_id=job)
        except BatcherError as exc:
            self._say(str(exc), error=True)
            self.rerun_button.setEnabled(True)
            return
        finally:
            unsubscribe()
        self.made.emit(self.origin.id, summary.run.id)
        self.accept()


def _examples(plan: RerunPlan) -> str:
    parts = []
    for custom_id, before, after in plan.examples[:2]:
        was = orjson.dumps(orjson.loads(before), option=orjson.OPT_INDENT_2).decode()
        now = orjson.dumps(orjson.loads(after), option=orjson.OPT_INDENT_2).decode()
        parts.append(f"custom_id: {custom_id}\n— now —\n{now}\n— was —\n{was}")
    return "\n\n".join(parts)
