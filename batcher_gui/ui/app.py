"""``batcher-gui``: the window on the default (or given) workspace, the engine inside it."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import Sequence

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

import batcher_gui
from batcher_gui.domain.errors import BatcherError
from batcher_gui.paths import resolve_workspace
from batcher_gui.ui.crash import install_handlers, start_app_log
from batcher_gui.ui.loop import AppEventLoop
from batcher_gui.ui.main_window import MainWindow
from batcher_gui.ui.theme import apply_color_scheme

ORGANISATION, APPLICATION = "Batcher", "batcher-gui"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="batcher-gui", description="The Batcher window.")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="workspace folder (default: $BATCHER_HOME, DATABASE_URL, or the "
                             "per-user data folder)")
    parser.add_argument("--version", action="version",
                        version=f"Batcher {batcher_gui.__version__}")
    return parser


async def _report_ready(window: MainWindow) -> None:
    """bench/ui.py: print when the prompts view shows rows, then quit."""
    while window.prompts.model.row_at(0) is None and not window.closed.done():
        await asyncio.sleep(0.005)
    print(f"ready at {time.time():.3f}", flush=True)
    while window.service is None and not window.closed.done():  # let it open, then quit
        await asyncio.sleep(0.05)
    window.close()


async def _run(window: MainWindow, data_dir: str | None) -> None:
    if os.environ.get("BATCHER_REPORT_READY"):
        ready = asyncio.ensure_future(_report_ready(window))
    try:
        await window.open_workspace(resolve_workspace(data_dir).create())
    except BatcherError as exc:  # a bad --data-dir, a newer workspace...: say so, stay open
        QMessageBox.warning(window, "Batcher", f"{exc}\n\nUse File → Open Workspace… to choose "
                                               "another folder.")
    await window.closed
    if os.environ.get("BATCHER_REPORT_READY"):
        await ready


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Batcher")
    app.setApplicationVersion(batcher_gui.__version__)
    apply_color_scheme(app, os.environ.get("BATCHER_COLOR_SCHEME"))
    start_app_log()
    loop = AppEventLoop(app)
    asyncio.set_event_loop(loop)
    install_handlers(loop)
    window = MainWindow(QSettings())
    window.show()
    # Ctrl-C in the terminal that started it closes the window like Ctrl+Q does.
    signal.signal(signal.SIGINT, lambda *_: QTimer.singleShot(0, window.close))
    wake = QTimer(interval=200)  # lets Python see the signal while Qt waits
    wake.timeout.connect(lambda: None)
    wake.start()
    with loop:
        loop.run_until_complete(_run(window, args.data_dir))
    return 0
