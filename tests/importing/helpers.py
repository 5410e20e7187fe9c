"""Helpers shared by the importing tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from batcher_gui.domain.errors import LineError
from batcher_gui.domain.models import ImportOptions, ParsedRequest, ProfileLimits
from batcher_gui.importing import RequestReader

#: The ``write`` fixture: write bytes (or UTF-8 text) to a file in tmp_path, return its path.
Writer = Callable[[str, bytes | str], Path]

CHAT_BODY: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "Hello"}],
}


def request(
    custom_id: Any = "r1",
    url: Any = "/v1/chat/completions",
    body: Any = None,
    method: Any = "POST",
) -> dict[str, Any]:
    """A batch input line as a dict (valid unless told otherwise)."""
    return {
        "custom_id": custom_id,
        "method": method,
        "url": url,
        "body": CHAT_BODY if body is None else body,
    }


def line(obj: Any) -> bytes:
    """One JSONL line (with its newline)."""
    return orjson.dumps(obj) + b"\n"


def read_all(
    path: Path, limits: ProfileLimits | None = None, **options: Any
) -> list[ParsedRequest | LineError]:
    """Every item a RequestReader yields for ``path``."""
    return list(RequestReader(path, ImportOptions(**options), limits or ProfileLimits()))


def split(items: list[ParsedRequest | LineError]) -> tuple[list[ParsedRequest], list[LineError]]:
    """(requests, errors), checking nothing else slipped in."""
    requests = [i for i in items if isinstance(i, ParsedRequest)]
    errors = [i for i in items if isinstance(i, LineError)]
    assert len(requests) + len(errors) == len(items)
    return requests, errors
