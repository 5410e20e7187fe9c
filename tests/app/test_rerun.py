"""Re-run with a change: lineage, which prompts, what changes in each request, all or nothing,
and the Compare offer once the re-run has ended (real workspace, sandbox, real engine)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from batcher_gui.app import Service
from batcher_gui.domain.models import ImportOptions
from batcher_gui.domain.rerun import RerunChange, RerunRefused, RerunScope
from batcher_gui.domain.views import CheckState, PromptQuery
from tests.app.conftest import OpenService, run, write_chat


def _rows(service: Service, run_id: int) -> list[tuple[str, str, str, dict[str, Any]]]:
    return [(cid, endpoint, model, orjson.loads(bytes(body))) for cid, endpoint, model, body in
            _sql(service, "SELECT user_custom_id, endpoint, model, body FROM prompts "
                          "WHERE run_id = ? ORDER BY id", run_id)]


def _table_counts(service: Service) -> tuple[int, int, int]:
    return tuple(_sql(service, f"SELECT count(*) FROM {t}")[0][0]  # type: ignore
                 for t in ("runs", "prompts", "batches"))


def _sql(service: Service, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """A statement on the service's database (SQLite or PostgreSQL), committed."""
    with service.store.db.write() as conn:
        result = conn.exec_driver_sql(sql, params)
        return [tuple(r) for r in result.all()] if result.returns_rows else []


def test_model_change_changes_only_the_model_and_lineage_is_stored_and_shown(
        open_service: OpenService, tmp_path: Path) -> None:
    data = write_chat(tmp_path / "reviews.jsonl", 5)

    async def scenario() -> None:
        service = await open_service()
        try:
            origin = (await service.import_file(data, ImportOptions(), profile="sandbox")).run
            summary = await service.rerun(origin.id, RerunChange(model="gpt-4o"),
                                          RerunScope.everything())
            new = summary.run
            assert new.name == "reviews → gpt-4o" and summary.prompts == 5
            before, after = _rows(service, origin.id), _rows(service, new.id)
            assert [r[0] for r in after] == [r[0] for r in before]  # custom_ids kept
            for (_, endpoint, _, body), (_, new_endpoint, model, new_body) in zip(
                    before, after, strict=True):
                assert new_endpoint == endpoint and model == "gpt-4o"
                assert new_body == {**body, "model": "gpt-4o"}
            [(origin_id, change)] = _sql(service, "SELECT origin_run_id, origin_change FROM "
                                         "runs WHERE id = ?", new.id)
            assert origin_id == origin.id
            assert orjson.loads(change) == {"model": "gpt-4o", "only": "all", "prompts": 5}
            assert await service.lineages() == {
                new.id: f"re-run of #{origin.id} (model → gpt-4o; all 5 prompts)"}
            # A second re-run with the same change gets a name of its own.
            again = await service.rerun(origin.id, RerunChange(model="gpt-4o"),
                                        RerunScope.everything())
            assert again.run.name == "reviews → gpt-4o (2)"
        finally:
            await service.close()

    run(scenario())


def test_selection_by_query_and_by_ids(open_service: OpenService, tmp_path: Path) -> None:
    data = write_chat(tmp_path / "p.jsonl", 10)

    async def scenario() -> None:
        service = await open_service()
        try:
            origin = (await service.import_file(data, ImportOptions(), profile="sandbox")).run
            _sql(service, "UPDATE prompts SET check_state = 0 WHERE run_id = ? AND "
                 "user_custom_id IN ('c2', 'c7')", origin.id)
            _sql(service, "UPDATE prompts SET check_state = 1 WHERE run_id = ? AND "
                 "user_custom_id = 'c3'", origin.id)
            failed = await service.rerun(origin.id, RerunChange(model="gpt-4o"),
                                         RerunScope.failed_checks())
            assert [r[0] for r in _rows(service, failed.run.id)] == ["c2", "c7"]
            assert (await service.lineages())[failed.run.id].endswith("; 2 failed checks)")
            shown = await service.rerun(
                origin.id, RerunChange(model="gpt-4o"),
                RerunScope(PromptQuery(text="q 5", checks=(CheckState.UNCHECKED,)),
                           words="shown"))
            assert [r[0] for r in _rows(service, shown.run.id)] == ["c5"]
            ids = [pid for (pid,) in _sql(service, "SELECT id FROM prompts WHERE run_id = ? "
                                          "AND user_custom_id IN ('c9', 'c0')", origin.id)]
            chosen = await service.rerun(origin.id, RerunChange(model="gpt-4o"),
                                         RerunScope.of_ids(ids, words="different"))
            assert [r[0] for r in _rows(service, chosen.run.id)] == ["c0", "c9"]
            # Ids of another run are not taken.
            with pytest.raises(RerunRefused, match=r"nothing to re-run: run #2 'p → gpt-4o' "
                                                   r"has none of the prompts asked for "
                                                   r"\(selected\)"):
                await service.rerun(failed.run.id, RerunChange(model="gpt-4o-mini"),
                                    RerunScope.of_ids(ids))
        finally:
            await service.close()

    run(scenario())


def test_system_prompt_change_on_chat_and_claude_requests(
        open_service: OpenService, tmp_path: Path) -> None:
    data = tmp_path / "s.jsonl"
    data.write_bytes(orjson.dumps({
        "custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [
            {"role": "system", "content": "old"}, {"role": "user", "content": "hi"}]}}) + b"\n")

    async def scenario() -> None:
        service = await open_service()
        try:
            origin = (await service.import_file(data, ImportOptions(), profile="sandbox")).run
            chat = await service.rerun(origin.id, RerunChange(system="new"),
                                       RerunScope.everything())
            [(_, _, _, body)] = _rows(service, chat.run.id)
            assert body["messages"] == [{"role": "system", "content": "new"},
                                        {"role": "user", "content": "hi"}]
            claude = await service.rerun(
                origin.id, RerunChange(profile="sandbox-claude", model="claude-haiku-4-5",
                                       system="brief", options={"temperature": 0.2}),
                RerunScope.everything())
            [(cid, endpoint, model, body)] = _rows(service, claude.run.id)
            assert (cid, endpoint, model) == ("a", "/v1/messages", "claude-haiku-4-5")
            assert body["system"] == "brief" and body["temperature"] == 0.2
            assert body["messages"] == [{"role": "user", "content": "hi"}]
            # A Claude run re-run on Claude: the system prompt is the request's own field.
            again = await service.rerun(claude.run.id, RerunChange(system=""),
                                        RerunScope.everything())
            [(_, _, _, body)] = _rows(service, again.run.id)
            assert "system" not in body and body["max_tokens"] == 1024
        finally:
            await service.close()

    run(scenario())


def test_refused_changes_leave_nothing(open_service: OpenService, tmp_path: Path) -> None:
    data = write_chat(tmp_path / "p.jsonl", 3)

    async def scenario() -> None:
        service = await open_service()
        try:
            origin = (await service.import_file(data, ImportOptions(), profile="sandbox")).run
            claude = await service.rerun(
                origin.id, RerunChange(profile="sandbox-claude", model="claude-haiku-4-5"),
                RerunScope.everything())
            counts = _table_counts(service)
            with pytest.raises(RerunRefused, match="Claude requests cannot be converted to "
                                                   "OpenAI requests"):
                await service.rerun(claude.run.id, RerunChange(profile="sandbox"),
                                    RerunScope.everything())
            with pytest.raises(RerunRefused, match="'gpt-4o-mini' is an OpenAI model"):
                await service.rerun(origin.id, RerunChange(profile="sandbox-claude"),
                                    RerunScope.everything())
            with pytest.raises(RerunRefused,
                               match=r"none of the prompts asked for \(failed prompts\)"):
                await service.rerun(origin.id, RerunChange(model="x"), RerunScope.failed())
            with pytest.raises(RerunRefused, match="choose what to change"):
                await service.rerun(origin.id, RerunChange(), RerunScope.everything())
            # One prompt in the middle cannot become a Claude request: nothing is kept.
            (body,) = _sql(service, "SELECT body FROM prompts WHERE run_id = ? AND "
                                    "user_custom_id = 'c1'", origin.id)[0]
            _sql(service, "UPDATE prompts SET body = ? WHERE run_id = ? AND "
                 "user_custom_id = 'c1'",
                 orjson.dumps({**orjson.loads(bytes(body)), "n": 2}), origin.id)
            with pytest.raises(RerunRefused, match="prompt 'c1': .*one answer per request"):
                await service.rerun(origin.id, RerunChange(profile="sandbox-claude",
                                                           model="claude-haiku-4-5"),
                                    RerunScope.everything())
            assert _table_counts(service) == counts
        finally:
            await service.close()

    run(scenario())


def _csv(path: Path) -> Path:
    path.write_text("id,text\nr1,first\nr2,second\nr3,third\n", encoding="utf-8")
    return path


def test_template_change_reads_the_source_again(open_service: OpenService,
                                                tmp_path: Path) -> None:
    source = _csv(tmp_path / "t.csv")
    os.utime(source, (1_000_000, 1_000_000))  # written well before the import

    async def scenario() -> None:
        service = await open_service()
        try:
            origin = (await service.import_file(
                source, ImportOptions(template="Say: {text}", model="gpt-4o-mini",
                                      id_column="id", system="sys"),
                profile="sandbox")).run
            plan = await service.plan_rerun(origin.id, RerunChange(template="Judge: {text}"),
                                            RerunScope.everything())
            assert plan.count == 3 and plan.estimate is not None
            assert orjson.loads(plan.examples[0][2])["messages"][-1]["content"] == "Judge: first"
            ids = [pid for (pid,) in _sql(service, "SELECT id FROM prompts WHERE run_id = ? "
                                          "AND user_custom_id IN ('r1', 'r3')", origin.id)]
            made = await service.rerun(origin.id, RerunChange(template="Judge: {text}"),
                                       RerunScope.of_ids(ids))
            rows = _rows(service, made.run.id)
            assert [(r[0], r[3]["messages"]) for r in rows] == [
                ("r1", [{"role": "system", "content": "sys"},
                        {"role": "user", "content": "Judge: first"}]),
                ("r3", [{"role": "system", "content": "sys"},
                        {"role": "user", "content": "Judge: third"}])]
            # The re-run stands on the same file: a re-run of it with another template works.
            again = await service.rerun(made.run.id, RerunChange(template="Rate: {text}"),
                                        RerunScope.everything())
            assert [r[3]["messages"][-1]["content"] for r in _rows(service, again.run.id)] \
                == ["Rate: first", "Rate: third"]
        finally:
            await service.close()

    run(scenario())


def test_source_gone_or_changed_is_a_clear_error_and_nothing_is_made(
        open_service: OpenService, tmp_path: Path) -> None:
    source = _csv(tmp_path / "t.csv")
    os.utime(source, (1_000_000, 1_000_000))

    async def scenario() -> None:
        service = await open_service()
        try:
            origin = (await service.import_file(
                source, ImportOptions(template="Say: {text}", model="gpt-4o-mini"),
                profile="sandbox")).run
            counts = _table_counts(service)
            source.write_text("id,text\nr1,first\n", encoding="utf-8")
            with pytest.raises(RerunRefused, match=r"has changed since the run was imported"):
                await service.rerun(origin.id, RerunChange(template="J: {text}"),
                                    RerunScope.everything())
            source.unlink()
            with pytest.raises(RerunRefused, match=r"t\.csv, is gone: a new template needs "
                                                   "the file"):
                await service.plan_rerun(origin.id, RerunChange(template="J: {text}"),
                                         RerunScope.everything())
            with pytest.raises(RerunRefused, match=r"t\.csv, is gone"):
                await service.rerun(origin.id, RerunChange(template="J: {text}"),
                                    RerunScope.everything())
            assert _table_counts(service) == counts
            # Other changes do not need the file.
            made = await service.rerun(origin.id, RerunChange(model="gpt-4o"),
                                       RerunScope.everything())
            assert made.prompts == 3
        finally:
            await service.close()

    run(scenario())


def test_compare_is_offered_once_when_the_rerun_has_ended(
        open_service: OpenService, tmp_path: Path) -> None:
    data = write_chat(tmp_path / "p.jsonl", 4)

    async def scenario() -> None:
        service = await open_service()
        try:
            origin = (await service.import_file(data, ImportOptions(), profile="sandbox")).run
            made = await service.rerun(origin.id, RerunChange(model="gpt-4o"),
                                       RerunScope.everything())
            assert await service.reruns_to_compare() == []  # not sent yet: not ended
            await service.submit()
            await service.sync(timeout=60)
            counts = await service.run_counts(made.run.id)
            assert sum(counts.values()) == 4 and all(s.value == "processed" for s in counts)
            assert await service.reruns_to_compare() == [(origin.id, made.run.id)]
            assert await service.reruns_to_compare() == []
        finally:
            await service.close()
        reopened = await open_service()  # after a restart: still offered once only
        try:
            assert await reopened.reruns_to_compare() == []
        finally:
            await reopened.close()

    run(scenario())


def test_claude_estimate_is_counted_by_the_provider(open_service: OpenService,
                                                    tmp_path: Path) -> None:
    data = write_chat(tmp_path / "p.jsonl", 3)

    async def scenario() -> None:
        service = await open_service()
        try:
            origin = (await service.import_file(data, ImportOptions(), profile="sandbox")).run
            plan = await service.plan_rerun(
                origin.id, RerunChange(profile="sandbox-claude", model="claude-haiku-4-5"),
                RerunScope.everything())
            assert plan.estimate is not None and plan.estimate.sample_problem is None
            assert plan.estimate.sampled == 3 and plan.estimate.method == "counted"
            assert plan.count == 3 and _table_counts(service)[0] == 1  # nothing written
        finally:
            await service.close()

    run(scenario())
