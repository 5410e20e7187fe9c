"""Checks on answers: each rule kind with good and bad answers, and the rules' own validation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batcher_gui.domain.checks import CheckResult, CheckRules, parse_labels, parse_schema
from batcher_gui.domain.errors import InvalidInput

SCORE = {"type": "object", "properties": {"score": {"type": "integer"},
                                          "tags": {"type": "array", "items": {"type": "string"}}},
         "required": ["score"]}


def failed(detail: str) -> CheckResult:
    return CheckResult(False, detail)


def test_no_rules_is_empty_and_passes_anything() -> None:
    rules = CheckRules()
    assert rules.empty
    assert rules.evaluate("anything at all").passed


@pytest.mark.parametrize("answer", ['{"a": 1}', "[1, 2]", "3", '"text"', "null",
                                    ' \n {"a": 1} \n', '```json\n{"a": 1}\n```',
                                    '```\n[1]\n```', '  ```JSON\n{"a": 1}\n```  \n'])
def test_json_accepts_json_and_a_lone_fence(answer: str) -> None:
    assert CheckRules(json=True).evaluate(answer).passed


@pytest.mark.parametrize(("answer", "detail"), [
    ('{"score": 1 "a": 2}', "json: line 1 column 13: Expecting ',' delimiter"),
    ("Sure! Here it is", "json: line 1 column 1: Expecting value"),
    ("", "json: the answer is empty"),
    ("   ", "json: the answer is empty"),
    ('{"a": 1}\n{"b": 2}', "json: line 2 column 1: Extra data"),
    # inside a fence, positions still count from the answer's first line
    ('```json\n{"a": 1,}\n```', "json: line 2 column 9: Expecting property name enclosed in "
                                "double quotes"),
    # text around the fence: not a lone fence, parsed as it is
    ('Here:\n```json\n{"a": 1}\n```', "json: line 1 column 1: Expecting value"),
])
def test_json_names_the_position(answer: str, detail: str) -> None:
    assert CheckRules(json=True).evaluate(answer) == failed(detail)


def test_schema_passes_matching_answers() -> None:
    rules = CheckRules(schema=SCORE)
    assert rules.needs_json
    assert rules.evaluate('{"score": 3}').passed
    assert rules.evaluate('```json\n{"score": 3, "tags": ["a"]}\n```').passed


@pytest.mark.parametrize(("answer", "detail"), [
    ('{"score": "high"}', "schema: $.score: 'high' is not of type 'integer'"),
    ("{}", "schema: $: 'score' is a required property"),
    ('{"score": 1, "tags": ["a", 2]}', "schema: $.tags[1]: 2 is not of type 'string'"),
    ("[1]", "schema: $: [1] is not of type 'object'"),
    ('{"score": 1', "json: line 1 column 12: Expecting ',' delimiter"),
])
def test_schema_errors_are_named_with_their_path(answer: str, detail: str) -> None:
    assert CheckRules(schema=SCORE).evaluate(answer) == failed(detail)


@pytest.mark.parametrize(("schema", "words"), [
    ({"type": "nope"}, "$.type"),
    ({"properties": {"a": {"type": 5}}}, "$.properties.a.type"),
    ({"required": "score"}, "$.required"),
])
def test_an_invalid_schema_is_refused_when_set(schema: dict[str, object], words: str) -> None:
    with pytest.raises(InvalidInput, match="not a valid JSON Schema") as caught:
        CheckRules(schema=schema)
    assert words in str(caught.value)


def test_schema_text_is_parsed_and_validated() -> None:
    assert parse_schema('{"type": "object"}') == {"type": "object"}
    with pytest.raises(InvalidInput, match="schema is not JSON: line 1 column 10"):
        parse_schema('{"type": }')
    with pytest.raises(InvalidInput, match="a JSON Schema is an object, got list"):
        parse_schema("[1]")
    with pytest.raises(InvalidInput, match="not a valid JSON Schema"):
        parse_schema('{"type": 3}')


def test_labels_exact_and_loose() -> None:
    exact = CheckRules(labels=("good", "bad"))
    assert exact.evaluate("good").passed
    assert exact.evaluate(" Good\n") == failed(
        "labels: ' Good\\n' is not one of 'good', 'bad'")
    loose = CheckRules(labels=("good", "Bad "), labels_loose=True)
    assert loose.evaluate(" Good\n").passed
    assert loose.evaluate("BAD").passed
    assert not loose.evaluate("goodish").passed


def test_a_long_answer_is_shortened_in_the_detail() -> None:
    detail = CheckRules(labels=("yes",)).evaluate("x" * 500).detail
    assert len(detail) < 120 and "…" in detail


def test_regex_searches_and_bad_patterns_are_refused() -> None:
    rules = CheckRules(regex=r"\bscore: \d+\b")
    assert rules.evaluate("the score: 12 of 20").passed
    assert rules.evaluate("the score: high") == failed(r"regex: no match for \bscore: \d+\b")
    anchored = CheckRules(regex=r"^(yes|no)$")
    assert anchored.evaluate("yes").passed and not anchored.evaluate("yes, and no").passed
    with pytest.raises(InvalidInput, match=r"regex '\(\(' does not compile: missing \), "
                                           r"unterminated subpattern at position 1"):
        CheckRules(regex="((")
    with pytest.raises(InvalidInput, match="empty pattern"):
        CheckRules(regex="")


def test_max_chars() -> None:
    rules = CheckRules(max_chars=500)
    assert rules.evaluate("x" * 500).passed
    assert rules.evaluate("x" * 812) == failed("max chars: 812 > 500")
    assert CheckRules(max_chars=0).evaluate("").passed
    for bad in (-1, 2.5, True, "10"):
        with pytest.raises(InvalidInput, match="max chars must be a whole number"):
            CheckRules(max_chars=bad)  # type: ignore[arg-type]


def test_the_first_failing_rule_is_reported_in_order() -> None:
    rules = CheckRules(schema={"type": "string"}, labels=('"a"',), regex="b", max_chars=5)
    assert rules.evaluate('"abcdefgh"').detail == "max chars: 10 > 5"
    assert rules.evaluate("nope").detail.startswith("json:")
    assert rules.evaluate("12").detail == "schema: $: 12 is not of type 'string'"
    assert rules.evaluate('"b"').detail.startswith("labels:")
    assert rules.evaluate('"a"').detail == "regex: no match for b"
    assert CheckRules(schema={"type": "string"}, labels=('"ab"',), regex="b"
                      ).evaluate('"ab"').passed


def test_rules_round_trip_through_json() -> None:
    rules = CheckRules(json=True, schema=SCORE, labels=("a", "b"), labels_loose=True,
                       regex="^x", max_chars=10)
    assert CheckRules.from_json(rules.to_json()) == rules
    assert CheckRules.from_json(CheckRules().to_json()).empty
    assert CheckRules().to_json() == "{}"
    with pytest.raises(InvalidInput, match="unknown check kinds: colour"):
        CheckRules.from_json('{"colour": "red"}')
    with pytest.raises(InvalidInput, match="does not compile"):
        CheckRules.from_json('{"regex": "("}')


def test_describe_and_label_parsing() -> None:
    rules = CheckRules(schema={"type": "object"}, labels=("good", "bad"), regex="x",
                       max_chars=1200)
    assert rules.describe() == [
        'answer is JSON matching the schema \'{"type": "object"}\'',
        "answer is one of 'good', 'bad'", "answer matches the regex x",
        "answer has at most 1,200 characters"]
    assert CheckRules(json=True).describe() == ["answer parses as JSON"]
    assert parse_labels("good, bad,,\n unsure ") == ("good", "bad", "unsure")


def test_deeply_nested_json_fails_instead_of_crashing() -> None:
    result = CheckRules(json=True).evaluate("[" * 100_000 + "]" * 100_000)
    assert not result.passed


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.from_regex(r"```json\n[\[\]{}\",:0-9a-z ]{0,40}\n```"))
def test_any_answer_gets_a_verdict_never_an_exception(answer: str) -> None:
    rules = CheckRules(schema={"type": "object"}, labels=("a",), regex="b", max_chars=150)
    result = rules.evaluate(answer)
    assert result.passed or result.detail.split(":")[0] in ("max chars", "json", "schema",
                                                            "labels", "regex")
