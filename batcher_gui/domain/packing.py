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
        for draft in existing:
            current = self._open.get(draft.key)
            # Fill the emptiest existing draft of each group first.
            if current is None or draft.count < current.count:
                self._open[draft.key] = draft

    @property
    def last(self) -> OpenDraft:
        """The draft the previous :meth:`place` used."""
        assert self._last is not None
        return self._last

    def place(self, key: GroupKey, line_bytes: int) -> int:
        """Put one request of ``line_bytes`` in a draft of group ``key``; return the batch id."""
        draft = self._open.get(key)
        if (
            draft is None
            or draft.count >= self._max_requests
            or draft.bytes + line_bytes > self._max_bytes
        ):
            draft = OpenDraft(self._new_batch_id(key), key, 0, 0, created=True)
            self._open[key] = draft
        if draft.added == 0:
            self.touched.append(draft)
        draft.count += 1
        draft.bytes += line_bytes
        draft.added += 1
        self._last = draft
        return draft.batch_id
