"""The window's intake API: started with the workspace (when this machine's Preferences say
so), stopped with it, switched from Preferences → Intake API; the status bar says where it
listens.

The API belongs to the workspace's session (``session.intake_api``): closing the workspace
stops it before the service closes, so nothing is acknowledged that is not stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings
from PySide6.QtWidgets import QLabel, QMainWindow

from batcher_gui.domain.errors import BatcherError

if TYPE_CHECKING:
    from batcher_gui.ui.dialogs.settings_dialog import SettingsDialog
    from batcher_gui.ui.window.session import WorkspaceSession


class IntakeApiSwitch(QObject):
    """See the module docstring."""

    def __init__(self, window: QMainWindow, settings: QSettings,
                 session: Callable[[], WorkspaceSession | None]) -> None:
        super().__init__(window)
        self.settings = settings
        self._session = session
        self.label = QLabel("")
        self.label.setObjectName("intake-api-status")
        self.label.setAccessibleName("Intake API status")
        self.label.hide()
        window.statusBar().addPermanentWidget(self.label)
        #: What the API does, in words (Preferences shows it too).
        self.status = "Off"

    def _say(self, text: str, *, shown: bool) -> None:
        self.status = text
        self.label.setText(text)
        self.label.setVisible(shown)

    async def apply(self, session: WorkspaceSession) -> None:
        """Start, move or stop the API as this machine's settings say."""
        # Imported when first used: aiohttp and the service's modules are not needed to show
        # the window.
        from batcher_gui.server.intake import parse_address, start_intake
        from batcher_gui.ui.dialogs.settings_intake import intake_wanted

        on, address, public = intake_wanted(self.settings)
        old, session.intake_api = session.intake_api, None
        if old is not None:
            await old.stop()
        if not on or session.service is None or session.closing:
            self._say("Off", shown=False)
            return
        try:
            host, port = parse_address(address)
            handle = await start_intake(session.service, host, port, allow_remote=public)
        except BatcherError as exc:
            self._say(f"Intake API not listening: {exc}", shown=True)
            return
        if session.closing:  # closed while it started
            await handle.stop()
            return
        session.intake_api = handle
        self._say(f"Intake API listening on {handle.url}", shown=True)

    def attach(self, dialog: SettingsDialog) -> None:
        """Preferences → Intake API: Apply switches it; the page shows what it does."""
        dialog.intake.show_status(self.status)

        def switched() -> None:
            session = self._session()
            if session is None:
                return

            async def switch() -> None:
                await self.apply(session)
                dialog.intake.show_status(self.status)

            session.spawn(switch(), name="intake-api")

        dialog.intake.switched.connect(switched)
