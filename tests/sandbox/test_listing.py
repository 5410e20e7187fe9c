"""List endpoints: cursors, has_more, first/last ids, and SDK auto-paging that ends."""

from __future__ import annotations

import aiohttp
from openai import AsyncOpenAI

from batcher_gui.sandbox import SandboxConfig, SandboxServer

from .helpers import Runner, chat_file, submit, upload


def test_batches_auto_paging_newest_first(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        created = [
            (await submit(client, chat_file(1), metadata={"n": str(i)})).id for i in range(7)
        ]
        listed = [batch.id async for batch in client.batches.list(limit=2)]  # 4 pages
        assert listed == list(reversed(created))
        first = await client.batches.list(limit=3)
        assert first.has_more is True and len(first.data) == 3
        last = await client.batches.list(limit=3, after=created[1])
        assert [b.id for b in last.data] == [created[0]] and last.has_more is False
        assert server.stats()["requests"]["batches.list"] == 6

    run(scenario, SandboxConfig(instant=True))


def test_files_auto_paging_order_and_purpose(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        ids = [await upload(client, b"{}\n", f"f{i}.jsonl") for i in range(5)]
        other = await client.files.create(file=("x.txt", b"x"), purpose="user_data")
        ascending = [f.id async for f in client.files.list(limit=2, order="asc", purpose="batch")]
        assert ascending == ids
        descending = [f.id async for f in client.files.list(limit=2)]
        assert descending == [other.id, *reversed(ids)]
        # A cursor stays valid after its object is deleted.
        await client.files.delete(ids[2])
        page = await client.files.list(limit=10, order="asc", after=ids[2])
        assert [f.id for f in page.data] == [ids[3], ids[4], other.id]

    run(scenario)


def test_list_page_shape_on_the_wire(run: Runner) -> None:
    async def scenario(server: SandboxServer, client: AsyncOpenAI) -> None:
        ids = [await upload(client, b"{}\n") for _ in range(3)]
        headers = {"Authorization": f"Bearer {server.token}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            async with http.get(f"{server.base_url}/files?limit=2&order=asc") as resp:
                page = await resp.json()
                assert resp.headers["x-request-id"].startswith("req_")
            async with http.get(f"{server.base_url}/batches") as resp:
                empty = await resp.json()
            async with http.get(f"{server.base_url}/batches?limit=101") as resp:
                assert resp.status == 400
                assert (await resp.json())["error"]["param"] == "limit"
        assert page["object"] == "list" and page["has_more"] is True
        assert (page["first_id"], page["last_id"]) == (ids[0], ids[1])
        assert empty == {
            "object": "list",
            "data": [],
            "first_id": None,
            "last_id": None,
            "has_more": False,
        }

    run(scenario)
