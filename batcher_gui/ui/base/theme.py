"""Colours with a meaning (states), readable in light and dark mode, and formatting helpers."""

from __future__ import annotations

import time

from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from batcher_gui.domain.money import usd
from batcher_gui.domain.states import BatchState, PromptState

# (light, dark) pairs: dark variants are lighter so text stays readable on dark backgrounds.
_STATE_COLOURS: dict[str, tuple[str, str]] = {
    "pending": ("#6b7280", "#9ca3af"),
    "draft": ("#6b7280", "#9ca3af"),
    "ready_for_upload": ("#6b7280", "#a1a1aa"),
    "processing": ("#b45309", "#fbbf24"),
    "uploading": ("#b45309", "#fbbf24"),
    "validating": ("#b45309", "#fbbf24"),
    "in_progress": ("#1d4ed8", "#60a5fa"),
    "finalizing": ("#1d4ed8", "#60a5fa"),
    "downloading": ("#1d4ed8", "#60a5fa"),
    "processed": ("#15803d", "#4ade80"),
    "completed": ("#15803d", "#4ade80"),
    "delivering": ("#0e7490", "#22d3ee"),
    "delivered": ("#15803d", "#4ade80"),
    "failed": ("#b91c1c", "#f87171"),
    "expired": ("#9a3412", "#fb923c"),
    "cancelled": ("#57534e", "#a8a29e"),
}

#: A short symbol per state, so state is not told by colour alone.
STATE_MARK = {
    "pending": "○", "draft": "○", "ready_for_upload": "◔", "processing": "◑", "uploading": "◔",
    "validating": "◑", "in_progress": "◑", "finalizing": "◕", "downloading": "◕",
    "processed": "✔", "completed": "✔", "delivering": "➜", "delivered": "✔", "failed": "✖",
    "expired": "⌛", "cancelled": "⊘",
}

#: Order in which prompt states fill a run's progress bar.
PROGRESS_ORDER = (PromptState.DELIVERED, PromptState.PROCESSED, PromptState.DELIVERING,
                  PromptState.PROCESSING, PromptState.PENDING, PromptState.FAILED,
                  PromptState.EXPIRED, PromptState.CANCELLED)


def is_dark(widget: QWidget | None = None) -> bool:
    palette = widget.palette() if widget is not None else QApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def state_colour(state: PromptState | BatchState | str, dark: bool | None = None) -> QColor:
    light, night = _STATE_COLOURS.get(str(state), ("#6b7280", "#9ca3af"))
    return QColor(night if (is_dark() if dark is None else dark) else light)


def state_label(state: PromptState | BatchState | str) -> str:
    value = str(state)
    return f"{STATE_MARK.get(value, '•')} {value.replace('_', ' ')}"


def when(timestamp: float | None) -> str:
    """A time for a table cell: today's as 14:20, older ones with their date."""
    if not timestamp:
        return ""
    local = time.localtime(timestamp)
    if time.strftime("%Y-%m-%d", local) == time.strftime("%Y-%m-%d"):
        return time.strftime("%H:%M", local)
    return time.strftime("%Y-%m-%d %H:%M", local)


def age(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    seconds = max(0, time.time() - timestamp)
    for size, unit in ((86_400, "d"), (3_600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def money(value: float | None) -> str:
    """A cost in a table cell ("" when unknown), with the digits small amounts need."""
    return usd(value, "")


def color_scheme_is_dark() -> bool:
    """What the OS says (Qt 6.5+), else what the palette looks like."""
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is not None:
        from PySide6.QtCore import Qt

        value = scheme()
        if value == Qt.ColorScheme.Dark:
            return True
        if value == Qt.ColorScheme.Light:
            return False
    return is_dark()


def dark_palette() -> QPalette:
    """A dark palette for the Fusion style (used where the platform gives none)."""
    p = QPalette()
    roles = QPalette.ColorRole
    for role, colour in ((roles.Window, "#202124"), (roles.WindowText, "#e8eaed"),
                         (roles.Base, "#17181a"), (roles.AlternateBase, "#26282b"),
                         (roles.ToolTipBase, "#2b2d30"), (roles.ToolTipText, "#e8eaed"),
                         (roles.Text, "#e8eaed"), (roles.Button, "#2b2d30"),
                         (roles.ButtonText, "#e8eaed"), (roles.BrightText, "#ffffff"),
                         (roles.Highlight, "#3b82f6"), (roles.HighlightedText, "#ffffff"),
                         (roles.Link, "#8ab4f8"), (roles.PlaceholderText, "#9aa0a6"),
                         (roles.Mid, "#3c4043"), (roles.Dark, "#111214"),
                         (roles.Light, "#4b4f54")):
        p.setColor(role, QColor(colour))
    for role in (roles.Text, roles.WindowText, roles.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b7075"))
    return p


def apply_color_scheme(app: QApplication, forced: str | None = None) -> bool:
    """Light or dark as the OS says (``forced``: "light"/"dark" overrides). Returns dark?

    Where the platform theme follows the OS itself (Windows 11, macOS, GNOME), its palette is
    kept; elsewhere (no platform theme, e.g. a bare X server) a dark Fusion palette is applied
    when dark is wanted.
    """
    dark = forced == "dark" or (forced != "light" and color_scheme_is_dark())
    if forced is not None or (dark and not is_dark()):
        app.setStyle("Fusion")
        app.setPalette(dark_palette() if dark else app.style().standardPalette())
    return dark
