"""Cursor pagination shared by the list endpoints.

The SDK's auto-pager asks for `?after=<id of the last item>` until `has_more` is false
or a page is empty; ignoring `after` or omitting `has_more` makes `async for` loop
forever. Cursors are resolved through the sequence number embedded in every id, so a
cursor stays valid even if its object was deleted in between.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import bad_request
from .store import Store


def int_param(query: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"Invalid '{name}': expected an integer.", name, "invalid_type") from None
    if not low <= value <= high:
        raise bad_request(
            f"Invalid '{name}': must be between {low} and {high}, got {value}.",
            name,
            "invalid_value",
        )
    return value


def cursor_page(
    rows: list[tuple[int, dict[str, Any]]],
    *,
    after: str | None,
    prefix: str,
    limit: int,
    desc: bool,
) -> dict[str, Any]:
    """One page of `rows` ((seq, object) pairs, ascending) as an OpenAI list object."""
    ordered = list(reversed(rows)) if desc else rows
    if after:
        cursor = Store.seq_of(after, prefix)
        if cursor is None:
            raise bad_request(f"Invalid 'after': '{after}' is not a valid cursor.", "after")
        ordered = [row for row in ordered if (row[0] < cursor if desc else row[0] > cursor)]
    data = [obj for _, obj in ordered[:limit]]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(ordered) > limit,
    }
