"""A read-only, monospace, syntax-highlighted view of a request or response body."""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QPalette,
    QSyntaxHighlighter,
    QTextCharFormat,
)
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from batcher_gui.app.render import pretty_json

#: Above this many characters of pretty text the view stays plain: a highlighter runs over the
#: whole document on the GUI thread, and a 2 MB response would freeze the window for seconds.
HIGHLIGHT_LIMIT = 300_000

# Pretty-printed JSON never splits a string across lines, so one line is one block to match.
_TOKEN = re.compile(
    r'(?P<string>"(?:[^"\\]|\\.)*")(?P<colon>\s*:)?'
    r"|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<keyword>\b(?:true|false|null)\b)"
)
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")

# (key, string, number, keyword) colours, readable on a light / a dark base colour.
_LIGHT = ("#0550ae", "#116329", "#953800", "#8250df")
_DARK = ("#79c0ff", "#7ee787", "#ffa657", "#d2a8ff")


def _is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


class JsonHighlighter(QSyntaxHighlighter):
    """Colours the keys, strings, numbers and true/false/null of pretty-printed JSON."""

    def __init__(self, parent: QObject, dark: bool = False) -> None:
        super().__init__(parent)
        self._formats: dict[str, QTextCharFormat] = {}
        self.set_dark(dark)

    def set_dark(self, dark: bool) -> None:
        """Switch the colours to suit a dark (or light) background and re-colour."""
        self._formats = {}
        for name, colour in zip(("key", "string", "number", "keyword"), _DARK if dark else _LIGHT,
                                strict=True):
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(colour))
            self._formats[name] = fmt
        if self.document() is not None:
            self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        """Colour one line (Qt calls this per block, with the block's text)."""
        # Qt positions count UTF-16 units; Python counts code points. They only differ when the
        # line holds characters outside the BMP (emoji), so only then build the mapping.
        offsets: list[int] | None = None
        if not text.isascii() and _ASTRAL.search(text):
            offsets = [0]
            for ch in text:
                offsets.append(offsets[-1] + (2 if ord(ch) > 0xFFFF else 1))
        for match in _TOKEN.finditer(text):
            if match.group("string") is not None:
                name = "key" if match.group("colon") else "string"
                start, end = match.span("string")
            else:
                name = match.lastgroup or "keyword"
                start, end = match.span()
            if offsets is not None:
                start, end = offsets[start], offsets[end]
            self.setFormat(start, end - start, self._formats[name])


class JsonView(QPlainTextEdit):
    """Read-only JSON text: pretty-printed, monospace, unwrapped, highlighted when small."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setPlaceholderText("(nothing yet)")  # drawn in the palette's muted placeholder colour
        # Owned by the view but detached: set_json attaches it only when the text is small.
        self._highlighter = JsonHighlighter(self, _is_dark(self.palette()))
        self._highlighter.setDocument(None)
        self._text = ""

    @property
    def highlighter(self) -> JsonHighlighter:
        """The highlighter; its ``document()`` is None while highlighting is off."""
        return self._highlighter

    def set_json(self, data: bytes | None) -> None:
        """Show ``data`` pretty-printed, or the placeholder if None.

        Very long text is cut (see ``pretty_json``) with a note at the end, and is not
        highlighted above HIGHLIGHT_LIMIT characters.
        """
        # Detach first, so that setting a huge text never runs the highlighter over it.
        self._highlighter.setDocument(None)
        if data is None:
            self._text = ""
            self.setPlainText("")
            return
        self._text, truncated = pretty_json(data)
        shown = self._text
        if truncated:
            shown += f"\n… (cut at {len(self._text):,} characters)"
        self.setPlainText(shown)
        # Pretty JSON starts with a bracket or a quote; plain text gets no JSON colours.
        looks_json = self._text.lstrip()[:1] in ("{", "[", '"')
        if looks_json and len(shown) <= HIGHLIGHT_LIMIT:
            self._highlighter.setDocument(self.document())

    def text_for_copy(self) -> str:
        """The JSON text shown, without the truncation note ("" when showing nothing)."""
        return self._text

    def changeEvent(self, event: QEvent) -> None:
        """Re-colour when the palette switches between light and dark."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._highlighter.set_dark(_is_dark(self.palette()))
