"""Preferences (Ctrl+,): provider profiles with their keys, and the workspace's settings.

The pages are settings_profiles.py (the profiles), settings_keys.py (the shown profile's API
key) and settings_workspace.py (the workspace's folder and settings); this dialog puts them in
tabs, keeps them in step and remembers its size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTabWidget, QVBoxLayout

from batcher_gui.ui.dialogs.settings_intake import IntakePage
from batcher_gui.ui.dialogs.settings_keys import KeyBox
from batcher_gui.ui.dialogs.settings_profiles import ProfilesPage, Tasks
from batcher_gui.ui.dialogs.settings_workspace import WorkspacePage

if TYPE_CHECKING:
    from batcher_gui.app import Service


class SettingsDialog(QDialog):
    """Preferences: ``SettingsDialog(service, parent=window)``, then ``open()`` (never
    ``exec()``: a nested event loop would re-enter qasync). Reads the service again each time
    it is shown."""

    PAGES = ("profiles", "workspace", "intake")

    def __init__(self, service: Service, parent: Any = None) -> None:
        super().__init__(parent)
        self.service = service
        self.setWindowTitle("Preferences")
        self.setObjectName("settings-dialog")
        self.tasks = Tasks(self)
        self.profiles = ProfilesPage(service, self.tasks)
        self.workspace = WorkspacePage(service, self.tasks)
        self.keys = KeyBox(service, self.tasks)
        self.profiles.right.insertWidget(1, self.keys)
        self.profiles.shown.connect(self.keys.show_for)
        self.profiles.changed.connect(lambda: self.tasks.start(self.workspace.reload(),
                                                               "workspace-page"))
        self.workspace.changed.connect(lambda: self.tasks.start(self.profiles.reload(),
                                                                "profiles-page"))
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Settings pages")
        self.tabs.addTab(self.profiles, "Provider profiles")
        self.tabs.addTab(self.workspace, "Workspace")
        # The window's layout memory, if it has one (MainWindow.settings): also where this
        # machine keeps the intake API's on/off and address.
        memory = getattr(parent, "settings", None)
        self.memory = memory if isinstance(memory, QSettings) else None
        self.intake = IntakePage(service, self.tasks, self.memory)
        self.tabs.addTab(self.intake, "Intake API")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        for button in buttons.buttons():
            button.setAutoDefault(False)  # Enter in a field must not close the dialog
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
        self.resize(920, 720)
        geometry = self.memory.value("preferences/geometry") if self.memory else None
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not event.spontaneous():  # shown by the program, not restored by the desktop
            self.tasks.start(self._load(), "load")

    async def _load(self) -> None:
        await self.profiles.reload()
        await self.workspace.reload()
        await self.intake.reload()

    def open_page(self, name: str) -> None:
        """Show the page ``name``: "profiles", "workspace" or "intake"."""
        if name not in self.PAGES:
            raise ValueError(f"no settings page {name!r}; pages: {', '.join(self.PAGES)}")
        self.tabs.setCurrentIndex(self.PAGES.index(name))

    def select_profile(self, name: str) -> None:
        """Show the profiles page with ``name`` selected (once the list is read)."""
        self.open_page("profiles")
        self.profiles.select_profile(name)

    def focus_key_field(self) -> None:
        """Put the cursor in the shown profile's API key field ("Add your OpenAI key")."""
        self.open_page("profiles")
        self.keys.focus_field()

    def done(self, result: int) -> None:
        if self.memory is not None:
            self.memory.setValue("preferences/geometry", self.saveGeometry())
        super().done(result)
