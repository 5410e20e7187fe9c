"""The import dialog's questions: only those the file's format needs, prefilled from the file.

JSONL lines carry their own endpoint and (usually) model; a table needs an endpoint, a model
and a way to make each prompt (a ``prompt`` column or a template with ``{column}``
placeholders); a text file (one prompt per line) needs an endpoint and a model.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from batcher_gui.config.prices import price_table
from batcher_gui.domain.claude_convert import openai_model_on_claude
from batcher_gui.domain.endpoints import (
    DEFAULT_ENDPOINT,
    DEFAULT_MAX_TOKENS,
    ENDPOINTS,
    MESSAGES_ENDPOINT,
    is_claude,
)
from batcher_gui.domain.intake import FilePreview
from batcher_gui.domain.models import ImportOptions, InputFormat, Profile
from batcher_gui.domain.pricing import PriceTable
from batcher_gui.ui.base.theme import state_colour

ROW_NUMBER = "(row number)"
FORMAT_NAMES = {InputFormat.JSONL: "JSON Lines", InputFormat.CSV: "CSV", InputFormat.TSV: "TSV",
                InputFormat.TEXT: "Text (one prompt per line)", InputFormat.XLSX: "Excel workbook"}
TABULAR = (InputFormat.CSV, InputFormat.TSV, InputFormat.XLSX)
OPENAI_MODEL = "gpt-4o-mini"
CLAUDE_MODEL = "claude-haiku-4-5"
#: Highest "Max output tokens" the field takes (Claude's largest outputs are far below it).
MAX_OUTPUT_TOKENS = 1_000_000
#: A {column} placeholder (after the escaped braces {{ and }} are taken out).
_PLACEHOLDER = re.compile(r"\{[^{}]*\S[^{}]*\}")


def has_placeholder(template: str) -> bool:
    """Whether the template takes anything from a row (else every prompt is the same)."""
    return _PLACEHOLDER.search(template.replace("{{", "").replace("}}", "")) is not None


def _links(models: list[str]) -> str:
    return " or ".join(f"<a href='{html.escape(m, quote=True)}'>{html.escape(m)}</a>"
                       for m in models)


def guess_prompt_column(preview: FilePreview) -> str | None:
    """The column that reads most like prose (longest cells), not the id column."""
    best, best_length = None, -1.0
    for i, name in enumerate(preview.columns):
        if name == preview.suggested_id_column:
            continue
        cells = [row[i] for row in preview.rows if i < len(row)]
        length = sum(len(c) for c in cells) / max(1, len(cells))
        if length > best_length:
            best, best_length = name, length
    return best


class ImportForm(QWidget):
    """Run name, profile, endpoint, model, template, system prompt, id column."""

    changed = Signal()  # an option that changes the requests (not the run's name)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.preview: FilePreview | None = None
        self.profiles: list[Profile] = []
        self.name = QLineEdit()
        self.name.setAccessibleName("Run name")
        self.profile = QComboBox()
        self.profile.setAccessibleName("Profile")
        self.endpoint = QComboBox()
        self.endpoint.setAccessibleName("Endpoint")
        for url in ENDPOINTS:
            if url != MESSAGES_ENDPOINT:  # a Claude profile's only endpoint: not a choice
                self.endpoint.addItem(url, url)
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setAccessibleName("Model")
        self.prices: PriceTable = price_table()
        self.model.addItems(sorted(self.prices.known_models()))
        self.file_models: list[str] = []  # a JSONL file's own models (as far as known)
        self.model_hint = QLabel()
        self.model_hint.setAccessibleName("Model note")
        self.model_hint.setWordWrap(True)
        self.model_hint.setTextFormat(Qt.TextFormat.RichText)
        self.model_hint.setTextInteractionFlags(
            Qt.TextInteractionFlag.LinksAccessibleByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        self.model_hint.linkActivated.connect(self._use_model)
        self.template = QPlainTextEdit()
        self.template.setAccessibleName("Prompt template")
        self.template.setPlaceholderText("e.g. Classify this review: {review}")
        self.template.setFixedHeight(64)
        self.insert_column = QComboBox()
        self.insert_column.setAccessibleName("Insert column")
        self.insert_column.activated.connect(self._insert_column)
        self.insert_column.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.insert_column.setMinimumContentsLength(len("Insert column…"))
        self.template_warning = QLabel()
        self.template_warning.setAccessibleName("Template warning")
        self.template_warning.setWordWrap(True)
        self.same_prompt = QCheckBox("Send this same prompt for every row")
        self.same_prompt.setToolTip("Only if it is meant: every row becomes one identical "
                                    "request")
        self._template_note = QWidget()
        note_layout = QVBoxLayout(self._template_note)
        note_layout.setContentsMargins(0, 0, 0, 0)
        note_layout.addWidget(self.template_warning)
        note_layout.addWidget(self.same_prompt)
        self.system = QLineEdit()
        self.system.setAccessibleName("System prompt")
        self.system.setPlaceholderText("optional, e.g. Answer with one word")
        self.max_tokens = QSpinBox()
        self.max_tokens.setAccessibleName("Max output tokens")
        self.max_tokens.setRange(1, MAX_OUTPUT_TOKENS)
        self.max_tokens.setGroupSeparatorShown(True)
        self.max_tokens.setValue(DEFAULT_MAX_TOKENS)
        self.max_tokens.setToolTip("Claude needs an upper bound on each answer's length "
                                   "(max_tokens); for JSONL, used by lines that set none")
        self.id_column = QComboBox()
        self.id_column.setAccessibleName("custom_id column")
        self.note = QLabel()
        self.note.setWordWrap(True)

        self.layout_ = QFormLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.addRow("Run &name", self.name)
        self.layout_.addRow("&Profile", self.profile)
        self.layout_.addRow("&Endpoint", self.endpoint)
        self.layout_.addRow("&Model", self.model)
        self.layout_.addRow("", self.model_hint)
        self._template_row = QHBoxLayout()
        self._template_row.addWidget(self.template, 1)
        self._template_row.addWidget(self.insert_column)
        template_label = QLabel("Prompt &template")  # a row of a layout gets no buddy by itself
        template_label.setBuddy(self.template)
        self.layout_.addRow(template_label, self._template_row)
        self.layout_.addRow("", self._template_note)
        self.layout_.addRow("&System prompt", self.system)
        self.layout_.addRow("Max output &tokens", self.max_tokens)
        self.layout_.addRow("&custom_id from", self.id_column)
        self.layout_.addRow("", self.note)
        for signal in (self.profile.currentIndexChanged, self.endpoint.currentIndexChanged,
                       self.model.currentTextChanged, self.template.textChanged,
                       self.system.textChanged, self.id_column.currentIndexChanged,
                       self.max_tokens.valueChanged):
            signal.connect(lambda *_: self.changed.emit())
        self.profile.currentIndexChanged.connect(lambda _i: self._profile_changed())
        self.model.currentTextChanged.connect(lambda _text: self.show_model_hint())
        self.template.textChanged.connect(self._template_changed)
        self.layout_.setRowVisible(self.model_hint, False)
        self.layout_.setRowVisible(self._template_note, False)
        self.layout_.setRowVisible(self.max_tokens, False)

    # -- filling in ----------------------------------------------------------------------------
    def set_prices(self, prices: PriceTable) -> None:
        """The prices the workspace knows (the built-in table with its own over it)."""
        self.prices = prices
        self.show_model_hint()

    def set_profiles(self, profiles: list[Profile], default: str) -> None:
        self.profiles = profiles
        self.profile.blockSignals(True)
        self.profile.clear()
        for profile in profiles:
            label = profile.name + (" (no key, no cost)" if profile.is_builtin_sandbox else "")
            self.profile.addItem(label, profile.name)
        index = self.profile.findData(default)
        self.profile.setCurrentIndex(max(0, index))
        self.profile.blockSignals(False)
        self._show_kind_rows()

    def show_file(self, preview: FilePreview, run_name: str, last_model: str | None) -> None:
        """Ask what ``preview``'s format needs, prefilled from the file."""
        self.preview = preview
        fmt = preview.format
        tabular, jsonl = fmt in TABULAR, fmt is InputFormat.JSONL
        self.blockSignals(True)
        self.name.setText(run_name)
        self._show_row(self.endpoint, not jsonl and not self.for_claude())
        self._show_row(self.template, tabular)
        self._show_row(self.system, not jsonl)
        self._show_row(self.id_column, tabular)
        if jsonl:
            self.model.setEditText("")
            shown = ", ".join(preview.models[:3]) + (" …" if len(preview.models) > 3 else "")
            self.model.lineEdit().setPlaceholderText(
                "required: some lines name no model" if preview.needs_model
                else f"as in the file ({shown})" if shown else "as in the file")
        else:
            self.model.lineEdit().setPlaceholderText(f"e.g. {self._default_model()}")
            self.model.setEditText(self._model_for_kind(last_model or self._default_model()))
            self.endpoint.setCurrentIndex(max(0, self.endpoint.findData(DEFAULT_ENDPOINT)))
        self.insert_column.clear()
        self.insert_column.addItem("Insert column…")
        self.insert_column.addItems(preview.columns)
        self.id_column.clear()
        self.id_column.addItem(ROW_NUMBER, None)
        for column in preview.columns:
            self.id_column.addItem(column, column)
        if preview.suggested_id_column:
            self.id_column.setCurrentIndex(self.id_column.findData(preview.suggested_id_column))
        prompt_column = guess_prompt_column(preview) if preview.needs_template else None
        self.template.setPlainText(f"{{{prompt_column}}}" if prompt_column else "")
        self.note.setText(self._note(preview))
        self.file_models = list(preview.models) if jsonl else []
        self.blockSignals(False)
        self._template_changed()
        self.show_model_hint()
        self.changed.emit()

    def _note(self, preview: FilePreview) -> str:
        if preview.format is InputFormat.JSONL:
            return ("Each line is a complete request. Leave the model empty to keep the file's "
                    "models, or type one to use it for every line.")
        if preview.format is InputFormat.TEXT:
            return "Each non-empty line becomes one prompt."
        if preview.needs_template:
            return ("The file has no 'prompt' column: the template makes each prompt from a "
                    "row; {column} is replaced by that row's cell.")
        return ("The 'prompt' column is each row's prompt; a template (with {column} "
                "placeholders) replaces it.")

    # -- the profile's kind ------------------------------------------------------------------
    def for_claude(self) -> bool:
        """Whether the chosen profile sends Claude requests (kind anthropic)."""
        profile = self.selected_profile()
        return profile is not None and is_claude(profile.kind)

    def _default_model(self) -> str:
        if not self.for_claude():
            return OPENAI_MODEL
        known = sorted(m for m in self.prices.known_models() if m.startswith("claude-"))
        return CLAUDE_MODEL if CLAUDE_MODEL in known or not known else known[0]

    def _model_for_kind(self, model: str) -> str:
        """``model``, unless it cannot run on the chosen profile's kind (an OpenAI model on a
        Claude profile, a Claude model on an OpenAI one): then that kind's default."""
        claude = self.for_claude()
        if claude and openai_model_on_claude(model) is not None:
            return self._default_model()
        if not claude and model.startswith("claude-"):
            return self._default_model()
        return model

    def _show_kind_rows(self) -> None:
        """Claude: a max output tokens field, no endpoint (all go to /v1/messages)."""
        claude = self.for_claude()
        self.layout_.setRowVisible(self.max_tokens, claude)
        jsonl = self.preview is not None and self.preview.format is InputFormat.JSONL
        self._show_row(self.endpoint, self.preview is not None and not jsonl and not claude)

    def _profile_changed(self) -> None:
        self._show_kind_rows()
        typed = self.model.currentText().strip()
        jsonl = self.preview is not None and self.preview.format is InputFormat.JSONL
        if typed and not jsonl:
            self.model.setEditText(self._model_for_kind(typed))

    def _show_row(self, field: QWidget, visible: bool) -> None:
        # The template's row is a layout (the text box and the column picker).
        self.layout_.setRowVisible(self._template_row if field is self.template else field,
                                   visible)

    # -- notes next to the fields ---------------------------------------------------------------
    def show_model_hint(self, file_models: Iterable[str] | None = None) -> None:
        """Say so next to the model when it has no known price, with the names it may be a
        typo of ("gpt4o-mini": did you mean gpt-4o-mini?); for a JSONL file whose lines name
        their models, about those (``file_models``: all of them, once the file is checked)."""
        if file_models is not None:
            self.file_models = list(file_models)
        typed = self.model.currentText().strip()
        notes = []
        for model in [typed] if typed else self.file_models:
            if self.prices.price(model) is not None:
                continue
            close = [m for m in self.prices.closest(model, n=2) if m != model.lower()]
            name = html.escape(model)
            if typed:
                notes.append(f"No price is known for “{name}”. Did you mean {_links(close)}?"
                             if close else
                             f"No price is known for “{name}”, so no cost can be shown. "
                             "Check the name (prices can be added in Preferences → Workspace).")
            elif close:
                notes.append(f"The file's model “{name}” has no known price. Did you mean "
                             f"{_links(close)}? (Choosing one uses it for every line.)")
            else:
                notes.append(f"The file's model “{name}” has no known price, so no cost can "
                             "be shown for it.")
        colour = state_colour("expired").name()
        self.model_hint.setText("<br>".join(f"<span style='color:{colour}'>⚠</span> {n}"
                                            for n in notes[:3]))
        self.layout_.setRowVisible(self.model_hint, bool(notes))

    def _use_model(self, model: str) -> None:
        self.model.setEditText(model)
        self.model.setFocus()

    def template_lacks_placeholder(self) -> bool:
        """A template is in use and takes nothing from the rows: every prompt is the same."""
        preview = self.preview
        text = self.template.toPlainText().strip()
        return (preview is not None and preview.format in TABULAR and bool(text)
                and not has_placeholder(text))

    def needs_confirmation(self) -> bool:
        """The import waits for the user to say an identical prompt per row is meant."""
        return self.template_lacks_placeholder() and not self.same_prompt.isChecked()

    def _template_changed(self) -> None:
        lacking = self.template_lacks_placeholder()
        self.same_prompt.setChecked(False)  # said again for each new text
        colour = state_colour("expired").name()
        self.template_warning.setText(
            f"<span style='color:{colour}'>⚠</span> This template has no {{column}} "
            "placeholder, so every row gets the same prompt. Insert a column (the list on the "
            "right), or tick the box to send it as it is." if lacking else "")
        self.layout_.setRowVisible(self._template_note, lacking)

    def _insert_column(self, index: int) -> None:
        if index <= 0:
            return
        self.template.insertPlainText(f"{{{self.insert_column.itemText(index)}}}")
        self.insert_column.setCurrentIndex(0)
        self.template.setFocus()

    # -- reading back --------------------------------------------------------------------------
    def profile_name(self) -> str:
        return str(self.profile.currentData() or "")

    def selected_profile(self) -> Profile | None:
        return next((p for p in self.profiles if p.name == self.profile_name()), None)

    def options(self, fmt: InputFormat | None, sheet: str | None, valid_only: bool
                ) -> ImportOptions:
        preview = self.preview
        jsonl = preview is not None and preview.format is InputFormat.JSONL
        tabular = preview is not None and preview.format in TABULAR
        model = self.model.currentText().strip() or None
        claude = self.for_claude()
        return ImportOptions(
            format=fmt,
            model=model,
            endpoint=None if jsonl or claude else self.endpoint.currentData(),
            max_tokens=self.max_tokens.value() if claude else None,
            template=(self.template.toPlainText().strip() or None) if tabular else None,
            system=None if jsonl else (self.system.text().strip() or None),
            id_column=self.id_column.currentData() if tabular else None,
            valid_only=valid_only,
            sheet=sheet,
        )
