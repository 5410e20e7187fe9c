"""Qt tests: offscreen, on a real qasync event loop (Qt events and asyncio tasks interleave)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from batcher_gui.ui.loop import AppEventLoop


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """A qasync loop that Qt's event processing (qtbot.waitUntil, waitSignal) drives."""
    loop = AppEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    asyncio.events._set_running_loop(loop)
    yield loop
    for task in asyncio.all_tasks(loop):
        task.cancel()
    qapp.processEvents()
    asyncio.events._set_running_loop(None)
    loop._QEventLoop__is_running = False  # type: ignore[attr-defined]  # so close() accepts
    loop.close()
    asyncio.set_event_loop(None)
