"""Checks on answers: rules every answer of a run must meet, and what an answer gets against them.

A run's rules (:class:`CheckRules`) are any of: the answer parses as JSON; it matches a JSON
Schema (which implies JSON); it is one of a list of labels (exactly, or ignoring case and
surrounding whitespace); it matches a regular expression (``re.search``: anywhere in the
answer, anchor it with ``^...$`` for the whole); it has at most N characters. Rules are
validated when they are set (a schema that is not a valid JSON Schema, a regex that does not
compile: a clear :class:`InvalidInput`), and serialise to JSON (stored per run).

An answer is checked against them in this order — max chars, JSON, schema, labels, regex — and
fails on the first rule it breaks, saying which and where (``json: line 1 column 14: Expecting
',' delimiter``, ``schema: $.score: 'high' is not of type 'integer'``, ``max chars: 812 >
500``).

JSON in a Markdown fence: models asked for JSON often answer with it inside a ```` ```json ````
fence and nothing else. Such an answer passes the JSON and schema rules (the JSON inside is
what is parsed, positions still count from the answer's first line); anything outside the
fence other than whitespace makes it plain text, and the parse fails where that text starts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError, best_match

from batcher_gui.domain.errors import InvalidInput

#: A whole answer that is one fenced block: ```json (or ``` alone), the text, ```.
_FENCE = re.compile(r"\A\s*```[ \t]*(?:json|JSON)?[ \t]*\r?\n(?P<body>.*?)\r?\n?```\s*\Z",
                    re.DOTALL)
#: Longest quoted part of an answer or a value in a failure's detail.
_SHOWN = 60
#: Most labels a rule may list (a label list is for a handful of classes, not a dictionary).
MAX_LABELS = 1000


def _shown(text: str) -> str:
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "…")


@dataclass(frozen=True, slots=True)
class CheckResult:
    """An answer against its run's rules: passed, or failed with the rule and where."""

    passed: bool
    detail: str = ""


PASSED = CheckResult(True)


@dataclass(frozen=True, slots=True)
class CheckCounts:
    """A run's prompts by check result (not checked: no answer yet, failed at the provider,
    or not checked yet)."""

    passed: int = 0
    failed: int = 0
    not_checked: int = 0

    @property
    def checked(self) -> int:
        return self.passed + self.failed

    def words(self) -> str:
        """``412 ✓ 18 ✗`` (and ``· 70 not checked`` when some are)."""
        text = f"{self.passed:,} ✓ {self.failed:,} ✗"
        return text + (f" · {self.not_checked:,} not checked" if self.not_checked else "")


@dataclass(frozen=True, slots=True)
class CheckRules:
    """A run's rules on its answers (all off: no checks).

    Attributes:
        json: the answer parses as JSON (a lone ```json fence around it is allowed).
        schema: a JSON Schema the parsed answer must match (implies ``json``).
        labels: the answer is one of these.
        labels_loose: compare labels ignoring case and surrounding whitespace.
        regex: a regular expression found somewhere in the answer (``re.search``).
        max_chars: the answer has at most this many characters.
    """

    json: bool = False
    schema: Mapping[str, Any] | bool | None = None
    labels: tuple[str, ...] = ()
    labels_loose: bool = False
    regex: str | None = None
    max_chars: int | None = None
    _compiled: tuple[Any, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        validator = None
        if self.schema is not None:
            if not isinstance(self.schema, (dict, bool)):
                raise InvalidInput("schema: a JSON Schema is an object (or true/false), got "
                                   f"{type(self.schema).__name__}")
            cls = jsonschema.validators.validator_for(self.schema)
            try:
                cls.check_schema(self.schema)
            except SchemaError as exc:
                where = exc.json_path if exc.path else "the schema"
                raise InvalidInput(f"schema is not a valid JSON Schema: {where}: "
                                   f"{exc.message}") from None
            validator = cls(self.schema)
        pattern = None
        if self.regex is not None:
            if not self.regex:
                raise InvalidInput("regex: an empty pattern matches every answer; give one "
                                   "or leave the rule off")
            try:
                pattern = re.compile(self.regex)
            except re.error as exc:
                where = f" at position {exc.pos}" if exc.pos is not None else ""
                raise InvalidInput(f"regex {self.regex!r} does not compile: {exc.msg}{where}"
                                   ) from None
        if self.max_chars is not None and (isinstance(self.max_chars, bool)
                                           or not isinstance(self.max_chars, int)
                                           or self.max_chars < 0):
            raise InvalidInput(f"max chars must be a whole number ≥ 0, got {self.max_chars!r}")
        labels = tuple(self.labels)
        if any(not isinstance(label, str) for label in labels):
            raise InvalidInput("labels must be text")
        if len(labels) > MAX_LABELS:
            raise InvalidInput(f"at most {MAX_LABELS} labels, got {len(labels)}")
        if self.labels_loose:
            wanted = frozenset(label.strip().casefold() for label in labels)
        else:
            wanted = frozenset(labels)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "_compiled", (validator, pattern, wanted))

    @property
    def needs_json(self) -> bool:
        return self.json or self.schema is not None

    @property
    def empty(self) -> bool:
        """No rule at all: the run has no checks."""
        return not (self.needs_json or self.labels or self.regex is not None
                    or self.max_chars is not None)

    # -- evaluating ------------------------------------------------------------------------
    def evaluate(self, answer: str) -> CheckResult:
        """The answer against these rules: the first rule it breaks, or passed."""
        validator, pattern, wanted = self._compiled
        if self.max_chars is not None and len(answer) > self.max_chars:
            return CheckResult(False, f"max chars: {len(answer):,} > {self.max_chars:,}")
        if self.needs_json:
            parsed = _parse_json(answer)
            if isinstance(parsed, CheckResult):
                return parsed
            if validator is not None:
                error = best_match(validator.iter_errors(parsed))
                if error is not None:
                    return CheckResult(False, f"schema: {error.json_path}: {error.message}")
        if self.labels:
            key = answer.strip().casefold() if self.labels_loose else answer
            if key not in wanted:
                return CheckResult(False, f"labels: {_shown(answer)} is not one of "
                                          f"{_label_list(self.labels)}")
        if pattern is not None and pattern.search(answer) is None:
            return CheckResult(False, f"regex: no match for {self.regex}")
        return PASSED

    # -- words ---------------------------------------------------------------------------
    def describe(self) -> list[str]:
        """The rules in words, one a line (for the CLI and the dialog)."""
        lines = []
        if self.json and self.schema is None:
            lines.append("answer parses as JSON")
        if self.schema is not None:
            lines.append("answer is JSON matching the schema "
                         + _shown(json.dumps(self.schema, ensure_ascii=False)))
        if self.labels:
            how = " (ignoring case and spaces)" if self.labels_loose else ""
            lines.append(f"answer is one of {_label_list(self.labels)}{how}")
        if self.regex is not None:
            lines.append(f"answer matches the regex {self.regex}")
        if self.max_chars is not None:
            lines.append(f"answer has at most {self.max_chars:,} characters")
        return lines

    # -- storage -------------------------------------------------------------------------
    def to_json(self) -> str:
        data: dict[str, Any] = {}
        if self.json:
            data["json"] = True
        if self.schema is not None:
            data["schema"] = self.schema
        if self.labels:
            data["labels"] = list(self.labels)
            if self.labels_loose:
                data["labels_loose"] = True
        if self.regex is not None:
            data["regex"] = self.regex
        if self.max_chars is not None:
            data["max_chars"] = self.max_chars
        return json.dumps(data, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CheckRules:
        """Rules stored by :meth:`to_json` (validated again: an unknown key is refused)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"stored checks are not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidInput("stored checks are not a JSON object")
        unknown = set(data) - {"json", "schema", "labels", "labels_loose", "regex", "max_chars"}
        if unknown:
            raise InvalidInput(f"unknown check kinds: {', '.join(sorted(unknown))}")
        labels = data.get("labels", [])
        if not isinstance(labels, list):
            raise InvalidInput("labels must be a list of text")
        return cls(json=bool(data.get("json", False)), schema=data.get("schema"),
                   labels=tuple(labels), labels_loose=bool(data.get("labels_loose", False)),
                   regex=data.get("regex"), max_chars=data.get("max_chars"))


def check_words(check: bool | None, detail: str = "") -> str:
    """A prompt's check in words: ``Check passed``, ``Check failed — schema: $.score: ...``,
    '' when not checked."""
    if check is None:
        return ""
    return "✓ Check passed" if check else f"✗ Check failed — {detail or 'no detail'}"


def parse_schema(text: str, source: str = "schema") -> Mapping[str, Any] | bool:
    """A JSON Schema given as text (pasted, or a file's content): parsed and validated."""
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{source} is not JSON: line {exc.lineno} column {exc.colno}: "
                           f"{exc.msg}") from None
    if not isinstance(schema, (dict, bool)):
        raise InvalidInput(f"{source}: a JSON Schema is an object, got "
                           f"{type(schema).__name__}")
    CheckRules(schema=schema)  # validates it
    return schema


def parse_labels(text: str) -> tuple[str, ...]:
    """Labels given as ``good,bad, unsure`` (commas or new lines; blanks dropped)."""
    return tuple(part.strip() for part in re.split(r"[,\n]", text) if part.strip())


def _label_list(labels: Sequence[str]) -> str:
    shown = ", ".join(repr(label) for label in labels[:10])
    return shown + (f" (+{len(labels) - 10} more)" if len(labels) > 10 else "")


def _parse_json(answer: str) -> Any:
    """The answer's JSON, or the failed result saying where it stops being JSON."""
    fenced = _FENCE.match(answer)
    body, line_offset = answer, 0
    if fenced is not None:
        body = fenced.group("body")
        line_offset = answer.count("\n", 0, fenced.start("body"))
    if not body.strip():
        return CheckResult(False, "json: the answer is empty")
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        return CheckResult(False, f"json: line {exc.lineno + line_offset} column {exc.colno}: "
                                  f"{exc.msg}")
    except RecursionError:
        return CheckResult(False, "json: nested too deeply")
