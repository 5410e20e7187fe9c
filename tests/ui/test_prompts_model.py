"""The prompts table model against real workspaces: 100 rows (every cell checked by
qtmodeltester) and 100,000 rows (scrolled to the end, filtered, searched, sorted)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import qasync
from pytestqt.qtbot import QtBot

from batcher_gui.app.reader import ViewReader
from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.states import PromptState
from batcher_gui.domain.views import PromptQuery, PromptSort
from batcher_gui.engine.run_import import import_file
from batcher_gui.storage import open_store
from batcher_gui.storage.user_actions import UserActions
from batcher_gui.ui.models.prompts import LOADING, PAGE, PromptsModel, RowRole
from tests.app.conftest import write_chat


def _workspace(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "in.jsonl"
    with data.open("wb") as fh:
        for i in range(n):
            word = "needle" if i % 1000 == 7 else "hay"
            fh.write(orjson.dumps({
                "custom_id": f"row-{i:06d}", "method": "POST", "url": "/v1/chat/completions",
                "body": {"model": "gpt-4o-mini" if i % 2 else "gpt-4.1-mini",
                         "messages": [{"role": "user", "content": f"{word} question {i}"}]},
            }) + b"\n")
    store = open_store(folder / "batcher.sqlite3")
    import_file(store, data, ImportOptions(), profile_name="sandbox")
    with store.db.write() as conn:  # a few prompts further along
        conn.exec_driver_sql("UPDATE prompts SET state = 'failed', error = 'boom' "
                             "WHERE id % 500 = 0")
    store.db.close()
    return folder / "batcher.sqlite3"


@pytest.fixture(scope="module")
def big_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _workspace(tmp_path_factory.mktemp("big"), 100_000)


@pytest.fixture
def reader_for(qloop: qasync.QEventLoop) -> Iterator[list[ViewReader]]:
    readers: list[ViewReader] = []
    yield readers
    for reader in readers:
        reader.close()


def _model(db: Path, readers: list[ViewReader], qtbot: QtBot) -> PromptsModel:
    reader = ViewReader(db)
    readers.append(reader)
    model = PromptsModel(reader)
    model.refresh()
    qtbot.waitUntil(lambda: model.rowCount() > 0, timeout=20_000)
    return model


def _load(model: PromptsModel, qtbot: QtBot, row: int) -> None:
    index = model.index(row, 2)
    model.data(index)  # asks for the page
    qtbot.waitUntil(lambda: model.data(index, RowRole) is not None, timeout=20_000)


def test_every_cell_passes_the_model_tester(tmp_path: Path, qtbot: QtBot, qtmodeltester: object,
                                            reader_for: list[ViewReader]) -> None:
    model = _model(_workspace(tmp_path, 100), reader_for, qtbot)
    assert model.rowCount() == 100
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert model.data(model.index(0, 2)) == "row-000000"


def test_a_hundred_thousand_rows_scroll_filter_search_and_sort(
        big_db: Path, qtbot: QtBot, reader_for: list[ViewReader]) -> None:
    model = _model(big_db, reader_for, qtbot)
    assert model.rowCount() == 100_000  # exact at once
    last = model.index(99_999, 2)
    assert model.data(model.index(99_999, 4)) == LOADING  # not loaded yet: a placeholder
    _load(model, qtbot, 99_999)
    assert model.data(last) == "row-099999"
    for row in range(99_999 - PAGE + 1, 100_000):  # the whole last page came with it
        assert model.data(model.index(row, 2), RowRole) is not None

    model.set_query(PromptQuery(states=(PromptState.FAILED,)))
    qtbot.waitUntil(lambda: model.rowCount() == 200, timeout=20_000)
    _load(model, qtbot, 199)
    assert {model.data(model.index(r, 0), RowRole).state
            for r in range(200)} == {PromptState.FAILED}

    model.set_query(PromptQuery(text="needle"))
    qtbot.waitUntil(lambda: model.rowCount() == 100, timeout=20_000)
    _load(model, qtbot, 99)
    assert all("needle" in model.data(model.index(r, 4)) for r in range(100))

    model.set_query(PromptQuery(text="row-04242"))
    qtbot.waitUntil(lambda: model.rowCount() == 10, timeout=20_000)
    _load(model, qtbot, 0)
    assert model.data(model.index(0, 2)) == "row-042420"

    model.set_query(PromptQuery(model="gpt-4o-mini", sort=PromptSort.CUSTOM_ID,
                                descending=True))
    qtbot.waitUntil(lambda: model.rowCount() == 50_000, timeout=20_000)
    _load(model, qtbot, 0)
    assert model.data(model.index(0, 2)) == "row-099999"
    _load(model, qtbot, 49_999)
    assert model.data(model.index(49_999, 2)) == "row-000001"


def _import_more(db: Path, folder: Path, n: int, prefix: str) -> None:
    data = write_chat(folder / f"{prefix}.jsonl", n, prefix=prefix)
    store = open_store(db)
    import_file(store, data, ImportOptions(), profile_name="sandbox")
    store.db.close()


def test_rows_that_are_gone_are_not_shown_and_the_chosen_prompt_stays_chosen(
        tmp_path: Path, qtbot: QtBot, reader_for: list[ViewReader]) -> None:
    db = _workspace(tmp_path, 1000)  # run #1: 1,000 prompts
    _import_more(db, tmp_path, 500, "b")  # run #2: 500 more
    model = _model(db, reader_for, qtbot)
    qtbot.waitUntil(lambda: model.rowCount() == 1500, timeout=20_000)
    _load(model, qtbot, 1200)  # a row of run #2, far down
    chosen = model.data(model.index(1200, 0), RowRole)
    model.chosen = chosen.id
    restored: list[int] = []
    model.restoreRow.connect(restored.append)
    store = open_store(db)  # run #1 deleted by another process
    UserActions(store.db).delete_run(1)
    store.db.close()
    # Scrolling to a page of the old snapshot finds its prompts gone: read again.
    model.data(model.index(300, 2))
    qtbot.waitUntil(lambda: model.rowCount() == 500, timeout=20_000)
    qtbot.waitUntil(lambda: bool(restored), timeout=20_000)
    assert restored[-1] == 200  # the same prompt, where it is now
    _load(model, qtbot, restored[-1])
    assert model.data(model.index(restored[-1], 0), RowRole).id == chosen.id
