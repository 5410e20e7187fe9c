"""Budget rules: a run's cap, the month's cap, the calendar month; the refusal's figures and
its sentence."""

from __future__ import annotations

import time

import pytest

from batcher_gui.domain.budget import budget_words, caps, month_start, over_budget
from batcher_gui.domain.errors import InvalidInput, OverBudget
from batcher_gui.domain.outcomes import BudgetCap, BudgetExceeded

#: 15 March 2026, noon local time.
MARCH = time.mktime((2026, 3, 15, 12, 0, 0, 0, 0, -1))


def test_within_the_caps_nothing_is_refused() -> None:
    assert over_budget("p", 4.0, 0.0, None, None) is None
    assert over_budget("p", 4.0, 0.0, 5.0, None) is None
    assert over_budget("p", 5.0, 0.0, 5.0, None) is None  # at the cap is within it
    assert over_budget("p", 4.0, 90.0, None, 100.0) is None
    assert over_budget("p", 10.0, 90.0, None, 100.0) is None


def test_the_run_cap_refusal_has_the_figures() -> None:
    refusal = over_budget("p", 6.0, 0.0, 5.0, None, now=MARCH)
    assert refusal == BudgetExceeded("p", BudgetCap.RUN, 5.0, 6.0, 0.0, "March 2026")
    assert budget_words(refusal) == (
        "over budget: this run may cost up to $6.00, above profile 'p''s cap of $5.00 per run")


def test_the_month_cap_refusal_has_the_figures() -> None:
    refusal = over_budget("team", 11.0, 90.0, None, 100.0, now=MARCH)
    assert refusal == BudgetExceeded("team", BudgetCap.MONTH, 100.0, 11.0, 90.0, "March 2026")
    assert budget_words(refusal) == (
        "over budget: $90.00 spent on profile 'team' in March 2026 plus up to $11.00 for this "
        "run passes the monthly cap of $100.00")


def test_the_run_cap_is_checked_before_the_month_cap() -> None:
    refusal = over_budget("p", 6.0, 99.0, 5.0, 100.0, now=MARCH)
    assert refusal is not None and refusal.cap is BudgetCap.RUN and refusal.cap_usd == 5.0


def test_over_budget_error_carries_the_refusal() -> None:
    refusal = BudgetExceeded("p", BudgetCap.RUN, 5.0, 6.0, run_label="#3 'reviews'")
    with pytest.raises(OverBudget) as caught:
        raise OverBudget(refusal)
    assert caught.value.refusal is refusal
    assert isinstance(caught.value, InvalidInput)  # the command line exits with 2
    assert str(caught.value) == (
        "run #3 'reviews': over budget: this run may cost up to $6.00, above profile 'p''s cap "
        "of $5.00 per run. Nothing was sent; to send it anyway, confirm in the window or use "
        "`batcher submit --allow-over-budget`")


def test_caps_are_read_from_profile_options() -> None:
    assert caps({"budget_run_usd": 5, "budget_month_usd": 100.5}) == (5.0, 100.5)
    assert caps({}) == (None, None)


def test_the_month_starts_on_the_first_at_midnight() -> None:
    start = month_start()
    t = time.localtime(start)
    assert (t.tm_mday, t.tm_hour, t.tm_min) == (1, 0, 0)
    assert start <= time.time() < start + 32 * 86400
    assert time.localtime(month_start(MARCH))[:3] == (2026, 3, 1)
