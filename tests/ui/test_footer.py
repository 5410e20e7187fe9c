"""The prompts footer says what the table shows, in the words of the state groups."""

from __future__ import annotations

from batcher_gui.domain.progress import GroupCounts
from batcher_gui.domain.states import PromptState
from batcher_gui.domain.views import PromptQuery
from batcher_gui.ui.views.prompts_panel import footer

RUN = PromptQuery(run_id=3)
MIXED = GroupCounts(pending=0, in_flight=0, done=1000, failed=180, cancelled=20)


def test_a_run_without_filters() -> None:
    assert footer(RUN, MIXED, 1200) == ("1,200 prompts in this run: 1,000 done · 180 failed · "
                                        "20 cancelled")
    assert footer(PromptQuery(), GroupCounts(done=1), 1) == "1 prompt in all runs: 1 done"


def test_a_state_filter_says_how_many_it_shows() -> None:
    query = PromptQuery(run_id=3, states=(PromptState.FAILED,))
    assert footer(query, MIXED, 150) == ("showing 150 prompts (failed) · 1,200 prompts in this "
                                         "run: 1,000 done · 180 failed · 20 cancelled")


def test_a_search_counts_what_it_matches() -> None:
    query = PromptQuery(text="headphones")
    assert footer(query, GroupCounts(done=48), 48) == (
        "48 prompts in all runs match the search and filters: 48 done")
    assert footer(query, GroupCounts(), 0) == "No prompt matches the search and filters."
    assert footer(PromptQuery(run_id=1), GroupCounts(), 0) == ""  # an empty run: its message
