"""Comparing two runs: how prompts are paired, when two answers agree, a word-level diff.

Pure rules, no I/O: :mod:`batcher_gui.storage.compare` reads the runs and applies them.

Pairing (the first rule that fits): by the user's custom_id when each run's custom_ids are
distinct and some are shared; else by source line when both runs come from files of the same
length; else by identical request text (the request body without its ``model``), duplicates
paired in order (the first "hello" of A with the first "hello" of B, and so on).

Agreement is counted over pairs where both sides have an answer: exact (the same text), after
normalising (trimmed, whitespace collapsed, case-folded), and, for pairs whose answers are both
JSON objects, key by key (per top-level key: how many of the pairs having it on either side
hold the same value on both).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntFlag, StrEnum
from typing import Any

from batcher_gui.domain.states import PromptState
from batcher_gui.domain.views import PromptDetail, PromptRow


class PairRule(StrEnum):
    """How the prompts of two runs were paired."""

    CUSTOM_ID = "custom_id"
    LINE = "line"
    TEXT = "text"

    @property
    def words(self) -> str:
        return {PairRule.CUSTOM_ID: "by custom_id", PairRule.LINE: "by source line",
                PairRule.TEXT: "by identical request text (duplicates paired in order)"}[self]


class PairFlag(IntFlag):
    """What one pair is (stored per pair, so each filter is a bit test)."""

    NONE = 0
    #: Both sides have an answer (only those agree or differ).
    ANSWERED = 1
    SAME = 2
    #: Same after trimming, collapsing whitespace and case-folding.
    NORMALISED_SAME = 4
    ONLY_A = 8
    ONLY_B = 16
    #: Either side failed or expired.
    FAILED = 32
    #: Both answers are JSON objects (compared key by key too).
    JSON = 64


class CompareFilter(StrEnum):
    """The compare view's filters (and ``batcher compare --only``)."""

    ALL = "all"
    DIFFERENT = "different"
    SAME = "same"
    ONLY_A = "only-a"
    ONLY_B = "only-b"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return {CompareFilter.ALL: "All", CompareFilter.DIFFERENT: "Different",
                CompareFilter.SAME: "Same", CompareFilter.ONLY_A: "Only in A",
                CompareFilter.ONLY_B: "Only in B",
                CompareFilter.FAILED: "Failed in either"}[self]

    def matches(self, flags: int) -> bool:
        """Whether a pair with these flags is shown under this filter."""
        f = PairFlag
        if self is CompareFilter.ALL:
            return True
        if self is CompareFilter.DIFFERENT:
            return bool(flags & f.ANSWERED) and not flags & f.SAME
        if self is CompareFilter.SAME:
            return bool(flags & f.SAME)
        if self is CompareFilter.ONLY_A:
            return bool(flags & f.ONLY_A)
        if self is CompareFilter.ONLY_B:
            return bool(flags & f.ONLY_B)
        return bool(flags & f.FAILED)

    def sql(self, column: str = "flags") -> str:
        """The same test as :meth:`matches`, as an SQL condition on ``column``."""
        f = PairFlag
        return {
            CompareFilter.ALL: "1 = 1",
            CompareFilter.DIFFERENT: f"({column} & {int(f.ANSWERED | f.SAME)}) = {int(f.ANSWERED)}",
            CompareFilter.SAME: f"({column} & {int(f.SAME)}) != 0",
            CompareFilter.ONLY_A: f"({column} & {int(f.ONLY_A)}) != 0",
            CompareFilter.ONLY_B: f"({column} & {int(f.ONLY_B)}) != 0",
            CompareFilter.FAILED: f"({column} & {int(f.FAILED)}) != 0",
        }[self]


_FAILED_STATES = frozenset({PromptState.FAILED.value, PromptState.EXPIRED.value})
_ANSWERED, _SAME, _NORMALISED_SAME, _ONLY_A, _ONLY_B, _FAILED, _JSON = (
    int(PairFlag.ANSWERED), int(PairFlag.SAME), int(PairFlag.NORMALISED_SAME),
    int(PairFlag.ONLY_A), int(PairFlag.ONLY_B), int(PairFlag.FAILED), int(PairFlag.JSON))


def choose_rule(*, ids_distinct: bool, shared_ids: int, same_length: bool) -> PairRule:
    """The pairing rule for two runs (see the module docstring)."""
    if ids_distinct and shared_ids > 0:
        return PairRule.CUSTOM_ID
    if same_length:
        return PairRule.LINE
    return PairRule.TEXT


def request_key(body: Any) -> bytes:
    """What pairs requests by text: the parsed body without ``model``, keys sorted."""
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k != "model"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode()


def normalised(text: str) -> str:
    """An answer trimmed, its whitespace collapsed and case-folded."""
    return " ".join(text.split()).casefold()


_FENCE = re.compile(r"\A```[A-Za-z0-9_-]*\s*\n(.*)\n```\s*\Z", re.DOTALL)


def json_object(text: str) -> dict[str, Any] | None:
    """The answer as a JSON object (also inside a Markdown code fence), else None."""
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1).strip()
    if not stripped.startswith("{"):
        return None
    try:
        value = json.loads(stripped)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to read
        return None
    return value if isinstance(value, dict) else None


def pair_flags(a_state: str | None, a_answer: str | None, b_state: str | None,
               b_answer: str | None) -> tuple[int, dict[str, Any] | None, dict[str, Any] | None]:
    """A pair's flags (None state: that side is missing) and, when both answers are JSON
    objects, both objects (for key-by-key agreement).

    An answer of None means no response is stored (pending...); '' is an empty answer, which
    agrees with another empty one. A pair with a failed side neither agrees nor differs.
    """
    flags = 0  # plain ints: IntFlag arithmetic costs a second per million pairs
    if a_state is None:
        flags |= _ONLY_B
    if b_state is None:
        flags |= _ONLY_A
    if a_state in _FAILED_STATES or b_state in _FAILED_STATES:
        # A failed prompt may keep the provider's error body: that is not an answer.
        return flags | _FAILED, None, None
    if a_answer is None or b_answer is None or a_state is None or b_state is None:
        return flags, None, None
    flags |= _ANSWERED
    if a_answer == b_answer:
        flags |= _SAME | _NORMALISED_SAME
    elif normalised(a_answer) == normalised(b_answer):
        flags |= _NORMALISED_SAME
    # Parsed only when it may be JSON (most answers are prose); the same text once.
    a_json = json_object(a_answer) if "{" in a_answer[:100] else None
    b_json = (a_json if a_answer == b_answer else json_object(b_answer)) \
        if a_json is not None else None
    if a_json is not None and b_json is not None:
        return flags | _JSON, a_json, b_json
    return flags, None, None


@dataclass
class JsonAgreement:
    """Key-by-key agreement of JSON answers, counted pair by pair."""

    pairs: int = 0
    #: key -> [pairs agreeing on it, pairs where either side has it]
    keys: dict[str, list[int]] = field(default_factory=dict)

    def add(self, a: Mapping[str, Any], b: Mapping[str, Any]) -> None:
        self.pairs += 1
        for key in a.keys() | b.keys():
            counts = self.keys.setdefault(key, [0, 0])
            counts[1] += 1
            if key in a and key in b and a[key] == b[key]:
                counts[0] += 1

    def per_key(self) -> tuple[tuple[str, int, int], ...]:
        """(key, agreeing, compared), the most compared first."""
        return tuple(sorted(((k, v[0], v[1]) for k, v in self.keys.items()),
                            key=lambda t: (-t[2], t[0])))


@dataclass(frozen=True, slots=True)
class RunSide:
    """One run's figures at the top of a compare."""

    run_id: int
    label: str
    prompts: int
    answered: int
    failed: int
    input_tokens: int
    output_tokens: int
    cost: float | None
    models: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CompareSummary:
    """What a compare found (counts of pairs, agreement), for the header and the CLI."""

    rule: PairRule
    paired: int
    only_a: int
    only_b: int
    #: Pairs made from keys more than one prompt of a run shares (text rule: in order).
    duplicates: int
    answered: int
    same: int
    normalised_same: int
    failed: int
    json_pairs: int = 0
    json_keys: tuple[tuple[str, int, int], ...] = ()
    counts: Mapping[CompareFilter, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.paired + self.only_a + self.only_b

    @property
    def json_agreeing(self) -> tuple[int, int]:
        """(key values agreeing, key values compared) over every JSON pair."""
        return (sum(k[1] for k in self.json_keys), sum(k[2] for k in self.json_keys))

    def lines(self) -> list[str]:
        """The summary in words, one line each (the CLI prints these)."""
        out = [f"Paired {self.rule.words}: {self.paired:,} pairs, {self.only_a:,} only in A, "
               f"{self.only_b:,} only in B"
               + (f", {self.duplicates:,} paired among duplicates" if self.duplicates else "")]
        out.append(f"Agreement over {self.answered:,} answered pairs: "
                   f"exact {share(self.same, self.answered)} ({self.same:,}), "
                   f"normalised {share(self.normalised_same, self.answered)} "
                   f"({self.normalised_same:,}); failed in either: {self.failed:,}")
        if self.json_pairs:
            agree, compared = self.json_agreeing
            out.append(f"JSON answers: {self.json_pairs:,} pairs, key by key "
                       f"{share(agree, compared)} ({agree:,} of {compared:,} values)")
            for key, agreeing, total in self.json_keys[:20]:
                out.append(f"  {key}: {share(agreeing, total)} ({agreeing:,} of {total:,})")
            if len(self.json_keys) > 20:
                out.append(f"  … and {len(self.json_keys) - 20} more keys")
        return out


def share(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage ("—" of nothing)."""
    return f"{100 * part / whole:.1f}%" if whole else "—"


@dataclass(frozen=True, slots=True)
class PairRow:
    """One row of the compare table: the pair's position, flags and both sides (None: not
    in that run), with each side's cost (None: unknown)."""

    pos: int
    flags: int
    a: PromptRow | None
    b: PromptRow | None
    a_cost: float | None = None
    b_cost: float | None = None

    @property
    def key(self) -> str:
        side = self.a or self.b
        return side.custom_id if side is not None else ""


@dataclass(frozen=True, slots=True)
class PairDetail:
    """A pair in full, for the detail pane: both prompts and both whole answers."""

    row: PairRow
    a: PromptDetail | None
    b: PromptDetail | None
    a_answer: str
    b_answer: str



# -- word-level diff ---------------------------------------------------------------------------
class DiffOp(StrEnum):
    SAME = "same"
    DELETED = "deleted"  # in A only
    INSERTED = "inserted"  # in B only


_TOKENS = re.compile(r"\s+|\w+|[^\w\s]")
#: Longer answers are diffed line by line first (difflib is quadratic at worst).
MAX_DIFF_TOKENS = 20_000


def word_diff(a: str, b: str) -> list[tuple[DiffOp, str]]:
    """A word-level diff of two answers: runs of (op, text) that rebuild A from the SAME and
    DELETED parts and B from the SAME and INSERTED ones."""
    ta, tb = _TOKENS.findall(a), _TOKENS.findall(b)
    if len(ta) + len(tb) > MAX_DIFF_TOKENS:
        ta, tb = a.splitlines(keepends=True), b.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    out: list[tuple[DiffOp, str]] = []

    def emit(op: DiffOp, parts: Iterable[str]) -> None:
        text = "".join(parts)
        if not text:
            return
        if out and out[-1][0] is op:
            out[-1] = (op, out[-1][1] + text)
        else:
            out.append((op, text))

    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            emit(DiffOp.SAME, ta[i1:i2])
        else:
            emit(DiffOp.DELETED, ta[i1:i2])
            emit(DiffOp.INSERTED, tb[j1:j2])
    return out
