"""What the import dialog's check of the whole file found, under its form: a progress bar, a
summary, the cost of the prompts and the problems listed.

The dialog runs the check (in the background, dropping answers about older options) and keeps
what it found; this only shows it. The widgets are the dialog's to lay out.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QListWidget, QProgressBar

from batcher_gui.domain import intake as previews
from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.intake import FileEstimate
from batcher_gui.domain.pricing import PriceTable
from batcher_gui.domain.wording import plural
from batcher_gui.ui.dialogs import words
from batcher_gui.ui.dialogs.import_words import RED, cost_text, escaped, problems

#: The problems listed under the summary, at most.
SHOWN_PROBLEMS = 50


class CheckView:
    """The check's widgets and what they say; the bar counts to 1000 while a check runs."""

    def __init__(self) -> None:
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

    def show_cannot_import(self, message: str) -> None:
        """The file itself cannot be read as chosen: no check, no cost."""
        self.check_bar.setRange(0, 1)
        self.check_bar.setValue(0)
        self.summary.setText(f"<b>This file cannot be imported.</b> {escaped(message)}")
        self.cost.setText("")
        self.errors.clear()

    def show_checking(self) -> None:
        """A new check begins: what the last one found goes."""
        self.cost.setText("")
        self.summary.setText("Checking the whole file…")
        self.errors.clear()
        self.check_bar.setRange(0, 1000)
        self.check_bar.setValue(0)

    def show_progress(self, done: int, total: int) -> None:
        if total:
            self.check_bar.setValue(int(1000 * done / total))

    def show_problem(self, exc: BatcherError) -> str:
        """Why nothing can be imported: one problem in the summary, several listed below it
        (each said once). Returns the first problem."""
        found = problems(exc)
        total = max(len(found), getattr(exc, "total", 0))
        self.check_bar.setValue(0)
        self.errors.clear()
        if total == 1:
            said = escaped(found[0])
        else:
            said = f"{plural(total, 'problem')}, listed below."
            for problem in found[:SHOWN_PROBLEMS]:
                self.errors.addItem(problem)
            more = total - min(len(found), SHOWN_PROBLEMS)
            if more > 0:
                self.errors.addItem(f"… and {plural(more, 'more problem')}")
        self.summary.setText(f"<b>Cannot import with these settings:</b> {said}")
        return found[0]

    def show_report(self, report: previews.ValidationReport) -> None:
        """The prompts ready, in how many batches, for which models; the lines with problems."""
        self.check_bar.setValue(1000)
        models = ", ".join(f"{escaped(model)} ×{n:,}" for model, n in sorted(
            report.models.items(), key=lambda kv: -kv[1])[:4])
        text = (f"<b>{plural(report.valid, 'prompt')}</b> ready in "
                f"<b>{plural(report.batches, 'batch', 'batches')}</b>"
                + (f" · {models}" if models else ""))
        if report.invalid:
            text += (f" · <span style='color:{RED}'><b>{plural(report.invalid, 'line')}</b> "
                     "with problems</span>")
        for warning in report.warnings:
            text += f"<br>{escaped(words.import_message(warning))}"
        for note in report.notes:  # e.g. chat lines converted for a Claude profile
            text += f"<br>{escaped(note)}"
        self.summary.setText(text)
        self.errors.clear()
        for error in report.errors:
            self.errors.addItem(words.import_problem(error))
        if report.invalid > len(report.errors):
            more = report.invalid - len(report.errors)
            self.errors.addItem(f"… and {plural(more, 'more line')} with problems")

    def show_counting(self) -> None:
        self.cost.setText("Counting tokens…")

    def show_estimate(self, estimate: FileEstimate, prices: PriceTable) -> None:
        self.cost.setText(cost_text(estimate, prices))
