"""Telling the user a run has finished: a banner in the window, always, and a desktop
notification where the desktop has a tray to show it (many Linux desktops have none).

Finishing is read from the runs list the window refreshes anyway (a run's ``finished_at``
appears), so runs driven by another Batcher process are noticed too.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QSystemTrayIcon

from batcher_gui.domain.events import NoticeLevel
from batcher_gui.domain.progress import RunEnding
from batcher_gui.domain.views import RunOverview
from batcher_gui.paths import resource

#: How an ending is told: (title after "Run X", level).
_ENDINGS = {
    RunEnding.COMPLETED: ("finished", NoticeLevel.INFO),
    RunEnding.COMPLETED_WITH_FAILURES: ("finished with failures", NoticeLevel.WARNING),
    RunEnding.FAILED: ("failed", NoticeLevel.ERROR),
    RunEnding.CANCELLED: ("was cancelled", NoticeLevel.INFO),
}


@dataclass(frozen=True, slots=True)
class RunFinished:
    """What to tell about one run that just finished."""

    run_id: int
    title: str
    message: str
    level: NoticeLevel


def finished_runs(before: dict[int, bool], runs: Iterable[RunOverview]) -> list[RunFinished]:
    """Runs that were unfinished in ``before`` (run id -> finished?) and are finished now.

    ``before`` is updated in place; runs seen for the first time are only recorded (opening a
    workspace does not announce what finished while the window was closed).
    """
    news: list[RunFinished] = []
    for run in runs:
        done = run.finished_at is not None and run.started_at is not None
        was_done = before.get(run.run.id)
        before[run.run.id] = done
        ending = run.ending
        if not done or was_done is None or was_done or ending is None:
            continue
        groups = run.groups
        parts = [f"{groups.done:,} answered"]
        if groups.failed:
            parts.append(f"{groups.failed:,} failed")
        if groups.cancelled:
            parts.append(f"{groups.cancelled:,} cancelled")
        said, level = _ENDINGS[ending]
        news.append(RunFinished(run.run.id, f"Run {run.run.label} {said}",
                                ", ".join(parts) + ".", level))
    return news


class Notifier(QObject):
    """Shows :class:`RunFinished` news on the desktop (if it can) and says so in a banner."""

    clicked = Signal(int)  # run id of the desktop notification the user clicked

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.tray: QSystemTrayIcon | None = None
        self._last_run: int | None = None
        #: The latest announcements (the tests read it); bounded: a window lives for weeks.
        self.shown: collections.deque[RunFinished] = collections.deque(maxlen=50)

    def desktop_available(self) -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages()

    def announce(self, news: RunFinished, desktop: bool) -> None:
        self.shown.append(news)
        if not desktop or not self.desktop_available():
            return
        if self.tray is None:
            self.tray = QSystemTrayIcon(QIcon(str(resource("icons", "batcher.svg"))), self)
            self.tray.setToolTip("Batcher")
            self.tray.messageClicked.connect(
                lambda: self._last_run is not None and self.clicked.emit(self._last_run))
            self.tray.show()
        self._last_run = news.run_id
        icon = {NoticeLevel.ERROR: QSystemTrayIcon.MessageIcon.Critical,
                NoticeLevel.WARNING: QSystemTrayIcon.MessageIcon.Warning}.get(
            news.level, QSystemTrayIcon.MessageIcon.Information)
        self.tray.showMessage(news.title, news.message, icon, 10_000)
