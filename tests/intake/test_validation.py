"""The predecessor's validation cases (seed-features §4 scenarios 1, 2, 4, 5), on both
databases: what is refused gets its 4xx and changes nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from tests.intake.conftest import line, serving

WEBHOOK = {"type": "webhook", "webhook_url": "http://python-http-webhook:8080/webhook"}


def test_valid_request_is_accepted_into_a_draft(root: Path, backend: str | None) -> None:
    async def body() -> None:
        async with serving(root, backend) as s:
            assert await s.post(line("a1")) == (202, {"custom_id": "a1"})
            # docker-style webhook hosts are fine (predecessor 0.1.18)
            assert await s.post(line("a2", delivery_config=WEBHOOK), headers={
                "X-Batcher-Run": "hooked"}) == (202, {"custom_id": "a2"})
            status, found = await s.get("a1")
            assert status == 200
            assert found["state"] == "pending" and found["batch"]["state"] == "draft"
            assert found["run"]["name"].startswith("intake 2")
            runs = {r.name: r for r in await s.service.runs()}
            assert runs["hooked"].delivery_kind == "webhook"
            assert runs["hooked"].delivery_target == WEBHOOK["webhook_url"]
            assert runs[found["run"]["name"]].prompt_count == 1

    asyncio.run(body())


BAD = [
    ({k: v for k, v in line("x").items() if k != "custom_id"}, "/custom_id",
     "Missing field: custom_id"),
    ({**line("x"), "method": "GET"}, "/method", "Invalid value for enum"),
    ({**line("x"), "body": {}}, "/body/model", "Missing field: model"),
    ({**line("x"), "url": "/v1/nothing"}, "/url", "Invalid value for enum"),
    (line("x", delivery_config={"type": "invalid_type"}), "/delivery_config/type",
     "unsupported delivery type: invalid_type"),
    (line("x", delivery_config={"type": "webhook"}), "/delivery_config/webhook_url",
     "webhook_url is required for webhook delivery"),
    (line("x", delivery_config={"type": "webhook", "webhook_url": "ftp://h/x"}),
     "/delivery_config/webhook_url", "webhook_url must be a valid HTTP/HTTPS URL"),
    (line("x", delivery_config={"type": "rabbitmq", "rabbitmq_queue": "q"}),
     "/delivery_config/type", "unsupported delivery type: rabbitmq"),
    (line("x", delivery_config={"webhook_url": "http://h/"}), "/delivery_config/type",
     "type is required"),
    ({**line("x"), "extra": 1}, "/extra", "Unexpected field: extra"),
    ({**line("x"), "body": {"model": "gpt-4o-mini"}}, "/body/messages",
     "missing required field 'body.messages'"),
    (line("x\x00y"), "/custom_id", "must not contain a NUL character"),
]


@pytest.mark.parametrize(("obj", "pointer", "detail"), BAD,
                         ids=[b[1] + ":" + b[2][:20] for b in BAD])
def test_invalid_request_gets_422_and_changes_nothing(root: Path, obj: object, pointer: str,
                                                      detail: str) -> None:
    async def body() -> None:
        async with serving(root, None) as s:
            status, answer = await s.post(obj)
            assert status == 422
            errors = answer["errors"]
            assert any(e["source"]["pointer"] == pointer and detail in e["detail"]
                       and e["title"] == "Invalid value" for e in errors), errors
            assert await s.service.runs() == []
            assert (await s.get("x"))[0] == 404

    asyncio.run(body())


def test_duplicate_custom_id_is_409_across_runs(root: Path, backend: str | None) -> None:
    async def body() -> None:
        async with serving(root, backend) as s:
            assert (await s.post(line("d1")))[0] == 202
            status, answer = await s.post(line("d1"), headers={"X-Batcher-Run": "other"})
            assert status == 409
            assert answer["error"] == "duplicate_custom_id" and answer["custom_id"] == "d1"
            assert [r.name for r in await s.service.runs()] != ["other"]
            assert len(await s.service.runs()) == 1

    asyncio.run(body())


def test_bad_json_unknown_profile_and_run_conflicts(root: Path) -> None:
    async def body() -> None:
        async with serving(root, None) as s:
            async with s.client.post("/api/requests", data=b"{nope") as r:
                assert r.status == 400 and (await r.json())["error"] == "invalid_json"
            status, answer = await s.post(line("p1", profile="nobody"))
            assert status == 422 and answer["errors"][0]["source"]["pointer"] == "/profile"
            assert (await s.post(line("w1"), headers={"X-Batcher-Run": "r"}))[0] == 202
            # one delivery per run: a request with a webhook cannot join a run without one
            status, answer = await s.post(line("w2", delivery_config={
                "type": "webhook", "webhook_url": "http://hook:1/x"}),
                headers={"X-Batcher-Run": "r"})
            assert status == 422 and answer["error"] == "validation_error"
            assert "delivery" in answer["errors"][0]["detail"]
            assert (await s.get("w2"))[0] == 404
            status, answer = await s.get("nope")
            assert status == 404 and answer["error"] == "not_found"

    asyncio.run(body())


def test_nul_in_an_id_is_refused_on_both_databases(root: Path, backend: str | None) -> None:
    async def body() -> None:
        async with serving(root, backend) as s:
            status, answer = await s.post(line("n\x00ul"))
            assert status == 422 and answer["errors"][0]["source"]["pointer"] == "/custom_id"
            status, answer = await s.bulk(b"".join(
                orjson.dumps(o) + b"\n" for o in (line("ok1"), line("ok2", model="m\x00"))))
            assert status == 422 and answer["errors"][0]["line"] == 2
            assert await s.service.runs() == []

    asyncio.run(body())
