"""The pure rules of a compare: pairing choice, agreement of two answers, filters, JSON."""

from __future__ import annotations

import pytest

from batcher_gui.domain.compare import (
    CompareFilter,
    JsonAgreement,
    PairFlag,
    PairRule,
    choose_rule,
    json_object,
    normalised,
    pair_flags,
    request_key,
)

F = PairFlag


def test_the_rule_follows_what_the_runs_share() -> None:
    assert choose_rule(ids_distinct=True, shared_ids=3, same_length=False) is PairRule.CUSTOM_ID
    assert choose_rule(ids_distinct=True, shared_ids=0, same_length=True) is PairRule.LINE
    assert choose_rule(ids_distinct=False, shared_ids=9, same_length=True) is PairRule.LINE
    assert choose_rule(ids_distinct=True, shared_ids=0, same_length=False) is PairRule.TEXT


def test_request_text_ignores_the_model_and_key_order() -> None:
    a = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hé"}], "n": 1}
    b = {"n": 1, "messages": [{"content": "hé", "role": "user"}], "model": "o3"}
    assert request_key(a) == request_key(b)
    assert request_key(a) != request_key({**b, "n": 2})


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("Yes", "Yes", F.ANSWERED | F.SAME | F.NORMALISED_SAME),
    ("  Yes\n", "yes", F.ANSWERED | F.NORMALISED_SAME),
    ("Straße  ist", "STRASSE ist", F.ANSWERED | F.NORMALISED_SAME),  # case-folded, not lowered
    ("yes", "no", F.ANSWERED),
    ("", "", F.ANSWERED | F.SAME | F.NORMALISED_SAME),
])
def test_two_answers_agree_exactly_or_normalised(a: str, b: str, expected: int) -> None:
    assert pair_flags("processed", a, "delivered", b)[0] == expected


def test_missing_failed_and_unanswered_sides() -> None:
    assert pair_flags(None, None, "processed", "x")[0] == F.ONLY_B
    assert pair_flags("processed", "x", None, None)[0] == F.ONLY_A
    assert pair_flags("failed", '{"error": 1}', "processed", "x")[0] == F.FAILED
    assert pair_flags("expired", None, None, None)[0] == F.FAILED | F.ONLY_A
    assert pair_flags("pending", None, "processed", "x")[0] == 0
    for flags, shown in ((F.ANSWERED, {CompareFilter.ALL, CompareFilter.DIFFERENT}),
                         (F.ANSWERED | F.SAME, {CompareFilter.ALL, CompareFilter.SAME}),
                         (F.FAILED | F.ONLY_B, {CompareFilter.ALL, CompareFilter.FAILED,
                                                CompareFilter.ONLY_B}),
                         (0, {CompareFilter.ALL})):
        assert {f for f in CompareFilter if f.matches(flags)} == shown


def test_json_answers_are_read_also_inside_a_fence() -> None:
    assert json_object('```json\n{"a": 1}\n```') == {"a": 1}
    assert json_object(' {"a": [1, 2]} ') == {"a": [1, 2]}
    assert json_object("[1, 2]") is None and json_object("{nope") is None
    assert json_object("[" * 100_000) is None
    flags, a, b = pair_flags("processed", '{"a": 1, "b": 2}', "processed", '{"b": 2, "a": 1}')
    assert flags == F.ANSWERED | F.JSON and a == b
    agreement = JsonAgreement()
    agreement.add({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": None})
    agreement.add({"a": 2}, {"a": 2})
    assert agreement.per_key() == (("a", 2, 2), ("b", 0, 1), ("c", 0, 1))
    assert normalised(" A\tB \n") == "a b"
