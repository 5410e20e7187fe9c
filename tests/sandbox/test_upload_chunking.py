"""Uploads whose body reaches the server in awkward TCP pieces.

aiohttp 3.14's `BodyPartReader.read_chunk()` calls the deprecated
`StreamReader.unread_data()` (unsuppressed) when one read of a part comes back shorter than
the boundary and the next read overshoots the chunk size. Whether that happens depends on
how the body arrives in pieces, so under `filterwarnings = error` an upload answered 500
now and then. These tests send the body piece by piece over a raw socket (pausing so the
server consumes each piece on its own), which makes that arrival pattern deterministic.
"""

from __future__ import annotations

import asyncio
import random
import warnings
from pathlib import Path

import orjson
import pytest
from aiohttp import StreamReader

from batcher_gui.sandbox import SandboxServer
from batcher_gui.sandbox.files_api import _FormReader

from .helpers import chat_file

BOUNDARY = b"d41d8cd98f00b204e9800998ecf8427e"  # 32 hex chars, like httpx's boundaries
PAUSE = 0.05  # long enough for the server to read each piece before the next one lands


def _form(data: bytes, *, purpose: bytes = b"batch", filename: bytes = b"in.jsonl") -> bytes:
    return (
        b"--" + BOUNDARY + b"\r\n"
        b'Content-Disposition: form-data; name="purpose"\r\n\r\n'
        + purpose + b"\r\n"
        b"--" + BOUNDARY + b"\r\n"
        b'Content-Disposition: form-data; name="file"; filename="' + filename + b'"\r\n'
        b"Content-Type: application/jsonl\r\n\r\n"
        + data + b"\r\n"
        b"--" + BOUNDARY + b"--\r\n"
    )  # fmt: skip


async def _post_in_pieces(server: SandboxServer, body: bytes, cuts: list[int]) -> tuple[int, dict]:
    """POST /v1/files with `body` split at `cuts`, pausing between the pieces."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    head = (
        b"POST /v1/files HTTP/1.1\r\n"
        b"Host: sandbox\r\n"
        b"Authorization: Bearer " + server.token.encode() + b"\r\n"
        b"Content-Type: multipart/form-data; boundary=" + BOUNDARY + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        b"Connection: close\r\n\r\n"
    )  # fmt: skip
    writer.write(head)
    await writer.drain()
    edges = [0, *sorted(set(cuts)), len(body)]
    for start, end in zip(edges, edges[1:], strict=False):
        await asyncio.sleep(PAUSE)
        writer.write(body[start:end])
        await writer.drain()
    raw = await reader.read()
    writer.close()
    await writer.wait_closed()
    head_bytes, _, payload = raw.partition(b"\r\n\r\n")
    status = int(head_bytes.split(b" ", 2)[1])
    return status, orjson.loads(payload)


def _upload(tmp_path: Path, body: bytes, cuts: list[int]) -> tuple[int, dict, list[str]]:
    async def main() -> tuple[int, dict]:
        async with SandboxServer(tmp_path / "state") as server:
            return await _post_in_pieces(server, body, cuts)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status, payload = asyncio.run(main())
    return status, payload, [f"{w.category.__name__}: {w.message}" for w in caught]


def test_short_read_then_a_full_chunk_is_fine(tmp_path: Path) -> None:
    """The exact pattern behind the flaky 500: a part's first loop read returns a few bytes
    (fewer than the boundary), the next one a full chunk."""
    data = chat_file(400)  # ~40 KiB: the next read after the short one fills a whole chunk
    body = _form(data)
    start = body.index(b"batch\r\n")
    # "ba" | "tch" | the rest: the 3-byte read is shorter than the boundary line.
    status, payload, caught = _upload(tmp_path, body, [start + 2, start + 5])
    assert caught == []
    assert status == 200, payload
    assert payload["purpose"] == "batch" and payload["bytes"] == len(data)


@pytest.mark.parametrize("seed", range(4))
def test_random_pieces_round_trip(tmp_path: Path, seed: int) -> None:
    """Random small and straddling pieces (across headers, values and boundaries): the
    stored file is byte-for-byte what was sent."""
    rng = random.Random(seed)
    data = chat_file(300) + b"no trailing newline"
    body = _form(data)
    delimiter = b"\r\n--" + BOUNDARY
    cuts = [rng.randrange(1, len(body)) for _ in range(6)]
    for at in (body.index(delimiter), body.rindex(delimiter)):  # split inside delimiters
        cuts.append(at + rng.randrange(1, len(delimiter)))
    status, payload, caught = _upload(tmp_path, body, cuts)
    assert caught == []
    assert status == 200, payload
    stored = tmp_path / "state"
    contents = [p.read_bytes() for p in stored.rglob("*") if p.is_file() and p.suffix != ".json"]
    assert data in contents


class _Protocol:
    """Just enough of a transport protocol for a hand-fed `StreamReader`."""

    connected = True

    def pause_reading(self) -> None: ...

    def resume_reading(self, resume_parser: bool = True) -> None: ...


async def _parse(body: bytes, pieces: list[bytes]) -> list[tuple[dict[str, str], bytes]]:
    """Run the sandbox's form reader over `pieces`, fed one at a time as the reader waits."""
    stream = StreamReader(_Protocol(), 2**16, loop=asyncio.get_running_loop())  # type: ignore[arg-type]

    async def feed() -> None:
        for piece in pieces:
            for _ in range(3):
                await asyncio.sleep(0)  # let the reader drain what it has
            stream.feed_data(piece)
        stream.feed_eof()

    feeder = asyncio.create_task(feed())
    reader = _FormReader(stream, BOUNDARY)
    parts = []
    while (headers := await reader.next_part()) is not None:
        content = bytearray()
        while (chunk := await reader.read_chunk()) is not None:
            content += chunk
        parts.append((headers, bytes(content)))
    await feeder
    return parts


# Content that comes close to a delimiter without being one, and ends on a bare CR.
TRICKY = b"a\r\n--" + BOUNDARY[:-1] + b"X\r\n-" + BOUNDARY + b"\r\n--\r"
EXPECTED = [
    ({"content-disposition": 'form-data; name="purpose"'}, b"batch"),
    (
        {
            "content-disposition": 'form-data; name="file"; filename="in.jsonl"',
            "content-type": "application/jsonl",
        },
        TRICKY,
    ),
]


def test_reader_every_two_way_split() -> None:
    body = b"preamble\r\n" + _form(TRICKY) + b"epilogue"
    for at in range(1, len(body)):
        assert asyncio.run(_parse(body, [body[:at], body[at:]])) == EXPECTED, at


def test_reader_one_byte_at_a_time() -> None:
    body = _form(TRICKY)
    assert asyncio.run(_parse(body, [body[i : i + 1] for i in range(len(body))])) == EXPECTED


def test_reader_padding_empty_parts_and_no_headers() -> None:
    body = (
        b"--" + BOUNDARY + b" \t\r\n\r\n"  # transport padding; a part without headers
        b"x\r\n"
        b"--" + BOUNDARY + b"\r\n"
        b'Content-Disposition: form-data; name="empty"\r\n\r\n'
        b"\r\n"
        b"--" + BOUNDARY + b"--"
    )  # fmt: skip
    parts = asyncio.run(_parse(body, [body]))
    assert parts == [({}, b"x"), ({"content-disposition": 'form-data; name="empty"'}, b"")]


@pytest.mark.parametrize(
    "body",
    [
        _form(b"{}\n")[:-20],  # cut short: no close delimiter
        b"x" * 20_000,  # no boundary at all
        b"--" + BOUNDARY + b"junk\r\n\r\n\r\n--" + BOUNDARY + b"--",  # not a delimiter line
        b"--" + BOUNDARY + b"\r\nno colon here\r\n\r\n\r\n--" + BOUNDARY + b"--",
    ],
)
def test_reader_rejects_malformed_bodies(body: bytes) -> None:
    with pytest.raises(ValueError):
        asyncio.run(_parse(body, [body]))


def test_malformed_upload_is_a_400_not_a_500(tmp_path: Path) -> None:
    body = _form(chat_file(3))[:-20]
    status, payload, caught = _upload(tmp_path, body, [len(body) // 2])
    assert caught == []
    assert status == 400
    assert payload["error"]["message"].startswith("Malformed multipart body")
    assert not [p for p in (tmp_path / "state").rglob("*") if p.is_file()]  # no leftovers
