"""Reviewing from the keyboard in the prompts table: 1-9 put that label on the current prompt
(the same key again takes it off; 0 takes any off), N opens a one-line note editor on the row
(Enter saves, Esc cancels, an empty note removes it), and after a label the cursor moves to
the next row — hundreds of prompts an hour, no dialog in the way. With several rows selected,
all of them get the label and the cursor stays. Ctrl+Z (Edit → Undo Label) puts back what the
last changes replaced.

The row repaints at once (the table's cached row is patched), and the write follows on the
service's writer; a refused write (a label with no name, the workspace still opening) is said
in the status line and the rows are read again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import QLineEdit, QWidget

from batcher_gui.domain.errors import BatcherError
from batcher_gui.domain.review import ReviewMark
from batcher_gui.domain.wording import plural
from batcher_gui.ui.base.tasks import spawn
from batcher_gui.ui.models.prompts import COL_LABEL

if TYPE_CHECKING:
    from batcher_gui.ui.views.prompts_panel import PromptsPanel

#: Changes that Ctrl+Z can take back, newest last.
UNDO_DEPTH = 200
#: Prompts labelled at once, at most: each change keeps what it replaced for the undo.
MAX_AT_ONCE = 100_000
_DIGITS = {getattr(Qt.Key, f"Key_{d}"): d for d in range(10)}


class NoteEditor(QLineEdit):
    """The one-line note editor over a row: Enter saves, Esc (or clicking away) cancels."""

    saved = Signal(str)
    cancelled = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("note-editor")
        self.setAccessibleName("Note")
        self.setPlaceholderText("Note (Enter saves, Esc cancels, empty removes)")
        self._done = False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._finish(lambda: self.saved.emit(self.text()))
        elif event.key() == Qt.Key.Key_Escape:
            self._finish(self.cancelled.emit)
        else:
            super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self._finish(self.cancelled.emit)

    def _finish(self, then: Callable[[], None]) -> None:
        if self._done:
            return
        self._done = True
        then()
        self.hide()
        self.deleteLater()


class ReviewKeys(QObject):
    """See the module docstring. ``service`` gives the open workspace's Service (or None)."""

    #: Something to say in the status line.
    said = Signal(str)
    #: Labels or notes were written (counts and facets follow).
    changed = Signal()

    def __init__(self, panel: PromptsPanel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.table = panel.table
        self.model = panel.model
        self.service: Callable[[], Any] = lambda: None
        self.undo_stack: list[list[ReviewMark]] = []
        #: Writes not yet done: an undo waits for them (it takes back the newest change).
        self._pending: list[asyncio.Task[Any]] = []
        self.editor: NoteEditor | None = None
        self.table.installEventFilter(self)

    # -- keys ------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self.table or event.type() != QEvent.Type.KeyPress:
            return False
        assert isinstance(event, QKeyEvent)
        extra = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if extra != Qt.KeyboardModifier.NoModifier:
            return False
        key = event.key()
        if key in _DIGITS:
            self.label(_DIGITS[key] or None)
            return True
        if key == Qt.Key.Key_N:
            self.edit_note()
            return True
        return False

    def _selected_rows(self) -> list[int]:
        rows: list[int] = []
        for part in self.table.selectionModel().selection():
            rows.extend(range(part.top(), part.bottom() + 1))
        if not rows and self.table.currentIndex().isValid():
            rows = [self.table.currentIndex().row()]
        return sorted(set(rows))

    # -- labels ----------------------------------------------------------------------------
    def label(self, key: int | None) -> None:
        """Label the selected prompts ``key`` (None: no label); one prompt: the same label
        again takes it off, and the cursor moves to the next row."""
        rows = self._selected_rows()
        ids = self.model.ids_at(rows)
        if not ids:
            return
        if len(rows) == 1:
            row = self.model.row_at(rows[0])
            if row is not None and key is not None and row.label == key:
                key = None
            if rows[0] + 1 < self.model.rowCount():
                self.table.selectRow(rows[0] + 1)
                self.table.scrollTo(self.model.index(rows[0] + 1, 0))
        self._write(ids, "label", key)

    def edit_note(self) -> None:
        """The note editor over the current row (one row; several: the note goes on all)."""
        rows = self._selected_rows()
        ids = self.model.ids_at(rows)
        if not ids:
            return
        row = self.model.row_at(rows[0])
        editor = NoteEditor(self.table.viewport())
        editor.setText(row.note or "" if row is not None else "")
        cell = self.table.visualRect(self.model.index(rows[0], COL_LABEL))
        left = max(0, min(cell.left(), self.table.viewport().width() - 360))
        editor.setGeometry(left, cell.top(), max(360, cell.width()), max(cell.height(), 24))
        editor.saved.connect(lambda text: self._write(ids, "note", text))
        editor.saved.connect(lambda _t: self.table.setFocus())
        editor.cancelled.connect(self.table.setFocus)
        self.editor = editor
        editor.show()
        editor.setFocus()
        editor.selectAll()

    def _write(self, ids: Sequence[int], what: str, value: Any) -> None:
        service = self.service()
        if service is None:
            self.said.emit("The workspace is still opening: label again in a moment.")
            return
        if len(ids) > MAX_AT_ONCE:
            self.said.emit(f"{len(ids):,} prompts are selected: label at most {MAX_AT_ONCE:,} "
                           "at once (narrow the selection or the filters)")
            return
        if what == "label":
            self.model.patch_rows({i: {"label": value} for i in ids})
        else:
            self.model.patch_rows({i: {"note": (value or "").strip() or None} for i in ids})
        self._pending.append(spawn(self._save(service, list(ids), what, value),
                                   name="review-write", owner=self))

    async def _save(self, service: Any, ids: list[int], what: str, value: Any) -> None:
        try:
            if what == "label":
                before = await service.set_label(ids, value)
            else:
                before = await service.set_note(ids, value)
        except BatcherError as exc:
            self.said.emit(str(exc))
            await self.panel.workspace_changed()  # the patched rows as they really are
            return
        self.undo_stack.append(before)
        del self.undo_stack[:-UNDO_DEPTH]
        if what == "label":
            self.said.emit(f"{plural(len(ids), 'prompt')}: {self.model.label_name(value)} "
                           "(Ctrl+Z undoes)")
        self.changed.emit()

    def undo(self) -> None:
        """Put back what the last label or note change replaced."""
        service = self.service()
        if service is not None:
            self._pending.append(spawn(self._undo(service), name="review-undo", owner=self))

    async def _undo(self, service: Any) -> None:
        earlier = [t for t in self._pending if t is not asyncio.current_task()]
        await asyncio.gather(*earlier, return_exceptions=True)
        self._pending = [t for t in self._pending if not t.done()]
        if not self.undo_stack:
            self.said.emit("Nothing to undo.")
            return
        marks = self.undo_stack.pop()
        self.model.patch_rows({m.prompt_id: {"label": m.label, "note": m.note} for m in marks})
        await service.restore_marks(marks)
        self.said.emit(f"Undone: {plural(len(marks), 'prompt')} as before")
        self.changed.emit()
