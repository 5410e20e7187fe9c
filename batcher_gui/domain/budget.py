"""Spending caps per profile: one for any single run, one per calendar month.

A profile's ``options`` may hold ``budget_run_usd`` and ``budget_month_usd``. A run whose
estimated cost (the high end: every answer as long as allowed) passes its profile's run cap, or
would take the month's spending past the month cap, is not sent until the user says so:
the window asks, the command line wants ``--allow-over-budget``; auto-sending holds it with
the reason shown. :func:`over_budget` gives the figures (a
:class:`~batcher_gui.domain.outcomes.BudgetExceeded`), :func:`budget_words` the sentence.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Mapping
from typing import Any

from batcher_gui.domain.money import usd
from batcher_gui.domain.outcomes import BudgetCap, BudgetExceeded

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
                run_cap: float | None, month_cap: float | None, *,
                now: float | None = None) -> BudgetExceeded | None:
    """Which cap the run would pass, with the figures (None: within the caps).

    The run cap is checked first: a run over it is refused for that, whatever the month.
    """
    if run_cap is not None and run_high > run_cap:
        return BudgetExceeded(profile, BudgetCap.RUN, run_cap, run_high, month_spent,
                              month_name(now))
    if month_cap is not None and month_spent + run_high > month_cap:
        return BudgetExceeded(profile, BudgetCap.MONTH, month_cap, run_high, month_spent,
                              month_name(now))
    return None


def budget_words(refusal: BudgetExceeded) -> str:
    """The refusal as one sentence, where it must be kept as text (a held batch's wait reason)
    or printed (the command line)."""
    if refusal.cap is BudgetCap.RUN:
        return (f"over budget: this run may cost up to {usd(refusal.run_high_usd)}, above "
                f"profile {refusal.profile!r}'s cap of {usd(refusal.cap_usd)} per run")
    return (f"over budget: {usd(refusal.month_spent_usd)} spent on profile {refusal.profile!r} "
            f"in {refusal.month or 'this month'} plus up to {usd(refusal.run_high_usd)} for "
            f"this run passes the monthly cap of {usd(refusal.cap_usd)}")
