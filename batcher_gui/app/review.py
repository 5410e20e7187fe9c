"""The reviewer's commands: labels and notes on prompts, label names (mixed into Service).

Each change returns the marks it replaced; :meth:`ReviewActions.restore_marks` puts them back
(the window's undo). Bad input (a key outside 1-9, an unnamed label, an unknown custom_id) is
refused with a message and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from batcher_gui.app.parts import ServiceParts
from batcher_gui.domain.review import ReviewMark, label_by_name
from batcher_gui.storage.review import Review

T = TypeVar("T")


class ReviewActions(ServiceParts):
    """Labels and notes (see the module docstring)."""

    @property
    def _review(self) -> Review:
        return Review(self.store.db)

    async def label_names(self) -> dict[int, str]:
        """Label names by key (1-9)."""
        return await self.read(self._review.label_names)

    async def name_label(self, key: int, name: str) -> dict[int, str]:
        """Name or rename label ``key``; returns every name."""
        return await self.write(self._review.name_label, key, name)

    async def remove_label(self, key: int) -> int:
        """Delete label ``key`` (its prompts lose it); returns how many had it."""
        return await self.write(self._review.remove_label, key)

    async def set_label(self, prompt_ids: Sequence[int], key: int | None) -> list[ReviewMark]:
        """Label these prompts (None: no label); returns what they had (for an undo)."""
        return await self.write(self._review.set_label, list(prompt_ids), key)

    async def set_note(self, prompt_ids: Sequence[int], note: str | None) -> list[ReviewMark]:
        """Note on these prompts (empty: none); returns what they had (for an undo)."""
        return await self.write(self._review.set_note, list(prompt_ids), note)

    async def restore_marks(self, marks: Sequence[ReviewMark]) -> None:
        """Put labels and notes back as they were (an undo)."""
        await self.write(self._review.restore, list(marks))

    async def label_by_custom_id(self, run_ref: int | str, custom_id: str,
                                 label: str) -> tuple[int, int | None]:
        """Label a run's prompt found by custom_id, the label given by name or key ("none"
        clears). Returns (prompt id, label key)."""
        run = await self.read(self.store.find_run, run_ref)
        key = label_by_name(await self.label_names(), label)
        prompt_id = await self.read(self._review.find_prompt, run.id, custom_id)
        await self.set_label([prompt_id], key)
        return prompt_id, key

    async def note_by_custom_id(self, run_ref: int | str, custom_id: str, note: str) -> int:
        run = await self.read(self.store.find_run, run_ref)
        prompt_id = await self.read(self._review.find_prompt, run.id, custom_id)
        await self.set_note([prompt_id], note)
        return prompt_id

    async def label_counts(self) -> dict[int | None, dict[int, int]]:
        """Labelled prompts by run and label key."""
        return await self.read(self._review.label_counts)

    async def reviewed(self, run_ref: int | str) -> list[tuple[str, str, str]]:
        """(custom_id, label name, note) of a run's labelled or noted prompts."""
        run = await self.read(self.store.find_run, run_ref)
        names = await self.label_names()
        return [(cid, names.get(label, str(label)) if label is not None else "", note or "")
                for cid, label, note in await self.read(self._review.reviewed, run.id)]
