"""Spend: what the runs cost (reported) against what they were estimated to cost, per day,
per run and per model. The chart is painted with QPainter (Qt Charts would add ~150 MB)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from batcher_gui.domain.money import usd
from batcher_gui.domain.pricing import PriceTable
from batcher_gui.domain.views import RunOverview
from batcher_gui.ui.base.theme import state_colour

DAYS = 30


class DayChart(QWidget):
    """Bars of reported spend per day for the last DAYS days."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(170)
        self.setAccessibleName("Spend per day")
        self.days: list[tuple[dt.date, float]] = []

    def set_days(self, days: list[tuple[dt.date, float]]) -> None:
        self.days = days
        total = sum(v for _, v in days)
        self.setToolTip(f"Reported spend over the last {DAYS} days: {usd(total, '$0')}")
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        quiet = palette.color(QPalette.ColorRole.PlaceholderText)
        peak = max((v for _, v in self.days), default=0.0)
        # Room for the longest axis label, whatever the amount and the font.
        left = self.fontMetrics().horizontalAdvance(usd(peak, "$0")) + 16.0
        bottom, top = self.height() - 22.0, 14.0
        width = max(self.width() - left - 10, 10)
        painter.setPen(quiet)
        painter.drawLine(int(left), int(bottom), int(left + width), int(bottom))
        if peak <= 0:
            painter.setPen(text)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                             "No reported spend in the last 30 days yet: costs appear here as "
                             "batches finish.")
            return
        painter.drawText(QRectF(0, top - 8, left - 8, 16),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         usd(peak, "$0"))
        painter.drawText(QRectF(0, bottom - 8, left - 8, 16),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, "$0")
        step = width / max(len(self.days), 1)
        bar = state_colour("completed")
        for i, (day, value) in enumerate(self.days):
            x = left + i * step
            height = (bottom - top) * value / peak
            if value > 0:
                painter.fillRect(QRectF(x + 2, bottom - height, max(step - 4, 1), height), bar)
            if i % 5 == 0 or i == len(self.days) - 1:
                painter.setPen(quiet)
                painter.drawText(QRectF(x - 20, bottom + 3, step + 40, 16),
                                 Qt.AlignmentFlag.AlignHCenter, day.strftime("%d %b"))


def _table(headers: tuple[str, ...], name: str) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setAccessibleName(name)
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)


class SpendView(QWidget):
    """The Spend tab."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.chart = DayChart()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.runs = _table(("Run", "Estimated (batch prices)", "Reported so far", "Counted"),
                           "Spend per run")
        self.models = _table(("Model", "Input tokens", "Output tokens", "Reported cost",
                              "Estimated"), "Spend per model")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.runs)
        split.addWidget(self.models)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<b>Reported spend per day</b> (last {DAYS} days)"))
        layout.addWidget(self.chart)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)

    def show_spend(self, prices: PriceTable, runs: list[RunOverview],
                   by_day: list[tuple[str, str, int, int, int, int, int]],
                   now: float | None = None
                   ) -> None:
        today = dt.date.fromtimestamp(now or time.time())
        per_day: dict[dt.date, float] = {today - dt.timedelta(days=n): 0.0
                                         for n in range(DAYS - 1, -1, -1)}
        for day, model, tokens_in, tokens_out, cached, written, written_1h in by_day:
            date = dt.date.fromisoformat(day)
            if date in per_day:
                per_day[date] += prices.cost(model, tokens_in, tokens_out, cached_input=cached,
                                             cache_write=written,
                                             cache_write_1h=written_1h) or 0.0
        self.chart.set_days(sorted(per_day.items()))

        run_rows, estimated_total, reported_total = [], [0.0, 0.0], 0.0
        models: dict[str, list[float]] = {}
        for run in runs:
            reported = run.cost or 0.0
            reported_total += reported
            estimate = run.cost_estimate
            if estimate is not None:
                estimated_total[0] += estimate.low
                estimated_total[1] += estimate.high
            run_rows.append([
                run.run.label.replace("'", ""),
                f"{usd(estimate.low, '')} – {usd(estimate.high, '')}" if estimate else "",
                usd(reported, "") if run.usage else "",
                f"{run.counted:,} / {run.total:,}"])
            for model, tokens_in, tokens_out in run.usage:
                entry = models.setdefault(model, [0, 0, 0.0, 0.0, 0.0])
                entry[0] += tokens_in
                entry[1] += tokens_out
                entry[2] += prices.usage_cost([(model, tokens_in, tokens_out)], run.cache) or 0.0
            for model, _, tokens_in, bound in run.estimate:
                cost = prices.estimate({model: (tokens_in, bound)})
                entry = models.setdefault(model, [0, 0, 0.0, 0.0, 0.0])
                entry[3] += cost.low
                entry[4] += cost.high
        _fill(self.runs, run_rows)
        _fill(self.models, [[model, f"{int(v[0]):,}", f"{int(v[1]):,}", usd(v[2], ""),
                             f"{usd(v[3], '')} – {usd(v[4], '')}"]
                            for model, v in sorted(models.items())])
        self.summary.setText(
            f"All runs: estimated {usd(estimated_total[0], '$0')} – "
            f"{usd(estimated_total[1], '$0')} at batch prices; reported so far "
            f"{usd(reported_total, '$0')}. Estimates run from every answer empty to every "
            "answer as long as allowed; reported costs come from the provider's token counts.")
