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


def duration_words(seconds: float) -> str:
    """``45 s``, ``10 min``, ``2.5 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


#: Kept as they are by :func:`visible`: line breaks and tabs lay text out, and the zero-width
#: (non-)joiners are part of ordinary Persian, Indic and emoji text.
_KEPT = frozenset("\n\t\u200c\u200d")
#: Control (C0, DEL, C1), format (bidi overrides and marks, zero-width...), line and paragraph
#: separators, and lone surrogates (undecodable bytes of a file name).
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def is_hidden(char: str) -> bool:
    """Whether ``char`` acts on a terminal or reorders/hides text instead of showing itself:
    escape sequences (ESC), bidi overrides (U+202E), marks (U+200F), DEL, C1 controls..."""
    import unicodedata

    return char not in _KEPT and unicodedata.category(char) in _HIDDEN_CATEGORIES


def _escaped(char: str) -> str:
    point = ord(char)
    if point <= 0xFF:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"


def visible(text: str) -> str:
    """``text`` with every hidden character (see :func:`is_hidden`) written out as an escape
    (``\\x1b``, ``\\u202e``), for printing text from users, files or providers to a terminal:
    it can then neither drive the terminal nor disguise itself."""
    if text.isprintable():  # the usual case, at C speed: nothing hidden
        return text
    return "".join(_escaped(c) if is_hidden(c) else c for c in text)


def shortened(text: str, limit: int = 60) -> str:
    """``text`` for a message line: its start and its end when it is longer than ``limit``
    (a run name or path of thousands of characters must not flood a terminal)."""
    return text if len(text) <= limit else f"{text[:limit - 20]}…{text[-19:]}"


#: What a profile's kind says to a person: the provider (and wire format) its batches go to.
PROVIDER_KINDS = {"openai": "OpenAI", "openai-compatible": "OpenAI-compatible",
                  "azure": "Azure OpenAI", "anthropic": "Anthropic"}


def provider_words(profile: str, kind: str) -> str:
    """A profile and the provider behind it, e.g. ``claude (Anthropic)``, ``openai (OpenAI)``
    (a kind this version does not know is shown as it is stored)."""
    return f"{profile} ({PROVIDER_KINDS.get(kind, kind)})"


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type ("object", "array", ...), for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
