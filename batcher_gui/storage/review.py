"""The reviewer's marks: labels (named per workspace, keys 1-9) and notes on prompts.

Every change returns the marks it replaced (:class:`ReviewMark`), so the window can undo it by
putting them back. Many prompts at once are written in chunks of ids in one transaction (a
selection of thousands is one short write).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection

from batcher_gui.domain.errors import InvalidInput, NotFound
from batcher_gui.domain.review import (
    ReviewMark,
    check_label_key,
    clean_label_name,
    clean_note,
)
from batcher_gui.storage.db import Database

#: Ids per statement (SQLite's bound-parameter limit is 32,766).
_CHUNK = 900


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


class Review:
    """Labels and notes of one workspace (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- label names -----------------------------------------------------------------------
    def label_names(self) -> dict[int, str]:
        with self.db.read() as conn:
            return dict(conn.exec_driver_sql(
                "SELECT key, name FROM label_names ORDER BY key").fetchall())

    def name_label(self, key: int, name: str) -> dict[int, str]:
        """Name (or rename) label ``key``; names are unique (any case). Returns all names."""
        key, name = check_label_key(key), clean_label_name(name)
        with self.db.write() as conn:
            taken = conn.exec_driver_sql(
                "SELECT key FROM label_names WHERE lower(name) = lower(?) AND key != ?",
                (name, key)).scalar()
            if taken is not None:
                raise InvalidInput(f"label {taken} is already called {name!r}: choose another name")
            conn.exec_driver_sql("INSERT INTO label_names (key, name) VALUES (?, ?) "
                                 "ON CONFLICT(key) DO UPDATE SET name = excluded.name",
                                 (key, name))
        return self.label_names()

    def remove_label(self, key: int) -> int:
        """Delete label ``key``; the prompts that had it lose it. Returns how many did."""
        key = check_label_key(key)
        with self.db.write() as conn:
            if conn.exec_driver_sql("DELETE FROM label_names WHERE key = ?",
                                    (key,)).rowcount == 0:
                raise NotFound(f"there is no label {key}")
            return int(conn.exec_driver_sql("UPDATE prompts SET label = NULL WHERE label = ?",
                                            (key,)).rowcount)

    # -- marks on prompts ------------------------------------------------------------------
    def marks(self, prompt_ids: Sequence[int]) -> list[ReviewMark]:
        with self.db.read() as conn:
            return self._marks(conn, prompt_ids)

    @staticmethod
    def _marks(conn: Connection, prompt_ids: Sequence[int]) -> list[ReviewMark]:
        out: list[ReviewMark] = []
        for part in _chunks(list(dict.fromkeys(prompt_ids))):
            marks = ", ".join("?" for _ in part)
            out += [ReviewMark(*r) for r in conn.exec_driver_sql(
                f"SELECT id, label, note FROM prompts WHERE id IN ({marks}) ORDER BY id",
                tuple(part))]
        return out

    def set_label(self, prompt_ids: Sequence[int], key: int | None) -> list[ReviewMark]:
        """Put label ``key`` (None: none) on these prompts; returns their marks before."""
        if key is not None:
            check_label_key(key)
        with self.db.write() as conn:
            if key is not None and conn.exec_driver_sql(
                    "SELECT 1 FROM label_names WHERE key = ?", (key,)).scalar() is None:
                raise InvalidInput(f"label {key} has no name yet: name it first (Labels…, or "
                               f"`batcher labels {key} NAME`)")
            return self._change(conn, prompt_ids, "label", key)

    def set_note(self, prompt_ids: Sequence[int], note: str | None) -> list[ReviewMark]:
        """Put ``note`` (empty or None: remove) on these prompts; returns their marks before."""
        text = clean_note(note)
        with self.db.write() as conn:
            return self._change(conn, prompt_ids, "note", text)

    def _change(self, conn: Connection, prompt_ids: Sequence[int], column: str,
                value: Any) -> list[ReviewMark]:
        before = self._marks(conn, prompt_ids)
        if len(before) < len(set(prompt_ids)):
            found = {m.prompt_id for m in before}
            gone = sorted(set(prompt_ids) - found)
            raise NotFound(f"no prompt #{gone[0]}" + (f" (and {len(gone) - 1} more)"
                                                      if len(gone) > 1 else ""))
        for part in _chunks([m.prompt_id for m in before]):
            marks = ", ".join("?" for _ in part)
            conn.exec_driver_sql(f"UPDATE prompts SET {column} = ? WHERE id IN ({marks})",
                                 (value, *part))
        return before

    def restore(self, marks: Sequence[ReviewMark]) -> None:
        """Put these marks back (an undo); prompts gone since are skipped."""
        with self.db.write() as conn:
            conn.exec_driver_sql("UPDATE prompts SET label = ?, note = ? WHERE id = ?",
                                 [(m.label, m.note, m.prompt_id) for m in marks])

    def find_prompt(self, run_id: int, custom_id: str) -> int:
        """The prompt of run ``run_id`` with this custom_id (the first, if it repeats)."""
        with self.db.read() as conn:
            found = conn.exec_driver_sql(
                "SELECT id FROM prompts WHERE run_id = ? AND user_custom_id = ? ORDER BY id "
                "LIMIT 1", (run_id, custom_id)).scalar()
        if found is None:
            raise NotFound(f"run #{run_id} has no prompt with custom_id {custom_id!r}")
        return int(found)

    def reviewed(self, run_id: int) -> list[tuple[str, int | None, str | None]]:
        """(custom_id, label key, note) of a run's labelled or noted prompts, in order."""
        with self.db.read() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(
                "SELECT user_custom_id, label, note FROM prompts WHERE run_id = ? AND "
                "(label IS NOT NULL OR note IS NOT NULL) ORDER BY id", (run_id,))]

    def label_counts(self, run_id: int | None = None) -> dict[int | None, dict[int, int]]:
        """Labelled prompts by run and label key (the partial index: labelled ones only)."""
        sql = "SELECT run_id, label, count(*) FROM prompts WHERE label IS NOT NULL"
        params: tuple[Any, ...] = ()
        if run_id is not None:
            sql += " AND run_id = ?"
            params = (run_id,)
        out: dict[int | None, dict[int, int]] = {}
        with self.db.read() as conn:
            for run, label, n in conn.exec_driver_sql(sql + " GROUP BY run_id, label", params):
                out.setdefault(run, {})[label] = n
        return out
