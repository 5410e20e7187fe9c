"""What a search box's text means: terms for the full-text index, and where they match in a
text (the table and the detail pane highlight them). Pure: no I/O.

With the search index (storage/search.py) the user types words: each is the prefix of a word
(``clas`` finds "classify", not "subclass"), "quoted words" a phrase; case and accents do not
matter. Without the index a search is a substring of the raw request or response.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

_WORD = re.compile(r"\w+")


@dataclasses.dataclass(frozen=True, slots=True)
class Term:
    """One term: its words (more than one: a phrase, or something like ``request-42`` that
    the index holds as two words), whether the last word is a prefix (typed words are, quoted
    phrases not), and the term as typed (the substring the scan looks for)."""

    words: tuple[str, ...]
    prefix: bool
    raw: str


@dataclasses.dataclass(frozen=True, slots=True)
class SearchTerms:
    terms: tuple[Term, ...]

    @property
    def match(self) -> str:
        """The FTS5 MATCH expression (every term must be there).

        >>> parse('clas "omega alpha" request-42').match
        '"clas"* "omega alpha" "request 42"*'
        """
        return " ".join('"' + " ".join(t.words) + '"' + ("*" if t.prefix else "")
                        for t in self.terms)

    @property
    def substrings(self) -> list[str]:
        return [t.raw for t in self.terms]


def _fold(text: str) -> str:
    """Lower case without accents (as the index's tokenizer folds words)."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def parse(text: str) -> SearchTerms | None:
    """The terms of a search (None: nothing searchable, e.g. only punctuation)."""
    terms: list[Term] = []
    for n, part in enumerate(text.split('"')):
        quoted = n % 2 == 1  # between a pair of quotes (an unclosed one runs to the end)
        for raw in [part] if quoted else part.split():
            words = tuple(_fold(w) for w in _WORD.findall(raw))
            if words:
                terms.append(Term(words, not quoted, raw.strip()))
    return SearchTerms(tuple(terms)) if terms else None


def match_spans(text: str, query: str, *, words: bool = True) -> list[tuple[int, int]]:
    """Where ``query`` matches in ``text``: (start, end) character spans, sorted, merged.

    ``words``: the index's meaning (each term's words at word starts, the last a prefix);
    else the scan's (the query a case-insensitive substring).
    """
    if not query.strip():
        return []
    spans: list[tuple[int, int]] = []
    if not words:
        low, needle = text.lower(), query.lower()
        start = low.find(needle)
        while start >= 0:
            spans.append((start, start + len(needle)))
            start = low.find(needle, start + len(needle))
        return spans
    terms = parse(query)
    if terms is None:
        return []
    found = [(m.start(), m.end(), _fold(m.group())) for m in _WORD.finditer(text)]
    for term in terms.terms:
        n = len(term.words)
        for i in range(len(found) - n + 1):
            window = found[i:i + n]
            whole = all(w[2] == t for w, t in zip(window[:-1], term.words[:-1], strict=True))
            last, want = window[-1][2], term.words[-1]
            if whole and (last.startswith(want) if term.prefix else last == want):
                # A prefix: just the typed part lights up ("clas" in "classify").
                end = window[-1][0] + len(want) if term.prefix else window[-1][1]
                spans.append((window[0][0], min(end, window[-1][1])))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


@dataclasses.dataclass(frozen=True, slots=True)
class SearchStatus:
    """The index as the status bar says it: "Search index: 312 MB, 100 %"."""

    enabled: bool
    indexed: int
    total: int
    bytes: int
    #: False on a PostgreSQL workspace: the index is SQLite's (FTS5); searches scan there.
    available: bool = True

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else int(100 * self.indexed / self.total)

    def words(self) -> str:
        if not self.available:
            return "Search index: not available on a PostgreSQL workspace"
        if not self.enabled:
            return "Search index: off"
        return f"Search index: {self.bytes / 1e6:,.0f} MB, {self.percent} %"
