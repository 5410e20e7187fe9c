"""No signal of ours hides a Qt method of the same name: a signal called ``event`` made every
closed workspace session unfreeable (Qt's own ``event()`` handler was never called again)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from PySide6.QtCore import QObject, Signal

import batcher_gui.ui


def _ui_classes() -> list[type]:
    found = []
    for info in pkgutil.walk_packages(batcher_gui.ui.__path__, "batcher_gui.ui."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, QObject):
                found.append(cls)
    return found


def test_no_signal_shadows_a_qt_method() -> None:
    classes = _ui_classes()
    assert len(classes) > 20  # the window's widgets, models, dialogs were found
    clashes = []
    for cls in classes:
        qt_bases = [b for b in cls.__mro__ if b.__module__.startswith("PySide6")]
        qt_names = set().union(*(dir(b) for b in qt_bases))
        for name, value in vars(cls).items():
            if isinstance(value, Signal) and name in qt_names:
                clashes.append(f"{cls.__module__}.{cls.__name__}.{name}")
    assert clashes == []
