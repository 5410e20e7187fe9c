"""Bearer tokens (none, wrong, revoked: the same 401), rate limits (429 with Retry-After,
never a 5xx under load) and body size limits (413)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import aiohttp
import orjson

from batcher_gui.app.intake import hash_token
from tests.intake.conftest import jsonl, line, serving


def test_tokens_refused_without_detail(root: Path, backend: str | None) -> None:
    async def body() -> None:
        async with serving(root, backend) as s:
            stored, other = await s.intake.create_token("second")
            # only the hash is kept
            tokens = {t.name: t for t in await s.intake.tokens()}
            assert set(tokens) == {"tests", "second"}
            raw = await s.service.read(s.intake.rows.token_by_hash, hash_token(other))
            assert raw is not None and raw[1] == hash_token(other) and other not in raw
            answers = []
            for auth in (None, "Bearer nope", f"Bearer {s.token}x", f"Basic {s.token}"):
                headers = {} if auth is None else {"Authorization": auth}
                async with aiohttp.ClientSession(base_url=s.handle.url) as bare:
                    for method, path in (("POST", "/api/requests"),
                                         ("GET", "/api/requests/x"),
                                         ("POST", "/api/requests/bulk")):
                        async with bare.request(method, path, headers=headers,
                                                data=orjson.dumps(line("t1"))) as r:
                            answers.append((r.status, r.headers.get("WWW-Authenticate"),
                                            await r.json()))
            assert {a[0] for a in answers} == {401}
            assert {a[1] for a in answers} == {'Bearer realm="batcher-intake"'}
            assert {orjson.dumps(a[2]) for a in answers} == {orjson.dumps(
                {"error": "unauthorized", "detail": "a valid bearer token is required"})}
            good = {"Authorization": f"Bearer {other}", "X-Batcher-Profile": "sandbox"}
            async with aiohttp.ClientSession(base_url=s.handle.url, headers=good) as c2:
                async with c2.post("/api/requests", data=orjson.dumps(line("t2"))) as r:
                    assert r.status == 202
                await s.intake.revoke_token("second")
                async with c2.post("/api/requests", data=orjson.dumps(line("t3"))) as r:
                    assert r.status == 401
            assert (await s.get("t2"))[0] == 200 and (await s.get("t3"))[0] == 404
            assert (await s.get("t1"))[0] == 404

    asyncio.run(body())


def test_load_until_errors_gives_429_never_5xx(root: Path) -> None:
    async def body() -> None:
        async with serving(root, None, rate=20, burst=10, max_pending=8) as s:
            retry_after: list[int] = []
            kinds: set[str] = set()

            async def one(i: int) -> tuple[int, int]:
                async with s.client.post("/api/requests", data=orjson.dumps(line(f"L{i}"))) as r:
                    if r.status == 429:
                        retry_after.append(int(r.headers["Retry-After"]))
                        kinds.add((await r.json())["error"])
                    return i, r.status

            answers = dict(await asyncio.gather(*(one(i) for i in range(300))))
            statuses = Counter(answers.values())
            assert statuses[429] > 0 and statuses[202] >= 1
            assert set(statuses) <= {202, 429}, statuses
            assert min(retry_after) >= 1 and kinds <= {"rate_limited", "busy"}
            # every acknowledged request is there, and no refused one
            for i, status in answers.items():
                found = await s.service.read(s.intake.rows.find, f"L{i}")
                assert (found is not None) == (status == 202)

    asyncio.run(body())


def test_body_limits_give_413_and_change_nothing(root: Path) -> None:
    async def body() -> None:
        async with serving(root, None, max_body_bytes=2000, max_bulk_bytes=5000) as s:
            big = line("big")
            big["body"]["messages"][0]["content"] = "x" * 3000
            status, answer = await s.post(big)
            assert status == 413 and answer["error"] == "payload_too_large"
            status, answer = await s.bulk(jsonl(line(f"b{i}") for i in range(100)))
            assert status == 413 and "at most 5,000 bytes" in answer["detail"]
            assert await s.service.runs() == []

    asyncio.run(body())
