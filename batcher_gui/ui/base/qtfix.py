"""Asking models for values without a detour through Qt.

PySide6 6.12.0 took a reference from None each time it turned an empty QVariant into Python's
None (``QModelIndex.data(role)`` of a role without a value, ``QComboBox.currentData()`` of an
item without data, table repaints); on Python 3.11 a window died after a few thousand repaints
("Fatal Python error: none_dealloc"). Batcher pins 6.11.3, which does not; the window still asks
its own (Python) models directly — cheaper than a round trip through Qt's QVariant — and combo
boxes always carry data ("" for "all"), so the bug cannot come back with a newer PySide6
unnoticed (a test counts None's references).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex


def item_data(index: QModelIndex | QPersistentModelIndex, role: int) -> Any:
    """``index.data(role)`` asked of the (Python) model itself, without the bug."""
    model = index.model()
    return model.data(index, role) if model is not None and index.isValid() else None
