"""Qt tests: offscreen, on a real qasync event loop (Qt events and asyncio tasks interleave)."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import qasync
from PySide6.QtCore import QCoreApplication, QEvent, QSettings
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from batcher_gui.app import Service
from batcher_gui.config.secrets import SecretStore
from batcher_gui.paths import WorkspacePaths
from batcher_gui.sandbox import SandboxConfig
from batcher_gui.sandbox.host import SandboxThread
from batcher_gui.ui.base.loop import AppEventLoop
from batcher_gui.ui.base.tasks import spawn
from batcher_gui.ui.window.main_window import MainWindow
from tests.app.conftest import FAST
from tests.fakes import MemoryKeyring

T = TypeVar("T")


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
    # Windows and dialogs deleted with deleteLater(): now, on this thread, so no Qt object of
    # this test is left for a later collection in another thread.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qapp.processEvents()
    asyncio.events._set_running_loop(None)
    loop._QEventLoop__is_running = False  # type: ignore[attr-defined]  # so close() accepts
    loop.close()
    asyncio.set_event_loop(None)


WAIT = 30_000


def ws_paths(root: Path) -> WorkspacePaths:
    return WorkspacePaths(root, root / "batcher.sqlite3")


@pytest.fixture
def make_window(qloop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path
                ) -> Iterator[Callable[..., MainWindow]]:
    """Windows on a real engine and workspace (``tmp_path/ws``), closed (and shut down) after."""
    windows: list[MainWindow] = []

    def make(sandbox: SandboxConfig | None = None, **overrides: Any) -> MainWindow:
        settings = QSettings(str(tmp_path / f"window{len(windows)}.ini"),
                             QSettings.Format.IniFormat)
        options = {"secrets": SecretStore(backend=MemoryKeyring()),
                   "engine_overrides": {**FAST, **overrides},
                   "sandbox_config": sandbox or SandboxConfig(instant=True),
                   "sandbox_host": SandboxThread}
        window = MainWindow(settings, options)  # closed here (not by qtbot: it must shut down)
        window.show()
        windows.append(window)
        spawn(window.open_workspace(ws_paths(tmp_path / "ws").create()))
        qtbot.waitUntil(lambda: window.service is not None and window.reader is not None,
                        timeout=WAIT)
        return window

    yield make
    for window in windows:
        if not window.closed.done():
            window.close()
            qtbot.waitUntil(window.closed.done, timeout=WAIT)
        window.deleteLater()


def await_task(qtbot: QtBot, coro: Coroutine[Any, Any, T], timeout: int = WAIT) -> T:
    """Run ``coro`` on the window's loop and wait (Qt events flowing) for its result."""
    task = spawn(coro)
    qtbot.waitUntil(task.done, timeout=timeout)
    return task.result()


def open_service(qtbot: QtBot, root: Path, keyring: Any = None) -> Service:
    """A service on a new workspace at ``root`` (an in-memory keyring unless one is given)."""
    return await_task(qtbot, Service.open(
        WorkspacePaths(root, root / "batcher.sqlite3").create(),
        secrets=SecretStore(backend=keyring if keyring is not None else MemoryKeyring()),
        engine_overrides=FAST, sandbox_config=SandboxConfig(instant=True),
        sandbox_host=SandboxThread))


@pytest.fixture
def service(qloop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path) -> Iterator[Service]:
    """A service on its own workspace (no window)."""
    service = open_service(qtbot, tmp_path / "ws")
    yield service
    await_task(qtbot, service.close())


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[str]:
    """An OpenAI-compatible server (the sandbox) that accepts one key only: sk-good-4242."""
    server = SandboxThread(tmp_path / "provider", SandboxConfig(api_keys=("sk-good-4242",)))
    yield server.start()
    server.stop()


def reviews_csv(path: Path, n: int = 5) -> Path:
    """A small CSV of product reviews (columns id, product, review)."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "product", "review"])
        for i in range(n):
            writer.writerow([f"r{i}", "kettle", f"review text number {i}, long enough to win"])
    return path


def message_box(name: str) -> QMessageBox | None:
    """The visible message box with this object name (crash-dialog, confirm-box...), if any."""
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox) and widget.objectName() == name \
                and widget.isVisible():
            return widget
    return None
