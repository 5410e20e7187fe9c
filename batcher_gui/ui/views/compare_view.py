"""The Compare tab: two runs side by side — their figures and agreement at the top, a filter
bar with counts, one row per pair, and both answers with a word-level diff below."""

from __future__ import annotations

import asyncio
import html
import logging

import shiboken6
from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from batcher_gui.app.compare import Comparison
from batcher_gui.app.reader import Superseded
from batcher_gui.domain.compare import (
    CompareFilter,
    CompareSummary,
    DiffOp,
    PairDetail,
    PairFlag,
    PairRow,
    RunSide,
    share,
    word_diff,
)
from batcher_gui.ui.base.tasks import spawn
from batcher_gui.ui.base.theme import is_dark, money
from batcher_gui.ui.models.compare import PAGE, CompareModel, same_words

log = logging.getLogger(__name__)

#: (background, text) of deleted (A only) and inserted (B only) words: (light, dark).
DIFF_COLOURS = {DiffOp.DELETED: (("#fde2e2", "#7f1d1d"), ("#5c1d1d", "#fecaca")),
                DiffOp.INSERTED: (("#dcfce7", "#14532d"), ("#14532d", "#bbf7d0"))}
WIDTHS = (110, 220, 260, 260, 110, 90, 90, 90, 90, 70, 70, 90, 90, 120, 120)


def diff_html(ops: list[tuple[DiffOp, str]], keep: DiffOp, dark: bool) -> str:
    """One side of a word diff as HTML: the same words plain, ``keep`` ones (DELETED for A,
    INSERTED for B) highlighted (and struck through for deletions: not by colour alone)."""
    background, colour = DIFF_COLOURS[keep][1 if dark else 0]
    parts = []
    for op, text in ops:
        if op is DiffOp.SAME:
            parts.append(html.escape(text))
        elif op is keep:
            style = f"background-color:{background}; color:{colour};"
            if keep is DiffOp.DELETED:
                style += " text-decoration: line-through;"
            else:
                style += " text-decoration: underline;"
            parts.append(f'<span style="{style}">{html.escape(text)}</span>')
    return ('<pre style="white-space: pre-wrap; font-family: monospace;">' + "".join(parts)
            + "</pre>")


def side_html(name: str, side: RunSide) -> str:
    models = f" — {html.escape(', '.join(side.models))}" if side.models else ""
    return (f"<b>{name}: run {html.escape(side.label)}</b>{models}<br>"
            f"{side.prompts:,} prompts, {side.answered:,} answered, "
            f"{side.failed:,} failed · tokens {side.input_tokens:,} in / "
            f"{side.output_tokens:,} out · {html.escape(money(side.cost) or 'cost unknown')}")


def summary_html(summary: CompareSummary) -> str:
    lines = [html.escape(summary.lines()[0]),
             f"<b>Agreement</b> over {summary.answered:,} answered pairs: exact "
             f"<b>{share(summary.same, summary.answered)}</b> ({summary.same:,}), normalised "
             f"<b>{share(summary.normalised_same, summary.answered)}</b> "
             f"({summary.normalised_same:,}); failed in either {summary.failed:,}"]
    if summary.json_pairs:
        agree, compared = summary.json_agreeing
        keys = ", ".join(f"{html.escape(k)} {share(a, t)}" for k, a, t in summary.json_keys[:8])
        lines.append(f"JSON answers ({summary.json_pairs:,} pairs): key by key "
                     f"<b>{share(agree, compared)}</b> — {keys}")
    return "<br>".join(lines)


class CompareView(QWidget):
    """See the module docstring. :meth:`start` builds and shows a :class:`Comparison`."""

    #: The user closed the tab (the owner removes it and closes the comparison).
    closeRequested = Signal()
    #: The user asked to compare the runs again as they are now.
    refreshRequested = Signal()
    #: "Re-run the Different Ones…": run A's prompt ids of the pairs that differ.
    rerunRequested = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compare-view")
        self.comparison: Comparison | None = None
        self.sides = QLabel()
        self.sides.setObjectName("compare-sides")
        self.sides.setTextFormat(Qt.TextFormat.RichText)
        self.sides.setWordWrap(True)
        self.agreement = QLabel("Pairing the prompts…")
        self.agreement.setObjectName("compare-agreement")
        self.agreement.setTextFormat(Qt.TextFormat.RichText)
        self.agreement.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setFormat("Comparing: %v of %m pairs")
        self.close_button = QPushButton("Close Compare")
        self.close_button.clicked.connect(self.closeRequested.emit)
        self.again_button = QPushButton("Compare Again")
        self.again_button.setToolTip("A compare shows the runs as they were when it opened: "
                                     "read them again (answers that arrived since, labels)")
        self.again_button.clicked.connect(self.refreshRequested.emit)
        self.rerun_button = QPushButton("Re-run the Different Ones…")
        self.rerun_button.setToolTip("Run A's prompts whose answers differ from B's, again with "
                                     "a change (another model, prompt or options)")
        self.rerun_button.setEnabled(False)
        self.rerun_button.clicked.connect(self._rerun_different)
        self.filters = QButtonGroup(self)
        self.filters.setExclusive(True)
        self.buttons: dict[CompareFilter, QPushButton] = {}
        bar = QHBoxLayout()
        for only in CompareFilter:
            button = QPushButton(only.label)
            button.setCheckable(True)
            button.setEnabled(only is CompareFilter.ALL)
            button.setAccessibleName(f"Show {only.label.lower()}")
            button.clicked.connect(lambda _c=False, f=only: self.set_filter(f))
            self.filters.addButton(button)
            self.buttons[only] = button
            bar.addWidget(button)
        self.buttons[CompareFilter.ALL].setChecked(True)
        bar.addStretch(1)
        bar.addWidget(self.rerun_button)
        bar.addWidget(self.again_button)
        bar.addWidget(self.close_button)
        self.model = CompareModel(self)
        self.table = QTableView()
        self.table.setAccessibleName("Pairs")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate(WIDTHS):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self._row_chosen(current))
        self.answer_a = QTextBrowser()
        self.answer_a.setObjectName("compare-answer-a")
        self.answer_b = QTextBrowser()
        self.answer_b.setObjectName("compare-answer-b")
        self.pair_title = QLabel("Choose a pair to see both answers, the differences marked.")
        self.pair_title.setWordWrap(True)
        answers = QSplitter(Qt.Orientation.Horizontal)
        answers.addWidget(self.answer_a)
        answers.addWidget(self.answer_b)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.pair_title)
        detail_layout.addWidget(answers, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(detail)
        split.setSizes([500, 300])
        layout = QVBoxLayout(self)
        layout.addWidget(self.sides)
        layout.addWidget(self.agreement)
        layout.addWidget(self.progress)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        self._shown_pos: int | None = None

    # -- building --------------------------------------------------------------------------
    async def start(self, comparison: Comparison) -> CompareSummary | None:
        """Show the first pairs at once, build the rest (progress), then the counts."""
        self.comparison = comparison
        preview = spawn(self._preview(comparison), name="compare-preview", owner=self)

        # Both are called from the build's thread, through the loop: the tab (or the window)
        # may have been closed between the call and its turn.
        def progressed(done: int, total: int) -> None:
            if not shiboken6.isValid(self.progress):
                return
            self.progress.setMaximum(max(total, 1))
            self.progress.setValue(done)

        def so_far(summary: CompareSummary) -> None:
            if not shiboken6.isValid(self.agreement):
                return
            if comparison.summary is None and summary.total:  # the exact one not shown yet
                self.agreement.setText(f"<i>So far, over the first {summary.total:,} pairs:"
                                       f"</i><br>{summary_html(summary)}")

        try:
            summary = await comparison.build(progressed, partial=so_far)
        except Superseded as gone:
            if "gone" in str(gone):  # deleted meanwhile: said, not left "pairing" for ever
                self.progress.hide()
                self.agreement.setText(html.escape(f"Cannot compare: {gone}."))
            return None
        preview.cancel()
        assert comparison.sides is not None
        self.show_summary(comparison.sides, summary)
        self.model.set_built(comparison)
        return summary

    async def _preview(self, comparison: Comparison) -> None:
        try:
            rows = await comparison.preview(PAGE)
        except Superseded:
            return
        if rows is not None and comparison.summary is None:
            self.model.show_preview(comparison, rows)

    def show_summary(self, sides: tuple[RunSide, RunSide], summary: CompareSummary) -> None:
        self.sides.setText(side_html("A", sides[0]) + "<br>" + side_html("B", sides[1]))
        self.agreement.setText(summary_html(summary))
        self.progress.hide()
        for only, button in self.buttons.items():
            button.setText(f"{only.label} ({summary.counts.get(only, 0):,})")
            button.setEnabled(True)
        self.rerun_button.setEnabled(True)

    def _rerun_different(self) -> None:
        if self.comparison is not None:
            spawn(self._ask_rerun(self.comparison), name="compare-rerun", owner=self)

    async def _ask_rerun(self, comparison: Comparison) -> None:
        try:
            ids = await comparison.side_ids(CompareFilter.DIFFERENT, "a")
        except Superseded:
            return
        self.rerunRequested.emit(ids)

    def set_filter(self, only: CompareFilter) -> None:
        self.buttons[only].setChecked(True)
        self.model.set_filter(only)
        self._clear_detail()

    # -- the chosen pair ---------------------------------------------------------------------
    def _clear_detail(self) -> None:
        self._shown_pos = None
        self.pair_title.setText("Choose a pair to see both answers, the differences marked.")
        self.answer_a.clear()
        self.answer_b.clear()

    def _row_chosen(self, index: QModelIndex) -> None:
        pair = self.model.pair_at(index.row()) if index.isValid() else None
        if pair is None or self.comparison is None:
            return
        self._shown_pos = pair.pos
        spawn(self._show_pair(self.comparison, pair), name="compare-detail", owner=self)

    async def _show_pair(self, comparison: Comparison, pair: PairRow) -> None:
        try:
            detail = await comparison.pair_detail(pair)
        except Superseded:
            return
        # A long pair of answers is diffed off the GUI thread (difflib is quadratic at worst).
        ops = await asyncio.get_running_loop().run_in_executor(
            None, word_diff, detail.a_answer, detail.b_answer)
        if self._shown_pos != pair.pos:
            return  # another pair was chosen meanwhile
        self.show_detail(detail, ops)

    def show_detail(self, detail: PairDetail, ops: list[tuple[DiffOp, str]]) -> None:
        row = detail.row
        dark = is_dark(self)
        self.pair_title.setText(f"{row.key} — {same_words(row.flags)}: "
                                f"{(row.a or row.b).prompt if (row.a or row.b) else ''}")
        both = bool(row.flags & PairFlag.ANSWERED)  # else one side's answer, not a diff
        for browser, side, keep, name, text in (
                (self.answer_a, detail.a, DiffOp.DELETED, "A", detail.a_answer),
                (self.answer_b, detail.b, DiffOp.INSERTED, "B", detail.b_answer)):
            if side is None:
                browser.setHtml(f"<i>Not in run {name}.</i>")
            elif side.response is None or side.row.state.value in ("failed", "expired"):
                browser.setHtml(f"<b>{name}</b> ({html.escape(side.row.state.value)})<br>"
                                f"<pre>{html.escape(side.error or 'No answer yet.')}</pre>")
            else:
                body = (diff_html(ops, keep, dark) if both else
                        f'<pre style="white-space: pre-wrap;">{html.escape(text)}</pre>')
                browser.setHtml(f"<b>{name}</b> — {html.escape(side.row.model)}" + body)
