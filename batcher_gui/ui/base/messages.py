"""Message boxes and file pickers that never run a nested event loop.

``QMessageBox.warning()``, ``QFileDialog.getOpenFileName()`` and friends call ``exec()``: inside
an asyncio task that re-enters the qasync loop ("Cannot enter into task ... while another task
is being executed") and, even outside one, freezes every timer behind a modal loop. These open
the dialog with ``open()`` and, where an answer is needed, await it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QAbstractButton, QFileDialog, QMessageBox, QWidget


def inform(parent: QWidget | None, text: str, *, title: str = "Batcher",
           icon: QMessageBox.Icon = QMessageBox.Icon.Warning, details: str = "") -> QMessageBox:
    """Show ``text`` (window-modal, not blocking); returns the box (tests read it)."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)  # it quotes names, files and providers
    box.setObjectName("message-box")
    if details:
        box.setDetailedText(details)
    box.finished.connect(lambda _r: box.deleteLater())
    box.open()
    return box


def open_path(parent: QWidget | None, path: str | Path, what: str) -> None:
    """Show a file or folder in the desktop's file manager; where there is none, say where it
    is (a path to copy) instead of failing silently."""
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
        inform(parent, f"There is no file manager to open {what} with. It is here:\n\n{path}",
               title="Batcher")


async def clicked(box: QMessageBox) -> QAbstractButton | None:
    """Open ``box`` and return the button the user pressed (None: closed otherwise)."""
    await _finished(box)
    button = box.clickedButton()
    box.deleteLater()
    return button


async def confirm(parent: QWidget | None, text: str, *, yes: str, title: str = "Batcher"
                  ) -> bool:
    """Ask a yes/cancel question; True when the user chose ``yes``."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton,
                      parent)
    box.setTextFormat(Qt.TextFormat.PlainText)  # it quotes run names
    box.setObjectName("confirm-box")
    yes_button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    return await clicked(box) is yes_button


async def pick_files(parent: QWidget | None, caption: str, folder: str, filters: str, *,
                     save: bool = False, directory: bool = False, suggested: str = ""
                     ) -> list[str]:
    """The files (or folder) the user chose; [] when they cancelled."""
    dialog = QFileDialog(parent, caption, folder, filters)
    dialog.setObjectName("file-dialog")
    if directory:
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    elif save:
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        if suggested:
            dialog.selectFile(suggested)
    else:
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
    result = await _finished(dialog)
    chosen = dialog.selectedFiles() if result == QFileDialog.DialogCode.Accepted.value else []
    dialog.deleteLater()
    return chosen


async def _finished(dialog: Any) -> int:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def done(result: int) -> None:
        if not future.done():
            future.set_result(result)

    dialog.finished.connect(done)
    dialog.open()
    try:
        return await future
    finally:
        dialog.finished.disconnect(done)
