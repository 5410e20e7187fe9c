"""Two runs side by side: pairs materialised once per compare, paged by position.

A compare reads on a connection of its own (read-only, like the prompts view's), into TEMP
tables that live as long as it does: ``cmp_pairs(pos, a_id, b_id, flags)`` holds one row per
pair in the compare's order (A's prompts in import order, then those only in B), with
:class:`~batcher_gui.domain.compare.PairFlag` bits, so every filter is a bit test over a small
table and a page is a range of ``pos``. Building it is one pass: SQL pairs the ids (the
``(run_id, user_custom_id)`` index for custom_ids; a keyed temp table for lines and request
text), SQLite's JSON functions pull the answer text out of the common responses, and the few
rules SQL lacks (case-folding, JSON key by key) run in Python on the pairs that need them.
"""

from __future__ import annotations

import hashlib
import sqlite3
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson

from batcher_gui.domain.answers import answer_text
from batcher_gui.domain.compare import (
    CompareFilter,
    CompareSummary,
    JsonAgreement,
    PairDetail,
    PairFlag,
    PairRow,
    PairRule,
    choose_rule,
    pair_flags,
    request_key,
)
from batcher_gui.domain.errors import Cancelled
from batcher_gui.domain.pricing import PriceTable
from batcher_gui.domain.states import PromptState
from batcher_gui.domain.views import PromptDetail, PromptRow
from batcher_gui.storage.dialect import Dialect
from batcher_gui.storage.readconn import PgRead, ReadConn, Where
from batcher_gui.storage.views import ViewQueries

#: Pairs computed per step (progress is said, and a stop is noticed, between steps).
CHUNK = 50_000

# The answer's text in SQL for the endpoints whose answer is one JSON path (most of them); for
# the others (NULL here) the response goes to Python. Responses are stored as bytes: CAST
# makes them text for the JSON functions; a body that is not JSON has no answer text ('').
_SIMPLE = {"/v1/chat/completions": "$.choices[0].message.content",
           "/v1/completions": "$.choices[0].text"}
_TEXT_SQL = ("CASE WHEN {x}.response IS NULL THEN NULL "
             + " ".join(f"WHEN {{x}}.endpoint = '{endpoint}' THEN coalesce(CASE WHEN "
                        f"json_valid(CAST({{x}}.response AS TEXT)) THEN CAST({{x}}.response AS "
                        f"TEXT) ->> '{path}' END, '')" for endpoint, path in _SIMPLE.items())
             + " END")
# PostgreSQL: json_extract (storage/dialect.py's POSTGRES_COMPAT) is NULL for a body that is
# not JSON, and takes the same path.
_PG_TEXT_SQL = ("CASE WHEN {x}.response IS NULL THEN NULL "
                + " ".join(f"WHEN {{x}}.endpoint = '{endpoint}' THEN coalesce(json_extract("
                           f"{{x}}.response, '{path}'), '')" for endpoint, path in _SIMPLE.items())
                + " END")
_RAW_SQL = ("CASE WHEN {x}.endpoint NOT IN ("
            + ", ".join(f"'{e}'" for e in _SIMPLE) + ") THEN {x}.response END")


def _side_sql(x: str, dialect: Dialect) -> str:
    text = (_PG_TEXT_SQL if dialect.postgres else _TEXT_SQL).format(x=x)
    return (f"{x}.state AS s{x}, {text} AS t{x}, {_RAW_SQL.format(x=x)} AS r{x}, "
            f"{x}.endpoint AS e{x}")


def _answer(text: str | None, raw: bytes | None, endpoint: str | None) -> str | None:
    if text is not None:
        return text
    if raw is None:
        return None
    try:
        return answer_text(endpoint or "", orjson.loads(raw))
    except orjson.JSONDecodeError:
        return ""


class CompareQueries(ViewQueries):
    """The pairs of one compare (see the module docstring); its own connection and thread."""

    def __init__(self, database: Where, prices: PriceTable | None = None,
                 cache_mb: int = 64) -> None:
        super().__init__(database)
        self.prices = prices
        self.summary: CompareSummary | None = None
        self.runs: tuple[int, int] | None = None
        self._duplicates = 0
        self._conn.prepare_temp(cache_mb)

    @property
    def conn(self) -> ReadConn:
        return self._conn

    def label_names(self) -> dict[int, str]:
        """The workspace's label names by key (1-9)."""
        return dict(self._conn.execute("SELECT key, name FROM label_names"))

    # -- pairing -----------------------------------------------------------------------------
    def _ids_distinct(self, run_id: int) -> bool:
        return self._conn.execute(
            "SELECT 1 FROM prompts WHERE run_id = ? GROUP BY user_custom_id HAVING count(*) > 1 "
            "LIMIT 1", (run_id,)).fetchone() is None

    def _shared_ids(self, run_a: int, run_b: int, sample: int = 1000) -> int:
        return int(self._conn.execute(
            "SELECT count(*) FROM (SELECT user_custom_id AS c FROM prompts WHERE run_id = ? "
            "LIMIT ?) a WHERE EXISTS (SELECT 1 FROM prompts b WHERE b.run_id = ? AND "
            "b.user_custom_id = a.c)", (run_a, sample, run_b)).fetchone()[0])

    def _count(self, run_id: int) -> int:
        """A run's prompts (counted in the (run_id, state) index, not the table)."""
        return int(self._conn.execute("SELECT count(*) FROM prompts WHERE run_id = ?",
                                      (run_id,)).fetchone()[0])

    def _shape(self, run_id: int) -> tuple[int, int]:
        found = self._conn.execute("SELECT count(*), coalesce(max(line_no), 0) FROM prompts "
                                   "WHERE run_id = ?", (run_id,)).fetchone()
        return int(found[0]), int(found[1])

    def choose_rule(self, run_a: int, run_b: int) -> PairRule:
        """The pairing rule these two runs get (see :func:`choose_rule`)."""
        distinct = self._ids_distinct(run_a) and self._ids_distinct(run_b)
        shared = self._shared_ids(run_a, run_b) if distinct else 0
        if distinct and shared:
            return PairRule.CUSTOM_ID
        return choose_rule(ids_distinct=distinct, shared_ids=shared,
                           same_length=self._shape(run_a) == self._shape(run_b))

    def _span(self, run_id: int) -> tuple[int, int]:
        low, high = self._id_span(run_id)
        return (low or 0, high if high is not None else -1)

    def _pair_ids(self, run_a: int, run_b: int, rule: PairRule) -> Iterator[int]:
        """Fill ``cmp_ids(pos, a_id, b_id)`` in the compare's order, step by step (yielding
        after each, so the first pairs are classified before the last are paired); sets
        ``self._duplicates`` to how many pairs came from duplicated keys."""
        self._duplicates = 0
        c = self._conn
        temp = self._dialect.temp_schema
        c.execute(f"DROP TABLE IF EXISTS {temp}.cmp_ids")
        c.execute(f"CREATE TEMP TABLE cmp_ids (pos {self._dialect.autoincrement_key}, "
                  "a_id INTEGER, b_id INTEGER)")
        a_low, a_high = self._span(run_a)
        b_low, b_high = self._span(run_b)
        if rule is PairRule.CUSTOM_ID:
            # A's prompts walked by id (a range of the primary key). Its partner is first
            # looked for at the same place in B (runs of one file keep its order: a seek by
            # primary key), else found by the custom_id index.
            for low in range(a_low, a_high + 1, CHUNK):
                c.execute("INSERT INTO cmp_ids (a_id, b_id) SELECT a.id, CASE WHEN "
                          "b.user_custom_id = a.user_custom_id THEN b.id ELSE (SELECT x.id "
                          "FROM prompts x WHERE x.run_id = ? AND x.user_custom_id = "
                          "a.user_custom_id) END FROM prompts a LEFT JOIN prompts b ON b.id = "
                          "a.id - ? AND b.run_id = ? WHERE a.id BETWEEN ? AND ? AND +a.run_id = "
                          "? ORDER BY a.id", (run_b, a_low - b_low, run_b, low,
                                               min(low + CHUNK - 1, a_high), run_a))
                yield 0
            c.execute("INSERT INTO cmp_ids (a_id, b_id) SELECT NULL, b.id FROM prompts b WHERE "
                      "b.id BETWEEN ? AND ? AND +b.run_id = ? AND NOT (EXISTS (SELECT 1 FROM "
                      "prompts a WHERE a.id = b.id + ? AND a.run_id = ? AND a.user_custom_id = "
                      "b.user_custom_id) OR EXISTS (SELECT 1 FROM prompts a WHERE "
                      "a.run_id = ? AND a.user_custom_id = b.user_custom_id)) ORDER BY b.id",
                      (b_low, b_high, run_b, a_low - b_low, run_a, run_a))
            yield 0
            return
        c.execute(f"DROP TABLE IF EXISTS {temp}.cmp_keys")
        key = "BIGINT" if rule is PairRule.LINE else self._dialect.blob_type
        c.execute(f"CREATE TEMP TABLE cmp_keys (side INTEGER, key {key}, id INTEGER)")
        for side, run_id, low, high in ((0, run_a, a_low, a_high), (1, run_b, b_low, b_high)):
            if rule is PairRule.LINE:
                c.execute("INSERT INTO cmp_keys SELECT ?, line_no, id FROM prompts WHERE id "
                          "BETWEEN ? AND ? AND +run_id = ?", (side, low, high, run_id))
            else:
                self._text_keys(side, run_id, low, high)
        c.execute(f"DROP TABLE IF EXISTS {temp}.cmp_occ")
        # Duplicates pair in order: the n-th of a key in A with the n-th of it in B.
        c.execute("CREATE TEMP TABLE cmp_occ AS SELECT side, key, id, row_number() OVER "
                  "(PARTITION BY side, key ORDER BY id) AS occ, count(*) OVER (PARTITION BY "
                  "side, key) AS n FROM cmp_keys")
        c.execute(f"DROP TABLE {temp}.cmp_keys")
        c.execute(f"CREATE INDEX {self._dialect.temp_index('ix_cmp_occ')} ON cmp_occ "
                  "(side, key, occ)")
        c.execute("INSERT INTO cmp_ids (a_id, b_id) SELECT a.id, b.id FROM cmp_occ a LEFT JOIN "
                  "cmp_occ b ON b.side = 1 AND b.key = a.key AND b.occ = a.occ WHERE a.side = 0 "
                  "ORDER BY a.id")
        c.execute("INSERT INTO cmp_ids (a_id, b_id) SELECT NULL, b.id FROM cmp_occ b WHERE "
                  "b.side = 1 AND NOT EXISTS (SELECT 1 FROM cmp_occ a WHERE a.side = 0 AND "
                  "a.key = b.key AND a.occ = b.occ) ORDER BY b.id")
        self._duplicates = int(c.execute(
            "SELECT count(*) FROM cmp_occ a JOIN cmp_occ b ON b.side = 1 AND b.key = a.key AND "
            "b.occ = a.occ WHERE a.side = 0 AND (a.n > 1 OR b.n > 1)").fetchone()[0])
        c.execute(f"DROP TABLE {temp}.cmp_occ")
        yield 0

    def _text_keys(self, side: int, run_id: int, low: int, high: int) -> None:
        cursor = self._conn.execute("SELECT id, body FROM prompts WHERE id BETWEEN ? AND ? "
                                    "AND +run_id = ?", (low, high, run_id))
        while chunk := cursor.fetchmany(CHUNK):
            rows = []
            for pid, body in chunk:
                try:
                    parsed = orjson.loads(body)
                except orjson.JSONDecodeError:
                    parsed = body.decode("utf-8", "replace")
                rows.append((side, hashlib.blake2b(request_key(parsed), digest_size=16)
                             .digest(), pid))
            self._conn.executemany("INSERT INTO cmp_keys VALUES (?, ?, ?)", rows)

    def build(self, run_a: int, run_b: int, rule: PairRule | None = None,
              progress: Callable[[int, int], None] | None = None,
              should_stop: Callable[[], bool] | None = None,
              partial: Callable[[CompareSummary], None] | None = None) -> CompareSummary:
        """Pair the two runs and classify every pair (see the module docstring).

        ``partial`` gets the counts so far after each step (the agreement of the first pairs
        is known in a second, the exact one when all are built)."""
        if run_a == run_b:
            from batcher_gui.domain.errors import InvalidInput

            raise InvalidInput("a run compared with itself agrees with itself: choose two "
                               "different runs")
        rule = rule or self.choose_rule(run_a, run_b)
        c = self._conn
        c.execute(self._dialect.begin_snapshot)  # one snapshot for the whole build
        try:
            c.execute(f"DROP TABLE IF EXISTS {self._dialect.temp_schema}.cmp_pairs")
            c.execute("CREATE TEMP TABLE cmp_pairs (pos INTEGER PRIMARY KEY, a_id INTEGER, "
                      "b_id INTEGER, flags INTEGER NOT NULL)")
            json = JsonAgreement()

            def classify(a_state: str | None, a_text: str | None, a_raw: bytes | None,
                         a_end: str | None, b_state: str | None, b_text: str | None,
                         b_raw: bytes | None, b_end: str | None) -> int:
                flags, a_json, b_json = pair_flags(
                    a_state, a_text if a_raw is None else _answer(a_text, a_raw, a_end),
                    b_state, b_text if b_raw is None else _answer(b_text, b_raw, b_end))
                if a_json is not None and b_json is not None:
                    json.add(a_json, b_json)
                return flags

            classified = self._classifier(classify)
            seen: Counter[int] = Counter()
            expected = max(self._count(run_a), self._count(run_b))  # pairs, at least
            done = 0
            try:
                for _ in self._pair_ids(run_a, run_b, rule):
                    paired = int(c.execute("SELECT coalesce(max(pos), 0) FROM cmp_ids")
                                 .fetchone()[0])
                    while done < paired:
                        last = min(done + CHUNK, paired)
                        classified(done + 1, last)
                        seen.update(dict(c.execute(
                            "SELECT flags, count(*) FROM cmp_pairs WHERE pos BETWEEN ? AND ? "
                            "GROUP BY flags", (done + 1, last)).fetchall()))
                        done = last
                        if partial is not None:
                            partial(summarise(rule, seen, self._duplicates, json))
                        if progress is not None:
                            progress(done, max(done, expected))
                        if should_stop is not None and should_stop():
                            raise Cancelled("compare stopped")
            finally:
                if isinstance(c, sqlite3.Connection):
                    c.create_function("cmp_classify", 8, None)
            duplicates = self._duplicates
            c.execute(f"DROP TABLE {self._dialect.temp_schema}.cmp_ids")
        finally:
            c.execute("COMMIT")
        self.runs = (run_a, run_b)
        self.summary = summarise(rule, seen, duplicates, json)
        return self.summary

    def _classifier(self, classify: Callable[..., int]) -> Callable[[int, int], None]:
        """What classifies the pairs at positions low..high into ``cmp_pairs``.

        Pairs whose answers are the very same text (and do not look like JSON) are classified
        by SQL; ``classify`` (Python) sees the others (different, JSON, missing, odd): called
        from the SQL on SQLite, on the rows SQL hands back on PostgreSQL (then COPYed in)."""
        d = self._dialect
        args = "sa, ta, ra, ea, sb, tb, rb, eb"
        failed = "('failed', 'expired')"
        same = int(PairFlag.ANSWERED | PairFlag.SAME | PairFlag.NORMALISED_SAME)
        odd = (f"sa IS NULL OR sb IS NULL OR sa IN {failed} OR sb IN {failed} OR ra IS NOT NULL "
               "OR rb IS NOT NULL OR ta IS NULL OR tb IS NULL")
        plain_same = "ta = tb AND instr(substr(ta, 1, 100), '{') = 0"
        pairs = (f"WITH t AS MATERIALIZED (SELECT p.pos, p.a_id, p.b_id, {_side_sql('a', d)}, "
                 f"{_side_sql('b', d)} FROM cmp_ids p LEFT JOIN prompts a ON a.id = p.a_id "
                 "LEFT JOIN prompts b ON b.id = p.b_id WHERE p.pos BETWEEN ? AND ?) ")
        c = self._conn
        if isinstance(c, sqlite3.Connection):
            c.create_function("cmp_classify", 8, classify)
            step = (pairs + f"INSERT INTO cmp_pairs SELECT pos, a_id, b_id, CASE WHEN {odd} "
                    f"THEN cmp_classify({args}) WHEN {plain_same} THEN {same} "
                    f"ELSE cmp_classify({args}) END FROM t")
            sqlite = c

            def step_sqlite(low: int, high: int) -> None:
                sqlite.execute(step, (low, high))

            return step_sqlite
        assert isinstance(c, PgRead)
        # The texts of pairs SQL classifies stay in the server.
        texts = ", ".join(f"CASE WHEN s THEN NULL ELSE {x} END" for x in args.split(", "))
        rows = (pairs + f", u AS (SELECT *, CASE WHEN {odd} THEN FALSE WHEN {plain_same} THEN "
                f"TRUE ELSE FALSE END AS s FROM t) SELECT pos, a_id, b_id, s, {texts} FROM u")

        def step_pg(low: int, high: int) -> None:
            c.copy_rows("cmp_pairs", ("pos", "a_id", "b_id", "flags"), (
                (pos, a_id, b_id, same if is_same else classify(*more))
                for pos, a_id, b_id, is_same, *more in c.execute(rows, (low, high)).fetchall()))

        return step_pg

    # -- reading pairs -------------------------------------------------------------------------
    def pair_page(self, only: CompareFilter, after: int, limit: int) -> list[PairRow]:
        """Up to ``limit`` pairs under ``only`` after position ``after`` (keyset paging)."""
        found = self._conn.execute(
            f"SELECT pos, a_id, b_id, flags FROM cmp_pairs WHERE pos > ? AND {only.sql()} "
            "ORDER BY pos LIMIT ?", (after, limit)).fetchall()
        return self._pair_rows(found)

    def positions(self, only: CompareFilter) -> Sequence[int]:
        """Every position under ``only``, in order (the snapshot the table pages by)."""
        out: array[int] = array("q")
        cursor = self._conn.execute(f"SELECT pos FROM cmp_pairs WHERE {only.sql()} ORDER BY pos")
        while chunk := cursor.fetchmany(CHUNK):
            out.extend(p for (p,) in chunk)
        return out

    def side_ids(self, only: CompareFilter, side: str = "a") -> list[int]:
        """The prompt ids of one side ("a" or "b") of the pairs under ``only``, in order."""
        column = "a_id" if side == "a" else "b_id"
        return [i for (i,) in self._conn.execute(
            f"SELECT {column} FROM cmp_pairs WHERE {only.sql()} AND {column} IS NOT NULL "
            "ORDER BY pos")]

    def pairs_at(self, positions: Sequence[int]) -> list[PairRow]:
        """The pairs at these positions, in the order given."""
        if not positions:
            return []
        marks = ", ".join("?" for _ in positions)
        found = {r[0]: r for r in self._conn.execute(
            f"SELECT pos, a_id, b_id, flags FROM cmp_pairs WHERE pos IN ({marks})",
            list(positions))}
        return self._pair_rows([found[p] for p in positions if p in found])

    def _pair_rows(self, found: Sequence[Sequence[Any]]) -> list[PairRow]:
        ids = [i for r in found for i in (r[1], r[2]) if i is not None]
        rows = {r.id: r for r in self.rows(ids)}
        out = []
        for pos, a_id, b_id, flags in found:
            a, b = rows.get(a_id), rows.get(b_id)
            out.append(PairRow(pos, flags, a, b, self._cost(a), self._cost(b)))
        return out

    def _cost(self, row: PromptRow | None) -> float | None:
        if row is None or self.prices is None:
            return None
        return self.prices.cost(row.model, row.input_tokens, row.output_tokens)

    def pair_detail(self, row: PairRow) -> PairDetail:
        """A pair with both prompts' details and whole answers (by its prompts' ids: any
        connection answers it, the pairs built or not)."""
        a = self.detail(row.a.id) if row.a is not None else None
        b = self.detail(row.b.id) if row.b is not None else None
        return PairDetail(row, a, b, _full_answer(a), _full_answer(b))

    def preview(self, run_a: int, run_b: int, limit: int) -> list[PairRow] | None:
        """The first ``limit`` pairs, read straight from the runs while the pairs are built
        (None: no quick way; the page waits for the build).

        When the runs share custom_ids (a sample of A's first ones) the first page of "All"
        is A's first prompts and their partners found by the custom_id index: ``limit``
        seeks. Its positions are those the build gives them (A's prompts come first, in
        order).
        """
        if run_a == run_b or not self._shared_ids(run_a, run_b, sample=limit):
            return None
        low, high = self._span(run_a)
        ids = self._conn.execute(
            "SELECT a.id, (SELECT b.id FROM prompts b WHERE b.run_id = ? AND b.user_custom_id "
            "= a.user_custom_id) FROM prompts a WHERE a.id BETWEEN ? AND ? AND +a.run_id = ? "
            "ORDER BY a.id LIMIT ?", (run_b, low, high, run_a, limit)).fetchall()
        sides = {r[0]: r[1:] for r in self._conn.execute(
            f"SELECT x.id, {_side_sql('x', self._dialect)} FROM prompts x WHERE x.id IN "
            f"({', '.join('?' for pair in ids for i in pair if i is not None)})",
            [i for pair in ids for i in pair if i is not None])}
        found_rows = []
        for pos, (a_id, b_id) in enumerate(ids, start=1):
            a_state, a_text, a_raw, a_end = sides[a_id]
            b_state, b_text, b_raw, b_end = sides.get(b_id, (None, None, None, None))
            flags, _, _ = pair_flags(a_state, _answer(a_text, a_raw, a_end), b_state,
                                     _answer(b_text, b_raw, b_end))
            found_rows.append((pos, a_id, b_id, flags))
        return self._pair_rows(found_rows)

    def export_rows(self, only: CompareFilter) -> Iterator[list[tuple[PairRow, str, str]]]:
        """Every pair under ``only`` with both whole answers, in chunks (for a file)."""
        after = 0
        while True:
            found = self._conn.execute(
                f"SELECT pos, a_id, b_id, flags FROM cmp_pairs WHERE pos > ? AND {only.sql()} "
                "ORDER BY pos LIMIT ?", (after, 2000)).fetchall()
            if not found:
                return
            after = found[-1][0]
            answers = self._answers([i for r in found for i in (r[1], r[2]) if i is not None])
            yield [(row, answers.get(row.a.id, "") if row.a else "",
                    answers.get(row.b.id, "") if row.b else "")
                   for row in self._pair_rows(found)]

    def _answers(self, ids: Sequence[int]) -> dict[int, str]:
        marks = ", ".join("?" for _ in ids)
        out = {}
        for pid, endpoint, response in self._conn.execute(
                f"SELECT id, endpoint, response FROM prompts WHERE id IN ({marks})", list(ids)):
            out[pid] = _answer(None, response, endpoint) or ""
        return out


def _full_answer(detail: PromptDetail | None) -> str:
    if detail is None or detail.response is None:
        return ""
    return _answer(None, detail.response, detail.row.endpoint) or ""


#: What "failed" means for a side (the Failed-in-either filter).
FAILED_STATES = (PromptState.FAILED, PromptState.EXPIRED)


def summarise(rule: PairRule, seen: Counter[int], duplicates: int,
              json: JsonAgreement) -> CompareSummary:
    """The summary of the pairs counted by their flags."""
    tally = {f: sum(n for flags, n in seen.items() if flags & f) for f in PairFlag}
    counts = {name: sum(n for flags, n in seen.items() if name.matches(flags))
              for name in CompareFilter}
    return CompareSummary(
        rule=rule, paired=sum(seen.values()) - tally[PairFlag.ONLY_A] - tally[PairFlag.ONLY_B],
        only_a=tally[PairFlag.ONLY_A], only_b=tally[PairFlag.ONLY_B],
        duplicates=duplicates, answered=tally[PairFlag.ANSWERED],
        same=tally[PairFlag.SAME], normalised_same=tally[PairFlag.NORMALISED_SAME],
        failed=tally[PairFlag.FAILED], json_pairs=json.pairs, json_keys=json.per_key(),
        counts=counts)
