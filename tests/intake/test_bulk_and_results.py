"""The bulk endpoint (100,000 lines in one call; a bad line anywhere changes nothing) and a
request's state and result by custom_id, before and after the sandbox answered."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from batcher_gui.storage.tables import batches
from tests.intake.conftest import jsonl, line, serving


def test_bulk_of_100000_lines_lands_whole(root: Path, backend: str | None) -> None:
    async def body() -> None:
        async with serving(root, backend) as s:
            data = jsonl(line(f"k{i}", model="gpt-4o-mini" if i % 3 else "gpt-4.1-mini")
                         for i in range(100_000))
            status, answer = await s.bulk(data, headers={"X-Batcher-Run": "bulk"})
            assert (status, answer) == (202, {"accepted": 100_000, "run": "bulk"})
            run = await s.service.find_run("bulk")
            assert run.prompt_count == 100_000
            found = await s.get("k99999")
            assert found[0] == 200 and found[1]["state"] == "pending"
            # drafts per model, within the sandbox profile's limits
            profile = await s.service.profile("sandbox")
            with s.service.store.db.read() as conn:
                rows = conn.execute(batches.select().where(batches.c.run_id == run.id)).all()
            assert sum(r.request_count for r in rows) == 100_000
            assert {r.model for r in rows} == {"gpt-4o-mini", "gpt-4.1-mini"}
            assert all(r.request_count <= profile.limits.max_requests for r in rows)
            # a second bulk appends to the same run's open drafts
            status, answer = await s.bulk(jsonl([line("k-more")]),
                                          headers={"X-Batcher-Run": "bulk"})
            assert status == 202 and (await s.service.find_run("bulk")).prompt_count == 100_001

    asyncio.run(body())


def test_bad_bulk_changes_nothing(root: Path, backend: str | None) -> None:
    async def body() -> None:
        async with serving(root, backend) as s:
            assert (await s.post(line("old")))[0] == 202
            good = [line(f"g{i}") for i in range(50)]
            bad = [*good[:10], {**line("m"), "method": "GET"}, *good[10:20], line("g3"),
                   {"custom_id": "nobody"}, *good[20:]]
            data = jsonl(bad)[:-1] + b"\n{broken\n"
            status, answer = await s.bulk(data)
            assert status == 422
            lines = [(e["line"], e["source"]["pointer"]) for e in answer["errors"]]
            assert (11, "/method") in lines and (22, "/custom_id") in lines
            assert (23, "/method") in lines and (54, "") in lines
            assert answer["error_count"] == len(answer["errors"])
            # a custom_id taken before: 409, naming the line
            status, answer = await s.bulk(jsonl([line("n1"), line("old")]))
            assert status == 409 and answer["duplicates"] == [{"line": 2, "custom_id": "old"}]
            assert [r.prompt_count for r in await s.service.runs()] == [1]
            for cid in ("g0", "n1"):
                assert (await s.get(cid))[0] == 404
            async with s.client.post("/api/requests/bulk", data=b"x",
                                     headers={"Content-Type": "image/png"}) as r:
                assert r.status == 415

    asyncio.run(body())


def test_state_and_result_before_and_after_the_sandbox_answered(root: Path,
                                                                backend: str | None) -> None:
    async def body() -> None:
        async with serving(root, backend) as s:
            assert (await s.post(line("r1")))[0] == 202
            status, before = await s.get("r1")
            assert status == 200 and before["state"] == "pending"
            assert before["response"] is None and before["attempts"] == 0
            assert before["created_at"].endswith("+00:00")
            await s.service.start_engine()
            deadline = time.monotonic() + 60
            after = before
            while after["state"] not in ("processed", "failed") and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                after = (await s.get("r1"))[1]
            assert after["state"] == "processed", after
            assert after["batch"]["state"] == "completed"
            assert after["batch"]["provider_batch_id"]
            assert after["response"]["choices"][0]["message"]["content"]
            assert after["usage"]["input_tokens"] is not None

    asyncio.run(body())


def test_sending_rule_a_full_draft_goes_at_once_a_partial_one_waits(root: Path) -> None:
    """Drafts are sealed when full, or after ``auto_seal_quiet_seconds`` without growing:
    with an hour's quiet, 7 requests in drafts of 5 send the full draft and keep 2 waiting."""
    from batcher_gui.domain.models import ProfileLimits

    async def body() -> None:
        async with serving(root, None, engine_overrides={"quiet_seconds": 3600}) as s:
            await s.service.edit_profile("sandbox", limits=ProfileLimits(max_requests=5))
            await s.service.start_engine()
            status, _ = await s.bulk(jsonl(line(f"q{i}") for i in range(7)))
            assert status == 202
            deadline = time.monotonic() + 60
            states: list[str] = []
            while time.monotonic() < deadline:
                states = [(await s.get(f"q{i}"))[1]["state"] for i in range(7)]
                if states[:5] == ["processed"] * 5:
                    break
                await asyncio.sleep(0.1)
            assert states == ["processed"] * 5 + ["pending"] * 2
            waiting = (await s.get("q6"))[1]["batch"]
            assert waiting["state"] == "draft"

    asyncio.run(body())
