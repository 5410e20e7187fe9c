"""The reviewer's labels and notes, and the facets' counts (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from batcher_gui.domain.errors import InvalidInput
from batcher_gui.domain.states import PromptState
from batcher_gui.domain.views import CheckState

#: Label keys: the number keys 1-9 put them on a prompt (0 clears).
LABEL_KEYS = range(1, 10)
#: A label name is short: it fits a table cell and a facet's line.
MAX_LABEL_NAME = 40
#: A note is a reviewer's remark, not a document.
MAX_NOTE = 10_000


def check_label_key(key: int) -> int:
    """``key`` if it is a label key (1-9); else a clear error."""
    if not isinstance(key, int) or isinstance(key, bool) or key not in LABEL_KEYS:
        raise InvalidInput(f"label keys are 1 to 9, not {key!r}")
    return key


def clean_label_name(name: str) -> str:
    """A label's name, trimmed; empty, too long or multi-line names are refused."""
    text = " ".join(name.split())
    if not text:
        raise InvalidInput("a label needs a name (to remove one, delete it instead)")
    if len(text) > MAX_LABEL_NAME:
        raise InvalidInput(f"label names are at most {MAX_LABEL_NAME} characters; "
                           f"{text[:20]!r}… has {len(text)}")
    return text


def clean_note(note: str | None) -> str | None:
    """A note as stored: trimmed, None for an empty one (which clears it)."""
    if note is None:
        return None
    text = note.strip()
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"a note is at most {MAX_NOTE:,} characters; this one has "
                           f"{len(text):,}")
    return text or None


def label_by_name(names: Mapping[int, str], ref: str) -> int | None:
    """The key of the label ``ref`` names: its name (any case) or its key as text; "none",
    "-" or "" mean no label (None). Unknown ones are refused, listing those there are."""
    text = ref.strip()
    if text.lower() in ("", "-", "none", "0"):
        return None
    if text.isdigit() and int(text) in names:
        return int(text)
    for key, name in names.items():
        if name.casefold() == text.casefold():
            return key
    known = ", ".join(f"{k} {n}" for k, n in sorted(names.items())) or "none yet"
    raise InvalidInput(f"no label {text!r} (labels: {known})")


@dataclass(frozen=True, slots=True)
class ReviewMark:
    """A prompt's label and note: what an undo puts back."""

    prompt_id: int
    label: int | None
    note: str | None


@dataclass(slots=True)
class FacetCounts:
    """Prompts by each facet's values, each counted under every filter but its own.

    Labels are keyed 1-9 with 0 for "no label"; a finish reason or error kind of "" counts
    prompts without one; ``notes`` is (with a note, without).
    """

    states: dict[PromptState, int] = field(default_factory=dict)
    models: dict[str, int] = field(default_factory=dict)
    checks: dict[CheckState, int] = field(default_factory=dict)
    labels: dict[int, int] = field(default_factory=dict)
    notes: tuple[int, int] = (0, 0)
    finish_reasons: dict[str, int] = field(default_factory=dict)
    error_kinds: dict[str, int] = field(default_factory=dict)
