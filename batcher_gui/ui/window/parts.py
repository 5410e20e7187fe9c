"""The widgets of the main window, built and laid out (no behaviour: see live, commands,
intake)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from batcher_gui.ui.models.batches import COL_REQUESTS, BatchesModel
from batcher_gui.ui.models.runs import COL_PROGRESS, RunsModel
from batcher_gui.ui.views.delegates import EmptyMessageTable, ProgressDelegate
from batcher_gui.ui.views.detail import DetailStack
from batcher_gui.ui.views.prompts_panel import PromptsPanel
from batcher_gui.ui.views.spend_view import SpendView
from batcher_gui.ui.views.status import Banner, EngineStatus
from batcher_gui.ui.views.welcome import WelcomePanel

NO_RUNS = "No runs yet.\n\nFile → Import (Ctrl+O) turns a file of prompts into a run."
NO_BATCHES = "No batches here yet: importing a file makes its draft batches."
#: Runs columns shown at first (run, progress, failed, cost, provider): the progress bar and its
#: tooltip say most of it, and the side panel is narrow. Right-click the header for more.
RUNS_SHOWN_AT_FIRST = ("Run", "Progress", "Failed", "Cost", "Provider")
RUNS_WIDTHS = (130, 115, 70, 70, 70, 55, 70, 90, 75, 165, 160, 160, 110, 110, 150)
BATCHES_WIDTHS = (50, 130, 50, 190, 160, 130, 150, 230, 60)


def item_table(message: str, name: str) -> EmptyMessageTable:
    """A table of items (runs, batches): whole rows, one at a time."""
    table = EmptyMessageTable(message)
    table.setAccessibleName(name)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.setWordWrap(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class WindowParts:
    """Every pane of the window: runs (left); prompts, batches and spend (middle, or the
    welcome panel); the detail (right); the banner (top) and the engine's line (bottom)."""

    def __init__(self) -> None:
        self.runs_model = RunsModel()
        self.runs = item_table(NO_RUNS, "Runs")
        self.runs.setModel(self.runs_model)
        # Two runs at once (Ctrl/Shift+click) for Run → Compare; the first selected is shown.
        self.runs.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.runs_model.setParent(self.runs)
        self.runs.setItemDelegateForColumn(COL_PROGRESS, ProgressDelegate(self.runs))
        for column, width in enumerate(RUNS_WIDTHS):
            self.runs.setColumnWidth(column, width)
        for column, header in enumerate(RunsModel.HEADERS):
            self.runs.setColumnHidden(column, header not in RUNS_SHOWN_AT_FIRST)
        self.batches_model = BatchesModel()
        self.batches = item_table(NO_BATCHES, "Batches")
        self.batches.setModel(self.batches_model)
        self.batches_model.setParent(self.batches)
        self.batches.setItemDelegateForColumn(COL_REQUESTS, ProgressDelegate(self.batches))
        for column, width in enumerate(BATCHES_WIDTHS):
            self.batches.setColumnWidth(column, width)
        self.prompts = PromptsPanel(None)  # the reader comes with a workspace
        self.spend = SpendView()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.prompts, "Prompts")
        self.tabs.addTab(self.batches, "Batches")
        self.tabs.addTab(self.spend, "Spend")
        self.welcome = WelcomePanel()
        self.middle = QStackedWidget()  # the welcome panel while the workspace has no runs
        self.middle.addWidget(self.tabs)
        self.middle.addWidget(self.welcome)
        self.detail = DetailStack()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("main-splitter")
        for widget in (self.runs, self.middle, self.detail):
            self.splitter.addWidget(widget)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([540, 660, 400])  # runs: room for their provider
        self.banner = Banner()
        self.engine_status = EngineStatus()
        self.central = QWidget()
        layout = QVBoxLayout(self.central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)

    def tables(self) -> dict[str, QAbstractItemView]:
        """The tables whose column layout is remembered, by name."""
        return {"runs": self.runs, "batches": self.batches, "prompts": self.prompts.table}
