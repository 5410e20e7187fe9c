"""When something unexpected happens: it goes to the log file and a dialog says where.

Nothing is swallowed: uncaught exceptions (Qt slots, asyncio tasks) are logged with their
traceback to the app's log (the platform's log folder) and shown once in a dialog with the path.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

import platformdirs
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

import batcher_gui
from batcher_gui.app.logs import PrivateRotatingFileHandler, guard
from batcher_gui.domain.secrecy import mask
from batcher_gui.paths import APP_NAME, WorkspacePaths
from batcher_gui.ui.base.messages import open_path

log = logging.getLogger(__name__)
LOG_FILE = "batcher-gui.log"
_dialog_open = False


def log_folder() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def log_path() -> Path:
    return log_folder() / LOG_FILE


def start_app_log() -> Path:
    """The window's own log (also before and across workspaces), rotated at 5 MB."""
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = PrivateRotatingFileHandler(path, maxBytes=5_000_000, backupCount=3,
                                         encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"))
    root = logging.getLogger()
    root.addHandler(guard(handler))  # API keys masked in every record
    root.setLevel(logging.INFO)
    return path


def show_crash(summary: str) -> None:
    """A dialog (one at a time) saying something went wrong and where the details are."""
    global _dialog_open
    if _dialog_open or QApplication.instance() is None:
        return
    _dialog_open = True
    summary = mask(summary)  # an exception's text may quote a provider's answer
    box = QMessageBox(QMessageBox.Icon.Critical, "Batcher: unexpected problem",
                      f"Batcher hit an unexpected problem:\n\n{summary}\n\nYour data is "
                      f"safe. The details are in the log:\n{log_path()}")
    box.setObjectName("crash-dialog")
    open_button = box.addButton("Open log folder", QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Close)

    def done(_result: int) -> None:  # not exec(): no nested event loop under the engine
        global _dialog_open
        _dialog_open = False
        if box.clickedButton() is open_button:
            open_path(None, log_folder(), "the log folder")
        box.deleteLater()

    box.finished.connect(done)
    box.open()


def _excepthook(kind: type[BaseException], exc: BaseException,
                tb: TracebackType | None) -> None:
    log.error("uncaught exception", exc_info=(kind, exc, tb))
    QTimer.singleShot(0, lambda: show_crash(f"{kind.__name__}: {exc}"))


def install_handlers(loop: Any) -> None:
    """Send uncaught exceptions (Qt slots and asyncio tasks alike) to the log and a dialog."""
    sys.excepthook = _excepthook

    def on_loop_error(_loop: Any, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        message = context.get("message", "error in a background task")
        log.error("%s", message, exc_info=exc)
        QTimer.singleShot(0, lambda: show_crash(f"{message}: {exc}" if exc else message))

    loop.set_exception_handler(on_loop_error)
    for name in ("batcher_gui.ui.base.tasks",):  # failed background tasks: also a dialog
        logging.getLogger(name).addHandler(_DialogHandler())


class _DialogHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        summary = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            summary += f": {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        QTimer.singleShot(0, lambda: show_crash(summary))


def about_text(paths: WorkspacePaths | None) -> str:
    from PySide6 import __version__ as pyside_version

    workspace = str(paths.root) if paths else "none open"
    return (f"<h3>Batcher {batcher_gui.__version__}</h3>"
            "<p>Runs large sets of LLM prompts through provider batch APIs at half the price of "
            "live calls, and keeps every prompt and result in a local workspace.</p>"
            f"<p>Workspace: {workspace}<br>Log folder: {log_folder()}</p>"
            f"<p>Python {sys.version.split()[0]} · Qt for Python (PySide6) {pyside_version} "
            "(LGPLv3) · qasync (BSD) · SQLAlchemy and Alembic (MIT) · openai (Apache 2.0) · "
            "aiohttp (Apache 2.0) · keyring (MIT) · orjson (Apache 2.0/MIT) · platformdirs "
            "(MIT) · openpyxl (MIT) · filelock (Unlicense) · tqdm (MPL 2.0/MIT).</p>"
            "<p>Batcher itself is MIT-licensed. Qt is used under the LGPLv3: its libraries ship "
            "as separate, replaceable files.</p>")
