"""The command line's words for what a command did (the service returns data, not sentences)."""

from __future__ import annotations

from collections.abc import Mapping

from batcher_gui.domain.outcomes import (
    BatchCancel,
    CancelKind,
    CancelOutcome,
    DeliveryOutcome,
    RetryOutcome,
    RunFailures,
    SubmitOutcome,
)
from batcher_gui.domain.progress import GROUP_STATES, GroupCounts, StateGroup, count_words
from batcher_gui.domain.states import PromptState
from batcher_gui.domain.wording import plural

P = PromptState
#: The state each group's prompts are usually in: the others are worth naming ("1,000 done
#: (800 delivered)"; "3 failed (1 expired)").
_PLAIN: Mapping[StateGroup, PromptState] = {
    StateGroup.PENDING: P.PENDING, StateGroup.IN_FLIGHT: P.PROCESSING,
    StateGroup.DONE: P.PROCESSED, StateGroup.FAILED: P.FAILED,
    StateGroup.CANCELLED: P.CANCELLED,
}


def batch_ids(ids: tuple[int, ...] | list[int]) -> str:
    return ", ".join(f"#{b}" for b in ids)


def submitted(outcome: SubmitOutcome) -> list[str]:
    lines = []
    for run_id in outcome.over_budget_allowed:
        lines.append(f"Run #{run_id} is over its budget and goes anyway, as you allowed.")
    if outcome.sealed:
        lines.append(f"Sealed {plural(len(outcome.sealed), 'batch', 'batches')}: "
                     f"{batch_ids(outcome.sealed)}. `batcher sync --wait` sends them (an open "
                     "window does so at once).")
    else:
        lines.append("No draft batch was waiting to be sealed; `batcher batches` shows where "
                     "each batch is.")
    return lines


def _one_cancel(done: BatchCancel) -> str:
    if done.kind is CancelKind.CANCELLED:
        return (f"Batch #{done.batch_id} cancelled (it was {done.state.value}, never sent): "
                f"{plural(done.prompts, 'prompt')} cancelled.")
    return (f"Batch #{done.batch_id} is at the provider ({done.state.value}): cancel requested "
            f"for its {plural(done.prompts, 'prompt')} without an answer; answers finished "
            "so far are kept once the provider confirms.")


def cancelled(outcome: CancelOutcome) -> list[str]:
    if not outcome.batches:
        return ["Nothing to cancel: every batch of that run has ended (or was already asked "
                "to stop)."]
    lines = [_one_cancel(done) for done in outcome.batches]
    if len(outcome.batches) > 1:
        parts = []
        if outcome.cancelled:
            at_once = sum(b.prompts for b in outcome.cancelled)
            parts.append(f"{plural(len(outcome.cancelled), 'batch', 'batches')} cancelled at "
                         f"once ({plural(at_once, 'prompt')})")
        if outcome.requested:
            waiting = sum(b.prompts for b in outcome.requested)
            parts.append(f"{plural(len(outcome.requested), 'batch', 'batches')} to cancel at "
                         f"the provider ({plural(waiting, 'prompt')})")
        lines.append("In all: " + "; ".join(parts) + ".")
    if outcome.requested:
        lines.append("`batcher sync` (or the open window) sends the cancellation to the "
                     "provider.")
    return lines


def retried(outcome: RetryOutcome) -> list[str]:
    lines = [f"Restarted {plural(outcome.batches_restarted, 'failed batch', 'failed batches')} "
             f"holding {plural(outcome.prompts_in_restarted, 'prompt')}; "
             f"{plural(outcome.prompts_requeued, 'more failed or expired prompt')} "
             f"{'goes' if outcome.prompts_requeued == 1 else 'go'} into new batches: "
             f"{outcome.prompts_to_send:,} will be sent again."]
    left = outcome.delivery_failures_left
    if left:
        lines.append(f"{plural(left, 'result')} whose delivery failed "
                     f"{'was' if left == 1 else 'were'} left alone (they are paid for): "
                     "`batcher redeliver RUN --failed` sends them again.")
    if outcome.prompts_to_send:
        lines.append("`batcher sync --wait` sends them.")
    return lines


def delivery_set(outcome: DeliveryOutcome) -> str:
    if outcome.kind == "webhook":
        return f"Results of run {outcome.run_label} will be POSTed to {outcome.target}."
    if outcome.kind == "folder":
        return f"Results of run {outcome.run_label} will be written to {outcome.target}."
    return f"Run {outcome.run_label} has no delivery target: its results stay in the workspace."


def failures(found: RunFailures) -> str:
    line = f"run {found.run_label}: {plural(found.prompts, 'prompt')} {found.state.value}"
    if found.delivery_only:
        line += (f" ({found.delivery_only:,} of them only their delivery: `batcher redeliver "
                 f"#{found.run_id} --failed`)")
    return line


def run_progress(by_state: Mapping[str, int], delivery_failures: int = 0, *,
                 run_id: int | None = None) -> str:
    """``1,200 done · 3 failed (1,000 delivered, 1 expired)``: the groups, then the states
    within them that say more than the group does, then failed deliveries."""
    counts = {P(state): n for state, n in by_state.items()}
    groups = GroupCounts.of(counts)
    states = [f"{counts[state]:,} {state.value}"
              for group, members in GROUP_STATES.items()
              for state in members if state is not _PLAIN[group] and counts.get(state)]
    detail = [", ".join(states)] if states else []
    if delivery_failures:
        how = f": `batcher redeliver #{run_id} --failed`" if run_id is not None else ""
        detail.append(f"{delivery_failures:,} of the failed only in their delivery{how}")
    text = count_words(groups)
    return f"{text} ({'; '.join(detail)})" if detail else text
