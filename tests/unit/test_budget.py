"""Budget rules: a run's cap, the month's cap, the calendar month."""

from __future__ import annotations

import time

from batcher_gui.domain.budget import caps, month_start, over_budget


def test_run_and_month_caps() -> None:
    assert over_budget("p", 4.0, 0.0, None, None) is None
    assert over_budget("p", 4.0, 0.0, 5.0, None) is None
    run = over_budget("p", 6.0, 0.0, 5.0, None)
    assert run is not None and "up to $6.00" in run and "$5.00 per run" in run
    assert over_budget("p", 4.0, 90.0, None, 100.0) is None
    month = over_budget("p", 11.0, 90.0, None, 100.0)
    assert month is not None and "$90.00 spent" in month and "monthly cap of $100.00" in month
    assert caps({"budget_run_usd": 5, "budget_month_usd": 100.5}) == (5.0, 100.5)
    assert caps({}) == (None, None)


def test_the_month_starts_on_the_first_at_midnight() -> None:
    start = month_start()
    t = time.localtime(start)
    assert (t.tm_mday, t.tm_hour, t.tm_min) == (1, 0, 0)
    assert start <= time.time() < start + 32 * 86400
