"""The engine end to end against the sandbox: one run per endpoint kind."""

from __future__ import annotations

import orjson

from tests.engine.conftest import Workspace, assert_all_settled, chat, embeddings, responses


def test_happy_path_every_endpoint(ws: Workspace) -> None:
    runs = [ws.import_lines([make(i) for i in range(6)]) for make in (chat, responses, embeddings)]

    assert ws.run() is True

    assert ws.prompt_states() == {"processed": 18}
    batches = ws.store.list_batches()
    assert [b.state.value for b in batches] == ["completed"] * 3
    assert all(b.provider_batch_id and b.provider_status == "completed" for b in batches)
    assert all(b.counts_total == 6 and b.counts_completed == 6 for b in batches)
    for run, kind in zip(runs, ("chat.completion", "response", "list"), strict=True):
        rows = [r for chunk in ws.store.iter_run_prompts(run.id) for r in chunk]
        assert [r.user_custom_id[1:] for r in rows] == [str(i) for i in range(6)]
        for row in rows:
            body = orjson.loads(row.response)
            assert body["object"] == kind
            assert row.input_tokens and row.input_tokens > 0
            assert row.attempts == 1
            if kind != "list":  # embeddings have no output tokens
                assert row.output_tokens and row.output_tokens > 0
    stats = ws.sandbox.stats()
    assert stats["batches_created"] == 3
    assert stats["files_created"] == 3  # uploads; output files are made by the server
    assert stats["files_deleted"] == 6  # 3 inputs + 3 outputs
    assert_all_settled(ws)
