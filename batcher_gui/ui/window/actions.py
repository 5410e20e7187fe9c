"""Every command of the window as a QAction: a menu entry, a shortcut, a tooltip, a toolbar
button where it helps. The window supplies the slots."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar

Slot = Callable[[], Any]
#: Written out, not QKeySequence.StandardKey: those are empty on some platforms (a bare X
#: server has no Quit key). "Ctrl" is Command on macOS.
Key = str | None


@dataclass
class WindowActions:
    """The window's actions by name (see :func:`build_actions`)."""

    by_name: dict[str, QAction]
    recent_menu: QMenu

    def __getitem__(self, name: str) -> QAction:
        return self.by_name[name]


# (name, text, shortcut, tip, toolbar?)
_SPECS: dict[str, list[tuple[str, str, Key, str, bool]]] = {
    "&File": [
        ("import", "&Import…", "Ctrl+O", "Import a prompts file", True),
        ("open_workspace", "&Open Workspace…", "Ctrl+Shift+O", "Open another workspace folder",
         False),
        ("-", "", None, "", False),
        ("export", "&Export Run…", "Ctrl+E", "Export the selected run as JSONL or CSV", True),
        ("open_results", "Open Run's &Results Folder", None,
         "Open the folder the selected run's results are delivered to", False),
        ("open_workspace_folder", "Open &Workspace Folder", None, "Show the workspace's files",
         False),
        ("-", "", None, "", False),
        ("quit", "&Quit", "Ctrl+Q",
         "Stop between steps and quit; nothing is lost", False),
    ],
    "&Edit": [
        ("find", "&Find Prompts", "Ctrl+F", "Search the prompts", False),
        ("copy_id", "Copy custom_&id", "Ctrl+Shift+C", "Copy the selected prompt's custom_id",
         False),
        ("undo_label", "&Undo Label", "Ctrl+Z",
         "Put back the labels or note the last change in the prompts table replaced", False),
        ("labels", "&Labels…", None, "Name the labels keys 1-9 put on prompts", False),
        ("-", "", None, "", False),
        ("preferences", "&Preferences…", "Ctrl+,",
         "Provider profiles, API keys and workspace settings", False),
    ],
    "&View": [
        ("refresh", "&Refresh", "F5", "Read everything again",
         True),
        ("show_prompts", "&Prompts", "Ctrl+1", "Show the prompts", False),
        ("show_batches", "&Batches", "Ctrl+2", "Show the batches", False),
        ("show_spend", "&Spend", "Ctrl+3", "Estimated and reported cost per day, run and model",
         False),
        ("show_runs", "R&uns", "Ctrl+0", "Go to the runs list", False),
        ("toggle_facets", "&Facets", None,
         "Counts by state, model, check, label... beside the prompts; click one to filter",
         False),
        ("-", "", None, "", False),
        ("*appearance", "&Appearance", None, "", False),
    ],
    "&Run": [
        ("submit", "&Submit Now", "Ctrl+Return",
         "Send the selected run's waiting drafts now (else when full or after a quiet spell)",
         True),
        ("cancel_run", "&Cancel Run", "Ctrl+Shift+X",
         "Cancel every unfinished batch of the selected run (finished results are kept)", True),
        ("retry", "&Retry Failed", "Ctrl+R",
         "Restart the run's failed batches and send its failed prompts again", True),
        ("delivery", "De&livery…", None,
         "Where the selected run's answers go as they arrive (a folder or a webhook)", False),
        ("rerun", "Re-run with a C&hange…", None,
         "Re-run the selected run's prompts with another model, profile, system prompt, "
         "template or options, as a new run", False),
        ("rerun_failed_checks", "Re-run Failed Chec&ks…", None,
         "Re-run the answers that failed the selected run's checks, with a change", False),
        ("compare", "Co&mpare…", "Ctrl+Shift+M",
         "Compare two runs side by side: select two runs, or choose the other one", False),
        ("checks", "Ch&ecks…", None,
         "Rules every answer of the selected run must meet (JSON, a schema, labels, a regex, "
         "a length)", False),
        ("-", "", None, "", False),
        ("delete_run", "&Delete Run…", "Delete",
         "Delete the selected run with its prompts and results", False),
    ],
    "&Batch": [
        ("cancel_batch", "&Cancel Batch", None, "Cancel the selected batch", False),
        ("restart_batch", "&Restart Batch", None, "Send a failed batch again", False),
    ],
    "&Help": [
        ("sample", "Try the &Sample", None,
         "Run 34 example prompts on the built-in sandbox (no key, no cost)", False),
        ("open_log", "Open &Log Folder", None, "Where Batcher writes what it did", False),
        ("about", "&About Batcher", None, "Version, workspace, licences", False),
    ],
}


def build_actions(window: QMainWindow, slots: dict[str, Slot]) -> WindowActions:
    """Create the menus, the toolbar and the actions, wired to ``slots`` (by name)."""
    actions: dict[str, QAction] = {}
    toolbar = QToolBar("Main", window)
    toolbar.setObjectName("main-toolbar")
    window.addToolBar(toolbar)
    recent: QMenu | None = None
    for title, specs in _SPECS.items():
        menu = window.menuBar().addMenu(title)
        for name, text, key, tip, on_toolbar in specs:
            if name == "-":
                menu.addSeparator()
                continue
            if name == "*appearance":
                _appearance(window, menu.addMenu(text), slots, actions)
                continue
            action = QAction(text, window)
            if key is not None:
                action.setShortcut(QKeySequence(key))
            action.setToolTip(tip + (f" ({action.shortcut().toString()})"
                                     if key is not None else ""))
            action.setStatusTip(tip)
            slot = slots.get(name)
            if slot is not None:
                action.triggered.connect(lambda _checked=False, s=slot: s())
            menu.addAction(action)
            actions[name] = action
            if on_toolbar:
                toolbar.addAction(action)
            if name == "open_workspace":
                recent = menu.addMenu("Open &Recent")
    assert recent is not None
    return WindowActions(actions, recent)


#: View → Appearance: light or dark, or as the system says (remembered by the window).
_SCHEMES = (("scheme_system", "As the &System"), ("scheme_light", "&Light"),
            ("scheme_dark", "&Dark"))


def _appearance(window: QMainWindow, menu: QMenu, slots: dict[str, Slot],
                actions: dict[str, QAction]) -> None:
    group = QActionGroup(window)
    group.setExclusive(True)
    for name, text in _SCHEMES:
        action = QAction(text, window)
        action.setCheckable(True)
        action.setStatusTip("Colours of the window")
        slot = slots.get(name)
        if slot is not None:
            action.triggered.connect(lambda _checked=False, s=slot: s())
        group.addAction(action)
        menu.addAction(action)
        actions[name] = action
