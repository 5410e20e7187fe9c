"""Packing prompts into draft batches that respect a profile's limits (pure logic, no I/O).

The one definition of two rules every importer and the import preview share:

- how many bytes a prompt's line in the batch file takes (:class:`LineSizer`);
- which draft a prompt goes into: the open draft of its (endpoint, model) while one more line
  fits under the profile's request and byte limits, else a new draft (:class:`DraftPacker`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from batcher_gui.domain.models import LINE_OVERHEAD, ProfileLimits

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


class LineSizer:
    """Bytes of the line Batcher writes to a batch file for each prompt, numbered on from
    ``first_id``: ``{"custom_id":"p<id>","method":"POST","url":"<url>","body":<body>}\\n``.

    Counted without building the line: :data:`LINE_OVERHEAD`, ``p`` and the id's digits (one
    more at each power of ten), the url and the body.
    """

    __slots__ = ("_overhead", "_step", "next_id")

    def __init__(self, first_id: int) -> None:
        #: The id the next :meth:`size` call numbers.
        self.next_id = first_id
        digits = len(str(first_id))
        self._overhead = LINE_OVERHEAD + 1 + digits
        self._step = 10**digits

    def size(self, endpoint: str, body: bytes) -> int:
        """The next prompt's line size (its id is :attr:`next_id`, then one more)."""
        if self.next_id >= self._step:
            self._overhead += 1
            self._step *= 10
        self.next_id += 1
        return self._overhead + len(endpoint) + len(body)


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
        self._endpoint: str | None = None
        self._model: str | None = None
        for draft in existing:
            current = self._open.get(draft.key)
            # Fill the emptiest existing draft of each group first.
            if current is None or draft.count < current.count:
                self._open[draft.key] = draft

    @property
    def last(self) -> OpenDraft:
        """The draft the previous :meth:`add` (or :meth:`place`) used."""
        assert self._last is not None
        return self._last

    def add(self, endpoint: str, model: str, line_bytes: int) -> OpenDraft:
        """Put one request of ``line_bytes`` in a draft of (``endpoint``, ``model``); return
        the draft.

        Cheap enough to call once per row of a million-line import: a request of the same
        group as the previous one goes to the same draft without a lookup.
        """
        draft = self._last
        if draft is None or model != self._model or endpoint != self._endpoint:
            draft = self._open.get((endpoint, model))
            self._endpoint, self._model = endpoint, model
        if (
            draft is None
            or draft.count >= self._max_requests
            or draft.bytes + line_bytes > self._max_bytes
        ):
            draft = OpenDraft(self._new_batch_id((endpoint, model)), (endpoint, model), 0, 0,
                              created=True)
            self._open[draft.key] = draft
        if draft.added == 0:
            self.touched.append(draft)
        draft.count += 1
        draft.bytes += line_bytes
        draft.added += 1
        self._last = draft
        return draft

    def place(self, key: GroupKey, line_bytes: int) -> int:
        """Put one request of ``line_bytes`` in a draft of group ``key``; return the batch id."""
        return self.add(key[0], key[1], line_bytes).batch_id
