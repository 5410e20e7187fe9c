"""Packing prompts into draft batches that respect a profile's limits (pure logic, no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from batcher_gui.domain.models import ProfileLimits

#: Prompts in one batch share these: (endpoint, model). The profile is fixed per packer.
GroupKey = tuple[str, str]


@dataclass(slots=True)
class OpenDraft:
    """A draft batch being filled.

    Attributes:
        batch_id: the batch's id.
        key: (endpoint, model) of every prompt in it.
        count: requests in it.
        bytes: bytes of JSONL its requests make.
        created: True if this packer created it (False: it already existed).
        added: requests this packer put in it.
    """

    batch_id: int
    key: GroupKey
    count: int
    bytes: int
    created: bool = False
    added: int = 0


class DraftPacker:
    """Places each request in the open draft of its group, opening a new draft when full.

    A draft is full when one more request would exceed ``limits.max_requests`` or
    ``limits.max_batch_bytes``. Requests are placed in order, so a file's prompts stay together.
    """

    def __init__(
        self,
        limits: ProfileLimits,
        existing: Iterable[OpenDraft],
        new_batch_id: Callable[[GroupKey], int],
    ) -> None:
        self._max_requests = limits.max_requests
        self._max_bytes = limits.max_batch_bytes
        self._new_batch_id = new_batch_id
        self._open: dict[GroupKey, OpenDraft] = {}
        self.touched: list[OpenDraft] = []
        self._last: OpenDraft | None = None
        self._last_key: GroupKey | None = None
        for draft in existing:
            current = self._open.get(draft.key)
            # Fill the emptiest existing draft of each group first.
            if current is None or draft.count < current.count:
                self._open[draft.key] = draft

    def place(self, key: GroupKey | None, line_bytes: int) -> int:
        """Put one request of ``line_bytes`` in a draft of group ``key``; return the batch id.

        ``key=None`` means "the group of the previous call", which spares hot loops building a
        key per request.
        """
        draft = self._last if key is None else self._open.get(key)
        if (
            draft is None
            or draft.count >= self._max_requests
            or draft.bytes + line_bytes > self._max_bytes
        ):
            group = key if key is not None else self._last_key
            assert group is not None
            draft = OpenDraft(self._new_batch_id(group), group, 0, 0, created=True)
            self._open[group] = draft
        if draft.added == 0:
            self.touched.append(draft)
        draft.count += 1
        draft.bytes += line_bytes
        draft.added += 1
        self._last = draft
        self._last_key = draft.key
        return draft.batch_id
