"""The prompts of a run that a view's filters keep, for an export.

The condition is the views' own (:func:`batcher_gui.storage.views.prompt_condition`), so an
export and the table it was asked from can never disagree about which prompts match.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

from batcher_gui.domain.views import PromptQuery, PromptSort
from batcher_gui.storage.db import Database
from batcher_gui.storage.store import EXPORT_COLUMNS
from batcher_gui.storage.views import prompt_condition


def _condition(db: Database, run_id: int, only: PromptQuery, *, listing: bool,
               ) -> tuple[str, list[Any]]:
    query = dataclasses.replace(only, run_id=run_id, sort=PromptSort.ID, descending=False)
    return prompt_condition(query, [run_id], listing=listing, dialect=db.dialect)


def count_matching(db: Database, run_id: int, only: PromptQuery) -> int:
    """How many of the run's prompts the filter ``only`` keeps."""
    where, params = _condition(db, run_id, only, listing=False)
    with db.read() as conn:
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM prompts WHERE {where}",
                                         tuple(params)).scalar() or 0)


def matching_prompts(db: Database, run_id: int, only: PromptQuery,
                     chunk: int = 2000) -> Iterator[Sequence[Any]]:
    """Chunks of the run's prompts (the export's columns) that ``only`` keeps, in import
    order (keyset paging from the run's first prompt, as ``Store.iter_run_prompts`` does)."""
    where, params = _condition(db, run_id, only, listing=True)
    yield from keyset_chunks(db, run_id, ", ".join(EXPORT_COLUMNS), where, params, chunk)


def keyset_chunks(db: Database, run_id: int, columns: str, where: str, params: Sequence[Any],
                  chunk: int) -> Iterator[Sequence[Any]]:
    """Chunks of ``columns`` (the first is ``id``) of the run's prompts that ``where`` keeps,
    in import order: keyset paging from the run's first prompt, a short read each."""
    sql = f"SELECT {columns} FROM prompts WHERE id > ? AND {where} ORDER BY id LIMIT ?"
    with db.read() as conn:
        first = conn.exec_driver_sql("SELECT min(id) FROM prompts WHERE run_id = ?",
                                     (run_id,)).scalar()
    after = (first or 1) - 1
    while True:
        with db.read() as conn:
            rows = conn.exec_driver_sql(sql, (after, *params, chunk)).all()
        if not rows:
            return
        after = rows[-1][0]
        yield rows
