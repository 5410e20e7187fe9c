"""One open workspace in the window, and everything the window opened for it.

A :class:`WorkspaceSession` holds the workspace's service (which drives its engine) and its
read façade, and owns every task and dialog started for it. Closing it ends them all — tasks
cancelled, dialogs closed, the reader and the service closed — so nothing of a workspace
outlives it: no dialog writes into a workspace that is no longer open, no task touches it,
and its objects can be collected.

Signals:
    service_event: a service event (:mod:`batcher_gui.domain.events`), on the GUI thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QWidget

from batcher_gui.app.reader import ViewReader, data_location
from batcher_gui.config.prices import price_table
from batcher_gui.paths import WorkspacePaths
from batcher_gui.ui.base.tasks import cancel_owned, spawn

if TYPE_CHECKING:
    from batcher_gui.app import Service

log = logging.getLogger(__name__)


class WorkspaceSession(QObject):
    """See the module docstring. :meth:`open` it, then :meth:`close` it."""

    service_event = Signal(object)

    def __init__(self, paths: WorkspacePaths, service_options: dict[str, Any],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.paths = paths
        self._options = service_options
        self.service: Service | None = None
        self.reader: ViewReader | None = None
        self.closing = False
        self._dialogs: list[QWidget] = []
        self._unsubscribe: Any = None
        #: The intake API listening for this workspace, if on (ui/window/intake_api.py).
        self.intake_api: Any = None

    # -- opening -----------------------------------------------------------------------------
    async def open_reader_early(self) -> bool:
        """Read an existing workspace at once (its rows show while the service opens), if its
        schema is the one the reader knows; an older one is read once migrated."""
        if not await ViewReader.schema_is_current(data_location(self.paths)):
            return False
        self.reader = await ViewReader.open(data_location(self.paths))
        return True

    async def open_service(self) -> Service:
        """Open the service (importing it in a thread), then the reader if not open yet."""
        loop = asyncio.get_running_loop()
        from batcher_gui.app.process import load_for_driving, settle

        await loop.run_in_executor(None, load_for_driving)
        settle()  # once per process; a no-op from the second workspace on
        from batcher_gui.app.service import Service

        service = await Service.open(self.paths, **self._options)
        self.service = service
        if self.reader is None:
            self.reader = await ViewReader.open(data_location(self.paths))
        self.reader.prices = price_table(service.settings.prices)
        self._unsubscribe = service.subscribe(self.service_event.emit)
        return service

    # -- what belongs to it --------------------------------------------------------------------
    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run ``coro`` as this session's task (cancelled when it closes)."""
        return spawn(coro, name=name, owner=self)

    def adopt(self, dialog: QDialog) -> QDialog:
        """``dialog`` acts on this workspace: it is closed (and its tasks ended) with it."""
        self._dialogs.append(dialog)
        dialog.destroyed.connect(lambda *_: self._forget(dialog))
        return dialog

    def _forget(self, dialog: QWidget) -> None:
        self._dialogs = [d for d in self._dialogs if d is not dialog]

    def dialogs(self) -> list[QWidget]:
        return [d for d in self._dialogs if shiboken6.isValid(d)]

    def prices_changed(self) -> None:
        """Workspace settings changed: costs are read with the new prices."""
        if self.reader is not None and self.service is not None:
            self.reader.prices = price_table(self.service.settings.prices)

    # -- closing -------------------------------------------------------------------------------
    async def close(self) -> None:
        """End everything of this workspace: dialogs, tasks, events, the service, the reader."""
        self.closing = True
        owners: list[QObject] = []
        for dialog in self.dialogs():
            owners += [dialog, *dialog.findChildren(QObject)]
            if isinstance(dialog, QDialog):
                dialog.reject()  # an import dialog stops its import
            dialog.close()
            dialog.deleteLater()
        for owner in owners:  # some may be gone already (deleted on closing)
            if shiboken6.isValid(owner):
                await cancel_owned(owner)
        self._dialogs.clear()
        await cancel_owned(self)
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        intake_api, self.intake_api = self.intake_api, None
        if intake_api is not None:  # before the service: nothing acknowledged goes unstored
            await intake_api.stop()
        service, reader, self.service, self.reader = self.service, self.reader, None, None
        if service is not None:
            await service.close()
        if reader is not None:
            await reader.aclose()
