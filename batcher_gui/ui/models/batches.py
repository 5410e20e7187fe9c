"""The batches table of the selected run (or of all runs): state, progress, what it waits for."""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Any

from PySide6.QtCore import Qt

from batcher_gui.domain.models import Batch
from batcher_gui.domain.progress import drafts_due
from batcher_gui.domain.states import BatchState, PromptState
from batcher_gui.ui.base.theme import age, state_colour, state_label, when
from batcher_gui.ui.models.table import ItemTableModel, ProgressRole

P = PromptState
COL_ID, COL_STATE, COL_RUN, COL_PROVIDER, COL_MODEL, COL_ENDPOINT, COL_REQUESTS, \
    COL_PROVIDER_BATCH, COL_AGE, COL_NOTE = range(10)


def draft_note(batch: Batch, quiet_seconds: float) -> str:
    """What a draft waits for, and when it goes without a Submit Now."""
    due = drafts_due(batch.updated_at, quiet_seconds)
    if due is None:
        return "waits for Submit Now (Ctrl+Return)"
    if due <= time.time():
        return "goes out now"
    return (f"goes out at {when(due)} unless more prompts arrive; Submit Now "
            "(Ctrl+Return) sends it at once")


class BatchesModel(ItemTableModel[Batch]):
    """See the module docstring."""

    HEADERS = ("#", "State", "Run", "Provider", "Model", "Endpoint", "Requests",
               "Provider batch", "Age", "Waiting / problem")
    NUMERIC = frozenset({COL_ID, COL_REQUESTS})

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        #: Each profile id's name and provider in words ("claude (Anthropic)").
        self.providers: dict[int, str] = {}
        #: A draft that has not grown for this long is sealed and sent (workspace setting).
        self.quiet_seconds = 600.0

    def key(self, item: Batch) -> Hashable:
        return item.id

    def note(self, item: Batch) -> str:
        """What the "Waiting / problem" cell says."""
        text = item.problem or item.wait_reason or item.error or ""
        if not text and item.state is BatchState.DRAFT and item.request_count:
            return draft_note(item, self.quiet_seconds)
        return text

    def cell(self, item: Batch, column: int, role: int) -> Any:
        if role == ProgressRole and column == COL_REQUESTS and item.counts_total:
            done = item.counts_completed or 0
            failed = item.counts_failed or 0
            rest = max(item.counts_total - done - failed, 0)
            return [(P.PROCESSED, done), (P.FAILED, failed), (P.PENDING, rest)]
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == COL_STATE:
                return state_colour(item.state)
            if column == COL_NOTE and (item.problem or item.error):
                return state_colour("failed")
            return None
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        if column == COL_ID:
            return str(item.id)
        if column == COL_STATE:
            return state_label(item.state)
        if column == COL_RUN:
            return f"#{item.run_id}" if item.run_id else ""
        if column == COL_PROVIDER:
            return self.providers.get(item.profile_id, "?")
        if column == COL_MODEL:
            return item.model
        if column == COL_ENDPOINT:
            return item.endpoint.removeprefix("/v1/")
        if column == COL_REQUESTS:
            if item.counts_total:
                done = (item.counts_completed or 0) + (item.counts_failed or 0)
                return f"{done:,} / {item.counts_total:,}"
            return f"{item.request_count:,}"
        if column == COL_PROVIDER_BATCH:
            return item.provider_batch_id or ""
        if column == COL_AGE:
            return age(item.created_at)
        if column == COL_NOTE:
            return self.note(item)
        return None
