"""The right-hand pane: the selected prompt, batch or run, in full."""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from batcher_gui.app.render import Colors, conversation_html, usage_text
from batcher_gui.config.prices import price_table
from batcher_gui.domain.checks import check_words
from batcher_gui.domain.models import Batch
from batcher_gui.domain.progress import count_words, drafts_due
from batcher_gui.domain.usage import cache_tokens_in
from batcher_gui.domain.views import PromptDetail, RunOverview, Transition
from batcher_gui.domain.wording import plural, size_text
from batcher_gui.ui.base.messages import open_path
from batcher_gui.ui.base.theme import is_dark, money, state_colour, state_label, when
from batcher_gui.ui.views.highlight import mark_matches
from batcher_gui.ui.views.json_view import JsonView


def _timeline(moves: list[Transition] | tuple[Transition, ...]) -> str:
    lines = []
    for move in moves:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(move.at))
        arrow = f"{move.from_state or '—'} → {move.to_state}"
        lines.append(f"{stamp}  {arrow}" + (f"   {move.reason}" if move.reason else ""))
    return "\n".join(lines) or "(no changes recorded)"


def _copy(text: str) -> None:
    QGuiApplication.clipboard().setText(text)



def escape(text: str) -> str:
    """Text from a file or a provider, for a rich-text title: shown, never read as markup."""
    return html.escape(text, quote=False)


def _value_label(value: str) -> QLabel:
    """A detail form's value: plain text (a provider's message or a run's name may look like
    markup, which Qt would otherwise render), wrapped, selectable."""
    label = QLabel(value)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _badge(label: QLabel, state: Any) -> None:
    label.setText(state_label(state))
    label.setStyleSheet(f"color: {state_colour(state).name()}; font-weight: 600;")


class PromptPane(QWidget):
    """A prompt as a conversation, its JSON, usage and cost, and its history."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.detail: PromptDetail | None = None
        self.prices = price_table()
        layout = QVBoxLayout(self)
        self.title = QLabel()
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title.setWordWrap(True)
        self.state = QLabel()
        self.usage = QLabel()
        self.usage.setAccessibleName("Token usage and cost")
        layout.addWidget(self.title)
        row = QHBoxLayout()
        row.addWidget(self.state)
        row.addStretch(1)
        row.addWidget(self.usage)
        layout.addLayout(row)
        #: The answer against its run's checks: passed, or the failing rule and where.
        self.check = _value_label("")
        self.check.setAccessibleName("Check result")
        layout.addWidget(self.check)
        self.tabs = QTabWidget()
        self.conversation = QTextBrowser()
        self.conversation.setAccessibleName("Conversation")
        self.conversation.setOpenExternalLinks(False)
        self.conversation.setOpenLinks(False)  # its only links open and close folded blocks
        self.conversation.anchorClicked.connect(self._fold_clicked)
        #: The folded blocks (a Claude answer's thinking) the user opened, by number.
        self.opened: set[int] = set()
        #: The prompts view's search (its matches are marked in the conversation); words: as
        #: the search index means them, else substrings.
        self.search_query, self.search_words = "", True
        self.request = JsonView()
        self.request.setAccessibleName("Request JSON")
        self.response = JsonView()
        self.response.setAccessibleName("Response JSON")
        self.history = QPlainTextEdit()
        self.history.setReadOnly(True)
        self.history.setAccessibleName("History")
        self.tabs.addTab(self.conversation, "Conversation")
        self.tabs.addTab(self.request, "Request JSON")
        self.tabs.addTab(self.response, "Response JSON")
        self.tabs.addTab(self.history, "History")
        layout.addWidget(self.tabs, 1)
        buttons = QHBoxLayout()
        for text, action in (("Copy custom_id", self._copy_id),
                             ("Copy request", lambda: _copy(self.request.text_for_copy())),
                             ("Copy response", lambda: _copy(self.response.text_for_copy()))):
            button = QPushButton(text)
            button.clicked.connect(action)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

    def _copy_id(self) -> None:
        if self.detail is not None:
            _copy(self.detail.row.custom_id)

    def _fold_clicked(self, url: QUrl) -> None:
        """A folded block's title was clicked: open it, or close it again."""
        if url.scheme() != "fold" or self.detail is None:
            return
        try:
            key = int(url.path())
        except ValueError:
            return
        self.opened ^= {key}
        bar = self.conversation.verticalScrollBar()
        where = bar.value()  # the reader stays where they clicked
        self._render_conversation(self.detail)
        bar.setValue(where)

    def _render_conversation(self, detail: PromptDetail) -> None:
        errors = "; ".join(e for e in (detail.error, detail.delivery_error and
                                       f"delivery failed: {detail.delivery_error}") if e)
        self.conversation.setHtml(conversation_html(
            detail.row.endpoint, detail.body, detail.response, errors or None,
            Colors.from_palette(is_dark(self)), self.opened))
        mark_matches(self.conversation, self.search_query, words=self.search_words)

    def set_search(self, query: str, words: bool) -> None:
        """Mark this search's matches in the conversation (and in the next prompts shown)."""
        self.search_query, self.search_words = query, words
        mark_matches(self.conversation, query, words=words)

    def show_detail(self, detail: PromptDetail) -> None:
        if detail == self.detail:
            return  # unchanged: keep the scroll position and the selection in the texts
        if self.detail is None or self.detail.row.id != detail.row.id:
            self.opened = set()  # another prompt: its thinking starts folded
        self.detail = detail
        row = detail.row
        # custom_id and model are the file's text: escaped, not read as markup.
        self.title.setText(f"<b>{escape(row.custom_id)}</b> · prompt #{row.id} · "
                           f"run #{row.run_id}"
                           + (f" · batch #{row.batch_id}" if row.batch_id else "")
                           + f" · line {detail.line_no} · {escape(row.model)}"
                           + (f" · {escape(detail.provider)}" if detail.provider else ""))
        _badge(self.state, row.state)
        self._show_check(row.check, row.check_detail)
        cached, written, written_1h = cache_tokens_in(detail.response)
        cost = self.prices.cost(row.model, row.input_tokens, row.output_tokens,
                                cached_input=cached, cache_write=written,
                                cache_write_1h=written_1h)
        self.usage.setText(usage_text(row.input_tokens, row.output_tokens, cost)
                           + (f" · {cached:,} cached" if cached else "")
                           + (f" · {written:,} written to the cache" if written else "")
                           + f" · {plural(row.attempts, 'attempt')}")
        self._render_conversation(detail)
        self.request.set_json(detail.body)
        self.response.set_json(detail.response)
        self.history.setPlainText(_timeline(detail.transitions))


    def _show_check(self, check: bool | None, detail: str) -> None:
        self.check.setVisible(check is not None)
        self.check.setText(check_words(check, detail))
        colour = state_colour("failed" if check is False else "processed").name()
        self.check.setStyleSheet(f"color: {colour};")


class BatchPane(QWidget):
    """Every field of a batch, its timeline, errors, and its local files."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.batch: Batch | None = None
        self._shown: tuple[Batch, list[Transition], str] | None = None
        self.results_dir: Path | None = None
        layout = QVBoxLayout(self)
        self.title = QLabel()
        self.state = QLabel()
        layout.addWidget(self.title)
        layout.addWidget(self.state)
        self.form = QFormLayout()
        layout.addLayout(self.form)
        self.timeline = QPlainTextEdit()
        self.timeline.setReadOnly(True)
        self.timeline.setAccessibleName("Batch history")
        layout.addWidget(QLabel("History"))
        layout.addWidget(self.timeline, 1)
        files = QHBoxLayout()
        self.open_results = QPushButton("Open its results folder")
        self.open_results.clicked.connect(self._open_results)
        files.addWidget(self.open_results)
        files.addStretch(1)
        layout.addLayout(files)

    def show_batch(self, batch: Batch, moves: list[Transition], profile: str) -> None:
        if (batch, moves, profile) == self._shown:
            return
        self._shown = (batch, moves, profile)
        self.batch = batch
        self.title.setText(f"<b>Batch #{batch.id}</b> · run #{batch.run_id} · "
                           f"{escape(profile)} · {escape(batch.model)} · "
                           f"{escape(batch.endpoint)}")
        _badge(self.state, batch.state)
        while self.form.rowCount():
            self.form.removeRow(0)
        done = (batch.counts_completed or 0) + (batch.counts_failed or 0)
        fields = [
            ("Requests", f"{batch.request_count:,} ({size_text(batch.bytes)})"),
            ("Provider batch", batch.provider_batch_id or "not sent yet"),
            ("Provider status", batch.provider_status or ""),
            ("Progress", f"{done:,} / {batch.counts_total:,} ({batch.counts_failed or 0:,} "
                         "failed)" if batch.counts_total else ""),
            ("Tokens", f"{batch.input_tokens or 0:,} in / {batch.output_tokens or 0:,} out"
             if batch.input_tokens or batch.output_tokens else ""),
            ("Created", when(batch.created_at)),
            ("Expires", when(batch.expires_at)),
            ("Last checked", when(batch.polled_at)),
            ("Waiting", batch.wait_reason or ""),
            ("Problem", batch.problem or ""),
            ("Error", batch.error or ""),
            ("Files", ", ".join(f for f in (batch.input_file_id, batch.output_file_id,
                                            batch.error_file_id) if f)),
        ]
        for name, value in fields:
            if value:
                label = _value_label(value)
                if name in ("Problem", "Error"):
                    label.setStyleSheet(f"color: {state_colour('failed').name()};")
                self.form.addRow(name, label)
        self.timeline.setPlainText(_timeline(moves))
        folder = self._folder()
        self.open_results.setEnabled(folder is not None and folder.exists())

    def _folder(self) -> Path | None:
        if self.batch is None or self.results_dir is None:
            return None
        return self.results_dir / f"batch-{self.batch.uuid}"

    def _open_results(self) -> None:
        folder = self._folder()
        if folder is not None:
            open_path(self, folder, "the batch's results folder")


class RunPane(QWidget):
    """A run's summary (shown when a run, not a prompt or batch, is selected).

    Signals:
        send_now: the user pressed "Send now" (the run's waiting drafts go at once).
    """

    send_now = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.run: RunOverview | None = None
        #: The workspace's "send a draft batch after" setting (when drafts go unasked).
        self.quiet_seconds = 600.0
        layout = QVBoxLayout(self)
        self.title = QLabel()
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        self.form = QFormLayout()
        layout.addLayout(self.form)
        self.send = QPushButton("Send now")
        self.send.setToolTip("Send this run's waiting drafts now (Run → Submit Now, "
                             "Ctrl+Return)")
        self.send.clicked.connect(self.send_now)
        row = QHBoxLayout()
        row.addWidget(self.send)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(1)

    def show_run(self, run: RunOverview) -> None:
        if run == self.run:
            return
        self.run = run
        self.title.setText(f"<b>Run {escape(run.run.label)}</b>")
        while self.form.rowCount():
            self.form.removeRow(0)
        groups = run.groups
        delivery = (f"{run.run.delivery_kind}: {run.run.delivery_target}"
                    if run.run.delivery_kind else "none (results stay here)")
        batches = plural(run.batches, "batch", "batches")
        if run.batches_in_flight:
            batches += f" ({run.batches_in_flight:,} in flight)"
        cost = money(run.cost) or ("no price known" if run.unpriced else "—")
        for name, value in (("Re-run of", run.lineage.removeprefix("re-run of ")),
                            ("Source", run.run.source_path or ""),
                            ("Provider", run.provider), ("Models", ", ".join(run.models)),
                            ("Prompts", f"{run.total:,}: {count_words(groups)}"),
                            ("Batches", batches), ("Cost so far", cost),
                            ("Delivery", delivery),
                            ("Imported", when(run.run.created_at)),
                            ("Waiting", self._waiting(run)),
                            ("Started", when(run.started_at) or "not yet"),
                            ("Finished", self._finished(run))):
            if not value:
                continue
            label = _value_label(value)
            label.setObjectName(f"run-{name.lower().replace(' ', '-')}")
            self.form.addRow(name, label)
        self.send.setVisible(run.drafts_waiting_since is not None)

    def _waiting(self, run: RunOverview) -> str:
        if run.drafts_waiting_since is None:
            return ""
        due = drafts_due(run.drafts_waiting_since, self.quiet_seconds)
        if due is None or due <= time.time():
            return "its drafts go out at the engine's next pass"
        return (f"its drafts go out at {when(due)} unless more prompts arrive "
                "(Send now sends them at once)")

    @staticmethod
    def _finished(run: RunOverview) -> str:
        if run.finished_at is None:
            return "not yet"
        ending = run.ending
        return f"{when(run.finished_at)} ({ending.value})" if ending else when(run.finished_at)


class DetailStack(QStackedWidget):
    """Empty hint, prompt, batch or run."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.hint = QLabel("Select a prompt, a batch or a run to see it here.")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.prompt = PromptPane()
        self.batch = BatchPane()
        self.run = RunPane()
        for widget in (self.hint, self.prompt, self.batch, self.run):
            self.addWidget(widget)

    def clear(self) -> None:
        """Show the hint and forget what was shown (nothing of it is current any more)."""
        self.prompt.detail = None
        self.batch.batch = None
        self.batch._shown = None
        self.run.run = None
        self.setCurrentWidget(self.hint)

    def shown(self) -> tuple[str, int] | None:
        """("prompt" | "batch" | "run", its id) of what is on show; None: the hint."""
        current = self.currentWidget()
        if current is self.prompt and self.prompt.detail is not None:
            return ("prompt", self.prompt.detail.row.id)
        if current is self.batch and self.batch.batch is not None:
            return ("batch", self.batch.batch.id)
        if current is self.run and self.run.run is not None:
            return ("run", self.run.run.run.id)
        return None
