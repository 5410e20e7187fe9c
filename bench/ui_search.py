"""Sorts and searches in the window, before and after their indexes (bench/ui.py runs these).

For each sortable column (both directions), a state filter with a sort, and a rare-word and a
common-word search: the time until the first page shows and until the count is known, first
with the sort indexes dropped and the search index off (what Batcher did before), then with
them built. The indexes' build times and sizes are printed per million prompts.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

#: The sort indexes of migration 0010 (dropped for the "before" figures, then built again).
SORT_INDEXES = {
    "ix_prompts_run_model": "prompts (run_id, model)",
    "ix_prompts_run_input_tokens": "prompts (run_id, input_tokens)",
    "ix_prompts_run_output_tokens": "prompts (run_id, output_tokens)",
    "ix_prompts_run_natural_id": "prompts (run_id, rtrim(user_custom_id, '0123456789'), "
                                 "length(user_custom_id), user_custom_id)",
}
#: (column, title) of the sortable columns of the prompts table.
SORTS = ((0, "State"), (1, "#"), (2, "custom_id"), (3, "Model"), (7, "In"), (8, "Out"))
#: A word in 10 answers of a million (bench/answers.py), and words in most prompts.
RARE, COMMON = "zanzibar", "omega alpha"


async def timed(model: Any, label: str, change: Callable[[], object],
                timeout: float = 600) -> tuple[float, float]:
    """Milliseconds until the first page shows and until the count is known."""
    counted: list[float] = []
    shown: list[float] = []

    def on_count(_n: int) -> None:
        counted.append(time.perf_counter())

    def on_reset() -> None:  # the first page comes with the reset
        shown.append(time.perf_counter())

    model.countChanged.connect(on_count)
    model.modelReset.connect(on_reset)
    start = time.perf_counter()
    change()
    while (not shown or not counted) and time.perf_counter() - start < timeout:
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.05)  # a count that follows the snapshot: the last one counts
    rows = (shown[0] - start) * 1000 if shown else float("nan")
    count = (counted[-1] - start) * 1000 if counted else float("nan")
    model.countChanged.disconnect(on_count)
    model.modelReset.disconnect(on_reset)
    flag = "" if rows < 200 else "  <-- over 200 ms"
    print(f"  {label:<40}: first rows {rows:7.0f} ms, count {count:7.0f} ms "
          f"({model.rowCount():,} rows){flag}", flush=True)
    return rows, count


async def measure(window: Any, states: tuple[Any, ...], searches: bool = True) -> None:
    panel, model = window.prompts, window.prompts.model
    for column, title in SORTS:
        for order, word in ((Qt.SortOrder.AscendingOrder, "up"),
                            (Qt.SortOrder.DescendingOrder, "down")):
            await timed(model, f"sort by {title} ({word})",
                        lambda c=column, o=order: panel.table.sortByColumn(c, o))
    for state in states:
        for column, title in SORTS[2:]:
            await timed(model, f"state {state.value}, sort by {title}",
                        lambda s=state, c=column: (
                            panel.state.setCurrentIndex(panel.state.findData(s)),
                            panel.table.sortByColumn(c, Qt.SortOrder.AscendingOrder)))
        panel.state.setCurrentIndex(0)
    panel.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    await asyncio.sleep(0.5)
    for text in (RARE, COMMON, "request-999999") if searches else ():
        for column, title in ((1, "#"), (8, "Out")):
            panel.table.sortByColumn(column, Qt.SortOrder.AscendingOrder)
            await asyncio.sleep(0.3)
            await timed(model, f"search {text!r}, by {title}",
                        lambda t=text: (panel.search.setText(t), panel.apply_filters()))
            panel.search.setText("")
            panel.apply_filters()
            await asyncio.sleep(0.3)
    panel.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)


def indexes_off(database: Path, *, sorts: bool = True) -> None:
    """Before: no sort indexes (``sorts``), the search index off (and dropped)."""
    conn = sqlite3.connect(database, isolation_level=None)
    for name in SORT_INDEXES if sorts else ():
        conn.execute(f"DROP INDEX IF EXISTS {name}")
    conn.execute("UPDATE search_settings SET enabled = 0")
    conn.execute("DELETE FROM search_runs")
    conn.execute("DELETE FROM search_queue")
    conn.execute("DROP TABLE IF EXISTS prompt_search")
    conn.close()


def build_sort_indexes(database: Path, n: int) -> None:
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 60000")
    for name, what in SORT_INDEXES.items():
        start = time.perf_counter()
        conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {what}")
        seconds = time.perf_counter() - start
        size = conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name = ? AND aggregate = TRUE",
                            (name,)).fetchone()[0] or 0
        print(f"  index {name:<30}: {seconds / n * 1e6:5.1f} s and {size / n:5.1f} MB "
              "per million prompts", flush=True)
    conn.close()


async def build_search_index(window: Any, n: int) -> None:
    """Turn the search index on in the running window and wait until it is built."""
    indexer = window.search_index.indexer
    start = time.perf_counter()
    await indexer.set_enabled(True)
    while True:
        status = indexer.last_status
        if status is not None and status.enabled and status.indexed >= status.total > 0:
            break
        await asyncio.sleep(0.5)
    seconds = time.perf_counter() - start
    status = await indexer.status()
    print(f"  search index built in the window: {seconds:.0f} s ({seconds / n * 1e6:.0f} s per "
          f"million prompts), {status.bytes / 1e6:,.0f} MB ({status.bytes / n:.0f} MB per "
          f"million); status bar: {window.search_index.button.text()!r}", flush=True)
