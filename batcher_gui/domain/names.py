"""Run names: what a person may call a run, and the name a run gets from its file.

A name is shown in lists, titles, logs and terminals and becomes part of delivery file
names, so it is kept short and free of characters that act instead of showing themselves.
"""

from __future__ import annotations

from batcher_gui.domain.errors import InvalidInput
from batcher_gui.domain.wording import is_hidden, visible

#: Longest run name, in characters (after trimming the spaces around it).
MAX_RUN_NAME = 200
#: The name of a run whose file name gives none.
FALLBACK_RUN_NAME = "import"


def check_run_name(name: str) -> str:
    """``name`` trimmed, or InvalidInput saying what is wrong with it (nothing is changed)."""
    trimmed = name.strip()
    if not trimmed:
        raise InvalidInput("a run name cannot be empty; leave it out to use the file's name")
    if len(trimmed) > MAX_RUN_NAME:
        raise InvalidInput(f"a run name can be at most {MAX_RUN_NAME} characters; this one has "
                           f"{len(trimmed):,}")
    for index, char in enumerate(trimmed, 1):
        if _refused(char):
            shown = _LAYOUT.get(char) or visible(char)
            raise InvalidInput(
                "a run name cannot contain control or invisible formatting characters "
                f"(escape sequences, text-direction overrides, line breaks): {shown} at "
                f"character {index:,}")
    return trimmed


#: Line breaks and tabs: fine in text, not in a one-line name.
_LAYOUT = {"\n": "\\n", "\t": "\\t"}


def _refused(char: str) -> bool:
    return char in _LAYOUT or is_hidden(char)


def run_name_from_file(stem: str) -> str:
    """The name a run gets from its file's name (without extension): hidden characters left
    out, shortened to :data:`MAX_RUN_NAME` characters; never empty."""
    kept = "".join(c for c in stem if not _refused(c))
    return kept.strip()[:MAX_RUN_NAME].strip() or FALLBACK_RUN_NAME
