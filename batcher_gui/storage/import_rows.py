"""Turning parsed requests into prompt rows and draft batches (no database access).

Kept apart from the writer so that the whole CPU-heavy half of an import — reading, validating,
numbering and packing — can run in a second process while this one only writes rows (see
:mod:`batcher_gui.engine.run_import`). Row ids are assigned here: the import holds the
workspace's import lock, so the ids handed out at its start cannot be taken by anyone else.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

from batcher_gui.domain.errors import LineError
from batcher_gui.domain.models import ParsedRequest, ProfileLimits
from batcher_gui.domain.packing import DraftPacker, GroupKey, LineSizer, OpenDraft
from batcher_gui.domain.states import PromptState

#: Column order of the rows a RowBuilder makes (the writer's INSERT uses the same order).
ROW_COLUMNS = ("id", "run_id", "batch_id", "line_no", "user_custom_id", "endpoint", "model",
               "state", "request_bytes", "body")
CHUNK = 5000
_PENDING = PromptState.PENDING.value

Item = ParsedRequest | tuple[int, str, str, str, bytes] | LineError


@dataclass(frozen=True, slots=True)
class BuildStart:
    """Where numbering starts and which drafts are open, read inside the import transaction."""

    run_id: int
    next_prompt_id: int
    next_batch_id: int
    limits: ProfileLimits
    open_drafts: tuple[OpenDraft, ...] = ()


@dataclass(slots=True)
class BuildResult:
    """What a build made, for the writer to record at the end of the import."""

    count: int = 0
    touched: list[OpenDraft] = field(default_factory=list)
    created: list[tuple[int, GroupKey]] = field(default_factory=list)


class RowBuilder:
    """Numbers requests, packs them into drafts and yields prompt rows a chunk at a time."""

    def __init__(self, start: BuildStart) -> None:
        self.start = start
        self.result = BuildResult()
        self._next_batch_id = start.next_batch_id
        self._packer = DraftPacker(start.limits, list(start.open_drafts), self._new_draft)
        self._handed_out = 0

    def new_drafts(self) -> list[tuple[int, GroupKey]]:
        """Drafts created since the last call (the writer inserts them before their rows)."""
        fresh = self.result.created[self._handed_out:]
        self._handed_out = len(self.result.created)
        return fresh

    def _new_draft(self, key: GroupKey) -> int:
        batch_id = self._next_batch_id
        self._next_batch_id += 1
        self.result.created.append((batch_id, key))
        return batch_id

    def rows(self, items: Iterable[Item],
             on_error: Callable[[LineError], bool] | None = None
             ) -> Generator[list[Any], None, None]:
        """Yield lists of up to CHUNK rows (see ROW_COLUMNS).

        Args:
            on_error: called for each LineError; once it returns False, later requests are only
                read, not turned into rows (an all-or-nothing import that already failed).
        """
        add = self._packer.add
        run_id = self.start.run_id
        sizer = LineSizer(self.start.next_prompt_id)
        size = sizer.size
        rows: list[Any] = []
        append = rows.append
        adding = True
        for item in items:
            if isinstance(item, LineError):
                adding = on_error(item) if on_error is not None else False
                continue
            if not adding:
                continue
            line_no, user_id, endpoint, model, body = item
            next_id = sizer.next_id
            line_bytes = size(endpoint, body)
            draft = add(endpoint, model, line_bytes)
            append((next_id, run_id, draft.batch_id, line_no, user_id, endpoint, model, _PENDING,
                    line_bytes, body))
            if len(rows) >= CHUNK:
                self.result.count += len(rows)
                yield rows
                rows = []
                append = rows.append
        if rows:
            self.result.count += len(rows)
            yield rows
        self.result.touched = list(self._packer.touched)
