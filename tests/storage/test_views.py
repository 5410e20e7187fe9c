"""The views' queries: counts, pages, id snapshots and run overviews agree with the data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.states import PromptState
from batcher_gui.domain.views import PromptQuery, PromptSort
from batcher_gui.engine.run_import import import_file
from batcher_gui.storage import Store
from batcher_gui.storage.views import IdRanges, ViewQueries


def _import(store: Store, tmp_path: Path, name: str, n: int, word: str) -> int:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("\n".join(json.dumps(
        {"custom_id": f"{name}-{i:03d}", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "m" if i % 2 else "n",
                  "messages": [{"role": "user", "content": f"{word} {i}"}]}})
        for i in range(n)) + "\n")
    return import_file(store, path, ImportOptions(), run_name=name).run.id


@pytest.fixture
def views(store: Store, tmp_path: Path) -> Iterator[ViewQueries]:
    first = _import(store, tmp_path, "a", 30, "apple")
    _import(store, tmp_path, "b", 20, "banana")
    with store.db.write() as conn:
        conn.exec_driver_sql("UPDATE prompts SET state = 'failed', error = 'x' WHERE "
                             "run_id = ? AND id % 3 = 0", (first,))
        # a run an import is still writing: nobody sees it
        conn.exec_driver_sql("UPDATE runs SET status = 'importing' WHERE name = 'b'")
    _import(store, tmp_path, "c", 10, "cherry")
    queries = ViewQueries(store.db.url or store.db.path)
    yield queries
    queries.close()


def test_counts_pages_and_snapshots_agree(views: ViewQueries) -> None:
    everything = PromptQuery()
    assert views.count(everything) == 40  # run b is hidden
    ids = views.ids(everything)
    assert isinstance(ids, IdRanges) and len(ids) == 40
    assert [r.id for r in views.rows(ids[:40])] == [r.id for r in views.page(everything, 0, 40)]
    failed = PromptQuery(states=(PromptState.FAILED,))
    assert views.count(failed) == len(views.ids(failed)) == 10
    assert {r.state for r in views.page(failed, 0, 50)} == {PromptState.FAILED}
    by_state = views.counts_by_state(everything)
    assert by_state == {PromptState.PENDING: 30, PromptState.FAILED: 10}
    assert views.count(PromptQuery(text="cherry")) == 10
    assert views.count(PromptQuery(text="banana")) == 0
    assert views.count(PromptQuery(text="50%_")) == 0  # LIKE wildcards are taken literally
    assert views.count(PromptQuery(model="m", has_error=False)) == len(
        views.ids(PromptQuery(model="m", has_error=False)))


def test_sorting_and_one_run(views: ViewQueries) -> None:
    runs = {o.run.name: o for o in views.run_overviews()}
    assert set(runs) == {"a", "c"} and runs["a"].counts == {PromptState.PENDING: 20,
                                                             PromptState.FAILED: 10}
    one = PromptQuery(run_id=runs["c"].run.id)
    assert [r.custom_id for r in views.page(one, 0, 3)] == ["c-000", "c-001", "c-002"]
    assert len(views.ids(one)) == 10
    down = PromptQuery(sort=PromptSort.CUSTOM_ID, descending=True)
    assert views.page(down, 0, 1)[0].custom_id == "c-009"
    assert [r.custom_id for r in views.rows(views.ids(down)[:2])] == ["c-009", "c-008"]


def test_id_ranges_behave_like_a_list() -> None:
    ranges = IdRanges([(1, 3), (10, 11)])
    assert list(ranges) == [1, 2, 3, 10, 11] and len(ranges) == 5
    assert ranges[3] == 10 and ranges[-1] == 11 and ranges[1:4] == [2, 3, 10]
    with pytest.raises(IndexError):
        ranges[5]
