"""The window's words for what a command did (the service returns data, not sentences)."""

from __future__ import annotations

from batcher_gui.domain.money import usd
from batcher_gui.domain.outcomes import (
    BudgetCap,
    BudgetExceeded,
    CancelOutcome,
    DeliveryOutcome,
    RetryOutcome,
    SubmitOutcome,
)
from batcher_gui.domain.wording import plural


def submitted(outcome: SubmitOutcome, label: str) -> str:
    if not outcome.sealed:
        return f"Run {label} has no draft waiting to be sent."
    return f"Sending {plural(len(outcome.sealed), 'batch', 'batches')} of run {label} now."


def budget_question(refusal: BudgetExceeded) -> str:
    """Over budget: the figures, then the question."""
    if refusal.cap is BudgetCap.RUN:
        why = (f"This run may cost up to {usd(refusal.run_high_usd)}, more than the "
               f"{usd(refusal.cap_usd)} per run that profile “{refusal.profile}” allows.")
    else:
        why = (f"{usd(refusal.month_spent_usd)} has been spent on profile “{refusal.profile}” "
               f"in {refusal.month or 'this month'}; this run may add up to "
               f"{usd(refusal.run_high_usd)}, past its monthly cap of {usd(refusal.cap_usd)}.")
    return f"{why}\n\nSend it anyway?"


def cancel_question(label: str, unanswered: int) -> str:
    return (f"Cancel run {label}? Its {plural(unanswered, 'prompt')} without an answer yet "
            "will not be answered. Answers that have arrived are kept, and you can send the "
            "cancelled prompts again later (Retry Failed).")


def cancel_batch_question(batch_id: int, requests: int) -> str:
    return (f"Cancel batch #{batch_id} ({plural(requests, 'request')})? What finished before "
            "is kept.")


def delete_question(label: str, prompts: int) -> str:
    return (f"Delete run {label} with its {plural(prompts, 'prompt')} and their answers? This "
            "cannot be undone.")


def cancelled(outcome: CancelOutcome) -> str:
    if not outcome.batches:
        return "Nothing to cancel: every batch has ended."
    parts = []
    if outcome.cancelled:
        parts.append(f"{plural(len(outcome.cancelled), 'batch', 'batches')} cancelled at once "
                     f"({plural(sum(b.prompts for b in outcome.cancelled), 'prompt')})")
    if outcome.requested:
        parts.append(f"{plural(len(outcome.requested), 'batch', 'batches')} at the provider "
                     "asked to stop (what finished before is kept)")
    return "Cancelled: " + "; ".join(parts) + "."


def retried(outcome: RetryOutcome) -> str:
    if not outcome.prompts_to_send:
        text = "Nothing failed that can be sent again."
    else:
        text = f"{plural(outcome.prompts_to_send, 'prompt')} will be sent again."
    if outcome.delivery_failures_left:
        text += (f" {plural(outcome.delivery_failures_left, 'answer')} whose delivery failed "
                 "were left alone (they are paid for: Delivery… → Redeliver).")
    return text


def delivery_set(outcome: DeliveryOutcome) -> str:
    if outcome.kind == "folder":
        return f"Answers of run {outcome.run_label} will be written to {outcome.target}."
    if outcome.kind == "webhook":
        return f"Answers of run {outcome.run_label} will be sent to {outcome.target}."
    return f"Answers of run {outcome.run_label} stay in this workspace (no delivery)."
