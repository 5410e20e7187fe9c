"""Importing into a real workspace: atomic, batched by limits, audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batcher_gui.domain.errors import ImportValidationError
from batcher_gui.domain.models import ImportOptions, ProfileKind, ProfileLimits
from batcher_gui.domain.states import BatchState
from batcher_gui.engine.run_import import import_file
from batcher_gui.storage import Store, tables
from batcher_gui.storage.drafts import Drafts
from tests.storage.schema_helpers import index_names


def write_jsonl(path: Path, n: int, model: str = "gpt-4o-mini", bad_at: int | None = None) -> Path:
    with path.open("w") as fh:
        for i in range(n):
            line = {"custom_id": f"c{i}", "method": "POST", "url": "/v1/chat/completions",
                    "body": {"model": model, "messages": [{"role": "user", "content": f"q{i}"}]}}
            if i == bad_at:
                line["method"] = "PUT"
            fh.write(json.dumps(line) + "\n")
    return path


def counts(store: Store) -> tuple[int, int, int]:
    with store.db.read() as conn:
        return tuple(  # type: ignore[return-value]
            conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar()
            for t in ("runs", "prompts", "batches")
        )


def test_120k_prompts_for_one_model_make_three_drafts(store: Store, tmp_path: Path) -> None:
    summary = import_file(store, write_jsonl(tmp_path / "big.jsonl", 120_000), ImportOptions())
    assert summary.prompts == 120_000
    drafts = store.list_batches()
    assert [b.request_count for b in drafts] == [50_000, 50_000, 20_000]
    assert all(b.state is BatchState.DRAFT for b in drafts)
    assert sum(b.bytes for b in drafts) > 120_000 * 60
    with store.db.read() as conn:
        per_batch = conn.exec_driver_sql(
            "SELECT batch_id, count(*) FROM prompts GROUP BY batch_id ORDER BY batch_id").all()
    assert [n for _, n in per_batch] == [50_000, 50_000, 20_000]
    assert store.batch_transitions(drafts[0].id)[0][:2] == (None, "draft")


def test_byte_limit_splits_batches(store: Store, tmp_path: Path) -> None:
    profile = store.add_profile("tiny", ProfileKind.OPENAI,
                                limits=ProfileLimits(max_requests=1000, max_batch_bytes=2000))
    import_file(store, write_jsonl(tmp_path / "a.jsonl", 50), ImportOptions(),
                profile_name=profile.name)
    batches = store.list_batches()
    assert len(batches) > 1
    assert all(b.bytes <= 2000 for b in batches)
    assert sum(b.request_count for b in batches) == 50


def test_one_bad_line_imports_nothing(store: Store, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", 20_000, bad_at=15_000)
    with pytest.raises(ImportValidationError) as info:
        import_file(store, path, ImportOptions())
    assert info.value.total == 1
    assert info.value.errors[0].line == 15_001 and info.value.errors[0].field == "method"
    assert counts(store) == (0, 0, 0)
    with store.db.read() as conn:  # the import dropped them to rebuild later: rollback restores
        indexes = index_names(conn, "prompts")
    assert indexes == {index.name for index in tables.prompts.indexes} | {tables.NATURAL_ID_INDEX}


def test_valid_only_keeps_the_good_lines(store: Store, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", 100, bad_at=10)
    summary = import_file(store, path, ImportOptions(valid_only=True))
    assert summary.prompts == 99 and summary.skipped == 1
    assert "line 11" in summary.errors[0]
    assert counts(store) == (1, 99, 1)


def test_each_import_fills_drafts_of_its_own(store: Store, tmp_path: Path) -> None:
    """A draft shared with a visible run could be sealed and sent while a big import's
    prompts in it are still hidden; so each run has its own batches."""
    path = write_jsonl(tmp_path / "a.jsonl", 10)
    first = import_file(store, path, ImportOptions())
    second = import_file(store, path, ImportOptions())
    assert first.drafts != second.drafts
    assert [(b.run_id, b.request_count) for b in store.list_batches()] == [
        (first.run.id, 10), (second.run.id, 10)]
    assert second.run.name == "a (2)"


def test_sealing_moves_drafts_to_ready_and_audits(store: Store, tmp_path: Path) -> None:
    import_file(store, write_jsonl(tmp_path / "a.jsonl", 5), ImportOptions())
    sealed = Drafts(store.db).seal()
    assert len(sealed) == 1
    batch = store.get_batch(sealed[0])
    assert batch.state is BatchState.READY_FOR_UPLOAD and batch.sealed_at is not None
    assert [t[1] for t in store.batch_transitions(batch.id)] == ["draft", "ready_for_upload"]
    assert Drafts(store.db).seal() == []
