"""Spending caps per profile: one for any single run, one per calendar month.

A profile's ``options`` may hold ``budget_run_usd`` and ``budget_month_usd``. A run whose
estimated cost (the high end: every answer as long as allowed) passes its profile's run cap, or
would take the month's spending past the month cap, is not sent until the user says so:
the window asks, the command line wants ``--allow-over-budget``; auto-sending holds it with
the reason shown.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Mapping
from typing import Any

from batcher_gui.domain.money import usd

RUN_CAP, MONTH_CAP = "budget_run_usd", "budget_month_usd"


def caps(options: Mapping[str, Any]) -> tuple[float | None, float | None]:
    run, month = options.get(RUN_CAP), options.get(MONTH_CAP)
    return (None if run is None else float(run), None if month is None else float(month))


def month_start(now: float | None = None) -> float:
    """The epoch time at which the current calendar month began (local time)."""
    t = time.localtime(now)
    return time.mktime((t.tm_year, t.tm_mon, 1, 0, 0, 0, 0, 0, -1))


def month_name(now: float | None = None) -> str:
    t = time.localtime(now)
    return f"{calendar.month_name[t.tm_mon]} {t.tm_year}"


def over_budget(profile: str, run_high: float, month_spent: float,
                run_cap: float | None, month_cap: float | None) -> str | None:
    """Why the run may not go without the user's word (None: within the caps)."""
    if run_cap is not None and run_high > run_cap:
        return (f"over budget: this run may cost up to {usd(run_high)}, above profile "
                f"{profile!r}'s cap of {usd(run_cap)} per run")
    if month_cap is not None and month_spent + run_high > month_cap:
        return (f"over budget: {usd(month_spent)} spent on profile {profile!r} in "
                f"{month_name()} plus up to {usd(run_high)} for this run passes the monthly "
                f"cap of {usd(month_cap)}")
    return None
