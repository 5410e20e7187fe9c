"""Numbers in words a person reads: "1 prompt", "1,200 prompts", "14 KB"."""

from __future__ import annotations


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``1 prompt``, ``0 prompts``, ``1,200 prompts`` (``nouns``: an irregular plural)."""
    word = noun if n == 1 else (nouns or noun + "s")
    return f"{n:,} {word}"


def size_text(n_bytes: int) -> str:
    """A file or request size: ``512 bytes``, ``14 KB``, ``1.4 MB``, ``2.1 GB``."""
    if n_bytes < 1000:
        return plural(n_bytes, "byte")
    for size, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "KB")):
        if n_bytes >= size:
            value = n_bytes / size
            return f"{value:,.1f} {unit}" if value < 10 else f"{value:,.0f} {unit}"
    raise AssertionError("unreachable")


def shortened(text: str, limit: int = 60) -> str:
    """``text`` for a message line: its start and its end when it is longer than ``limit``
    (a run name or path of thousands of characters must not flood a terminal)."""
    return text if len(text) <= limit else f"{text[:limit - 20]}…{text[-19:]}"
