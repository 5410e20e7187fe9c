"""``batcher-gui``: the window on the default (or given) workspace, the engine inside it."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, QSettings, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

import batcher_gui
from batcher_gui.domain.errors import BatcherError
from batcher_gui.paths import resolve_workspace, resource
from batcher_gui.ui.base.crash import install_handlers, start_app_log
from batcher_gui.ui.base.loop import AppEventLoop
from batcher_gui.ui.base.messages import inform
from batcher_gui.ui.base.theme import apply_color_scheme
from batcher_gui.ui.window.main_window import MainWindow

ORGANISATION, APPLICATION = "Batcher", "batcher-gui"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="batcher-gui", description="The Batcher window.")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="workspace folder (else, the first set of: $BATCHER_HOME, "
                             "$BATCHER_DATABASE_URL, $DATABASE_URL (refused if it holds another "
                             "program's tables), the per-user data folder)")
    parser.add_argument("--database", metavar="URL",
                        help="a team workspace in PostgreSQL (postgresql://user@host/db; also "
                             "$BATCHER_DATABASE_URL)")
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="prompt files to import (the import dialog opens with them)")
    parser.add_argument("--version", action="version",
                        version=f"Batcher {batcher_gui.__version__}")
    parser.add_argument("--smoke-test", action="store_true",
                        help="check this installation: run the sample on the built-in sandbox "
                             "in a temporary workspace, print a report, exit 0 if all is well")
    parser.add_argument("--cli", nargs=argparse.REMAINDER, metavar="ARGS",
                        help="as the first argument: run the `batcher` command line with ARGS "
                             "instead of the window (e.g. batcher-gui --cli status)")
    return parser


async def _report_ready(window: MainWindow) -> None:
    """bench/ui.py: print when the prompts view shows rows (_run then quits)."""
    while window.prompts.model.row_at(0) is None and not window.closed.done():
        await asyncio.sleep(0.005)
    print(f"ready at {time.time():.3f}", flush=True)


class _OpenedDocuments(QObject):
    """macOS: a document opened from Finder (a double-clicked .jsonl) reaches a running app,
    and the app it launches, as a FileOpen event; they go to the import dialog like FILE
    arguments, once the workspace is open."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.waiting: list[str] | None = []  # None once the workspace is open

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen:
            path = event.file()  # type: ignore[attr-defined]
            if path and self.waiting is None:
                self.window.import_paths([path])
            elif path:
                self.waiting.append(path)
            return True
        return super().eventFilter(watched, event)

    def workspace_open(self) -> list[str]:
        waiting, self.waiting = self.waiting or [], None
        return waiting


async def _run(window: MainWindow, data_dir: str | None, files: list[str],
               documents: _OpenedDocuments, database: str | None = None) -> None:
    report = os.environ.get("BATCHER_REPORT_READY")
    if report:
        ready = asyncio.ensure_future(_report_ready(window))
    try:
        await window.open_workspace(resolve_workspace(data_dir, database=database).create())
    except BatcherError as exc:  # a bad --data-dir, a newer workspace...: say so, stay open
        inform(window, f"{exc}\n\nUse File → Open Workspace… to choose another folder.")
    else:
        files = [os.path.abspath(f) for f in files] + documents.workspace_open()
        if files:
            window.import_paths(files)
    if report:  # quit once open: closing while it opens fails the open (the exit code says 1)
        await ready
        window.close()
    await window.closed


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.cli is not None:  # batcher_gui.__main__ runs the CLI when --cli comes first
        parser.error("--cli must be the first argument (batcher-gui --cli ARGS...)")
    app = _application()
    if args.smoke_test:
        from batcher_gui.ui.smoke import smoke_test

        return smoke_test(app)
    start_app_log()
    loop = AppEventLoop(app)
    asyncio.set_event_loop(loop)
    install_handlers(loop)
    window = MainWindow(QSettings())
    documents = _OpenedDocuments(window)
    app.installEventFilter(documents)
    window.show()
    # Ctrl-C in the terminal that started it closes the window like Ctrl+Q does.
    signal.signal(signal.SIGINT, lambda *_: QTimer.singleShot(0, window.close))
    wake = QTimer(interval=200)  # lets Python see the signal while Qt waits
    wake.timeout.connect(lambda: None)
    wake.start()
    with loop:
        loop.run_until_complete(_run(window, args.data_dir, args.files, documents, args.database))
    return 0


def _application() -> QApplication:
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Batcher")
    app.setApplicationVersion(batcher_gui.__version__)
    app.setWindowIcon(QIcon(str(resource("icons", "batcher.svg"))))
    app.setDesktopFileName("batcher-gui")  # Wayland/X11 match the window to its .desktop entry
    chosen = str(QSettings().value("view/color_scheme", "system"))
    apply_color_scheme(app, os.environ.get("BATCHER_COLOR_SCHEME")
                       or (chosen if chosen in ("light", "dark") else None))
    return app
