"""Issue 16, items 3 and 11: a results folder's CSV holds no formula a spreadsheet would run;
a run named with thousands of characters (older workspaces have such names) still gets its
files, under names that fit the file system; a folder that cannot be written is said once per
cause, in a line a person can read."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from batcher_gui.domain.errors import ImportValidationError
from batcher_gui.storage import Store
from batcher_gui.storage.delivery import DeliveryStore
from tests.delivery.helpers import finish, import_prompts, passes


def _rename(store: Store, run_id: int, name: str) -> None:
    """A name as an older Batcher accepted it (new names are capped when a run is made)."""
    with store.db.write() as conn:
        conn.exec_driver_sql("UPDATE runs SET name = ? WHERE id = ?", (name, run_id))


def test_the_folders_csv_holds_no_formula_and_the_jsonl_exact_text(store: Store,
                                                                   tmp_path: Path) -> None:
    ids = ["=HYPERLINK(\"http://evil.example\",\"x\")", "@SUM(A1)", "+1", "nul\0id", "ok"]
    shown = ["'=HYPERLINK(\"http://evil.example\",\"x\")", "'@SUM(A1)", "'+1", "nul\ufffdid",
             "ok"]
    if store.db.dialect.postgres:
        # PostgreSQL's text holds no NUL: that line is refused by name, nothing is imported.
        with pytest.raises(ImportValidationError) as info:
            import_prompts(store, tmp_path / "hostile.jsonl", ids)
        assert (info.value.errors[0].line, info.value.errors[0].field) == (4, "custom_id")
        assert "NUL" in str(info.value) and store.list_runs() == []
        ids, shown = ids[:3] + ids[4:], shown[:3] + shown[4:]
    run_id = import_prompts(store, tmp_path / "hostile.jsonl", ids)
    out = tmp_path / "out"
    DeliveryStore(store.db).set_target(run_id, "folder", str(out))
    finish(store, run_id, "-1+cmd|' /C calc'!A0")
    assert passes(store) == []
    with (out / "hostile.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["custom_id"] for r in rows] == shown
    assert {r["output_text"] for r in rows} == {"'-1+cmd|' /C calc'!A0"}
    lines = [json.loads(x) for x in (out / "hostile.jsonl").read_bytes().splitlines()]
    assert [x["custom_id"] for x in lines] == ids


def test_a_run_name_of_thousands_of_characters_gets_files_that_fit(store: Store,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = import_prompts(store, tmp_path / "a.jsonl", ["a1", "a2"])
    second = import_prompts(store, tmp_path / "b.jsonl", ["b1"])
    _rename(store, first, "long " * 1000 + "first")  # the same first 5,000 characters
    _rename(store, second, "long " * 1000 + "second")
    for run_id in (first, second):
        DeliveryStore(store.db).set_target(run_id, "folder", str(out))
        finish(store, run_id)
    # An older Batcher recorded the names it could never make: they are replaced.
    DeliveryStore(store.db).folder_files(first, {
        kind: str(out / f"{'long ' * 1000}first.{kind}") for kind in ("jsonl", "csv")})
    assert passes(store) == []
    assert store.status().runs[0].prompts_by_state == {"delivered": 2}
    names = sorted(os.listdir(out))
    assert len(names) == 4 and all(len(os.fsencode(n)) <= 255 for n in names), names
    assert sum(n.endswith(f"(run {first}).jsonl") for n in names) == 1
    assert sum(n.endswith(f"(run {second}).csv") for n in names) == 1

    # Later results of the same run go into the same files.
    ds = DeliveryStore(store.db)
    assert ds.redeliver(first, failed_only=False) == 2
    assert passes(store) == []
    assert sorted(os.listdir(out)) == names
    jsonl = next(n for n in names if n.endswith(f"(run {first}).jsonl"))
    assert len((out / jsonl).read_text().splitlines()) == 2


@pytest.mark.expect_log
def test_a_folder_that_cannot_be_written_is_said_once_per_cause(store: Store,
                                                               tmp_path: Path) -> None:
    run_id = import_prompts(store, tmp_path / "r.jsonl", ["x1"])
    _rename(store, run_id, "r" * 5000)
    out = tmp_path / "out"
    DeliveryStore(store.db).set_target(run_id, "folder", str(out))
    out.write_text("the user put a file where the results folder was")
    finish(store, run_id)

    said = passes(store, 5)
    assert len(said) == 1, [n.message for n in said]
    message = said[0].message
    assert len(message) < 400 and f"run #{run_id}" in message and "Not a directory" in message

    def fixed_then_broken_again(i: int) -> None:
        if i == 1:
            out.unlink()  # fixed: the next pass delivers
        elif i == 2:  # broken again: said again
            out.rename(tmp_path / "moved")
            out.write_text("another file")
            DeliveryStore(store.db).redeliver(run_id, failed_only=False)

    said = passes(store, 5, fixed_then_broken_again)
    assert len(said) == 2 and all("Not a directory" in n.message for n in said)
    assert all(len(os.fsencode(n)) <= 255 for n in os.listdir(tmp_path / "moved"))
    assert len(os.listdir(tmp_path / "moved")) == 2  # delivered while it could be
    assert store.status().runs[0].prompts_by_state == {"delivering": 1}
