"""Pairing two runs (by custom_id, by line, by request text) and their agreement, on a real
workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from batcher_gui.domain.compare import CompareFilter, PairFlag, PairRule
from batcher_gui.domain.errors import InvalidInput
from batcher_gui.storage import Store
from batcher_gui.storage.compare import CompareQueries
from tests.storage.compare_helpers import make_run


def _queries(store: Store) -> CompareQueries:
    return CompareQueries(store.db.url or store.db.path)


def test_pairs_by_custom_id_with_missing_ones(store: Store, tmp_path: Path) -> None:
    a = make_run(store, tmp_path, "a", [("x1", "one"), ("x2", "two"), ("x3", "three")],
                 ["yes", "no", "Maybe "])
    b = make_run(store, tmp_path, "b", [("x3", "three"), ("x2", "two"), ("x4", "four")],
                 ["maybe", "no", "new"])
    q = _queries(store)
    try:
        s = q.build(a, b)
        assert s.rule is PairRule.CUSTOM_ID
        assert (s.paired, s.only_a, s.only_b, s.duplicates) == (2, 1, 1, 0)
        assert (s.answered, s.same, s.normalised_same) == (2, 1, 2)
        assert s.counts[CompareFilter.DIFFERENT] == 1
        assert s.counts[CompareFilter.ONLY_A] == 1 and s.counts[CompareFilter.ONLY_B] == 1
        rows = q.pair_page(CompareFilter.ALL, 0, 10)
        # A's order first (x1 only in A, x2, x3), then what only B has.
        assert [r.key for r in rows] == ["x1", "x2", "x3", "x4"]
        assert rows[0].b is None and rows[3].a is None
        assert rows[1].flags & PairFlag.SAME and rows[1].a.answer == rows[1].b.answer == "no"
        different = q.pair_page(CompareFilter.DIFFERENT, 0, 10)
        assert [(r.a.answer, r.b.answer) for r in different] == [("Maybe", "maybe")]
        assert list(q.positions(CompareFilter.ONLY_B)) == [rows[3].pos]
    finally:
        q.close()


def test_unshared_custom_ids_pair_by_line(store: Store, tmp_path: Path) -> None:
    # custom_ids made afresh for each file (none shared), files of the same length.
    a = make_run(store, tmp_path, "a", [("a1", "p1"), ("a2", "p2"), ("a3", "p3")],
                 ["1", "2", "3"])
    b = make_run(store, tmp_path, "b", [("b1", "p1"), ("b2", "p2"), ("b3", "p3")],
                 ["1", "9", "3"])
    q = _queries(store)
    try:
        s = q.build(a, b)
        assert s.rule is PairRule.LINE
        assert (s.paired, s.same, s.only_a, s.only_b) == (3, 2, 0, 0)
        assert [(r.a.prompt, r.b.prompt) for r in q.pair_page(CompareFilter.DIFFERENT, 0, 9)] \
            == [("p2", "p2")]
    finally:
        q.close()


def test_pairs_by_request_text_with_duplicates_in_order(store: Store, tmp_path: Path) -> None:
    # No shared custom_ids, files of different lengths: by text (the model left out).
    a = make_run(store, tmp_path, "a", [("a1", "hello"), ("a2", "bye"), ("a3", "hello"),
                                        ("a4", "only a")], ["h1", "b", "h2", "z"])
    b = make_run(store, tmp_path, "b", [("b1", "hello"), ("b2", "hello"), ("b3", "bye"),
                                        ("b4", "hello"), ("b5", "only b")],
                 ["h1", "H2", "b", "h3", "q"], model="gpt-4o")
    q = _queries(store)
    try:
        s = q.build(a, b)
        assert s.rule is PairRule.TEXT
        assert (s.paired, s.only_a, s.only_b) == (3, 1, 2)
        assert s.duplicates == 2  # the two "hello" pairs
        rows = q.pair_page(CompareFilter.ALL, 0, 10)
        pairs = [(r.a.custom_id if r.a else None, r.b.custom_id if r.b else None) for r in rows]
        assert pairs == [("a1", "b1"), ("a2", "b3"), ("a3", "b2"), ("a4", None),
                         (None, "b4"), (None, "b5")]
        assert (s.same, s.normalised_same) == (2, 3)  # "h2" and "H2" agree normalised
    finally:
        q.close()


def test_the_rule_can_be_chosen_and_a_run_is_not_compared_with_itself(
        store: Store, tmp_path: Path) -> None:
    a = make_run(store, tmp_path, "a", [("x1", "one"), ("x2", "two")], ["1", "2"])
    b = make_run(store, tmp_path, "b", [("x2", "one"), ("x1", "two")], ["1", "2"])
    q = _queries(store)
    try:
        assert q.build(a, b).same == 0  # by custom_id: x1 "1" vs x1 "2"
        assert q.build(a, b, PairRule.LINE).same == 2
        assert q.build(a, b, PairRule.TEXT).same == 2
        with pytest.raises(InvalidInput, match="itself"):
            q.build(a, a)
    finally:
        q.close()


def test_json_answers_agree_key_by_key_and_failures_are_counted(
        store: Store, tmp_path: Path) -> None:
    a = make_run(store, tmp_path, "a", [(f"k{i}", f"p{i}") for i in range(5)],
                 ['{"label": "spam", "score": 1}', '{"label": "ham", "score": 2}',
                  '```json\n{"label": "ham"}\n```', "not json", None], failed=[4])
    b = make_run(store, tmp_path, "b", [(f"k{i}", f"p{i}") for i in range(5)],
                 ['{"score": 1, "label": "spam"}', '{"label": "ham", "score": 3}',
                  '{"label": "ham", "extra": true}', "not json", "late"])
    q = _queries(store)
    try:
        s = q.build(a, b)
        assert s.answered == 4 and s.failed == 1
        assert s.same == 1  # only "not json" is the same text
        assert s.json_pairs == 3
        keys = {k: (agree, total) for k, agree, total in s.json_keys}
        assert keys == {"label": (3, 3), "score": (1, 2), "extra": (0, 1)}
        assert s.json_agreeing == (4, 6)
        assert s.counts[CompareFilter.FAILED] == 1
        failed = q.pair_page(CompareFilter.FAILED, 0, 9)
        assert failed[0].a.state.value == "failed" and failed[0].b.answer == "late"
        detail = q.pair_detail(failed[0])
        assert detail.b_answer == "late" and detail.a_answer == ""
        lines = "\n".join(s.lines())
        assert "key by key 66.7% (4 of 6 values)" in lines and "label: 100.0%" in lines
    finally:
        q.close()


def test_the_first_page_is_read_before_the_build_with_the_same_positions(
        store: Store, tmp_path: Path) -> None:
    a = make_run(store, tmp_path, "a", [(f"k{i}", f"p{i}") for i in range(6)],
                 ["x", "y", "z", None, "w", "v"])
    b = make_run(store, tmp_path, "b", [(f"k{i}", f"p{i}") for i in (5, 4, 3, 2, 1, 7)],
                 ["v", "W", "q", "z", "y", "new"])
    q = _queries(store)
    try:
        early = q.preview(a, b, 4)
        assert early is not None
        q.build(a, b)
        assert early == q.pair_page(CompareFilter.ALL, 0, 4)
        assert [r.flags & PairFlag.SAME for r in early] == [0, PairFlag.SAME, PairFlag.SAME, 0]
    finally:
        q.close()


def test_the_counts_so_far_come_step_by_step(store: Store, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import batcher_gui.storage.compare as compare

    monkeypatch.setattr(compare, "CHUNK", 2)  # five pairs: three steps
    a = make_run(store, tmp_path, "a", [(f"k{i}", f"p{i}") for i in range(5)],
                 ["1", "2", "3", "4", "5"])
    b = make_run(store, tmp_path, "b", [(f"k{i}", f"p{i}") for i in range(5)],
                 ["1", "x", "3", "4", "y"])
    q = _queries(store)
    seen: list[tuple[int, int]] = []
    try:
        final = q.build(a, b, partial=lambda s: seen.append((s.total, s.same)))
        assert seen == [(2, 1), (4, 3), (5, 3)]
        assert (final.total, final.same) == seen[-1]
    finally:
        q.close()
