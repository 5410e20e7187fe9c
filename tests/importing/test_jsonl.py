"""JSONL reader: valid files, encodings and line endings, model override, progress."""

from __future__ import annotations

import orjson

from batcher_gui.domain.endpoints import ENDPOINTS, MESSAGES_ENDPOINT
from batcher_gui.domain.models import ImportOptions, InputFormat, ParsedRequest, ProfileLimits
from batcher_gui.importing import RequestReader
from tests.importing.helpers import CHAT_BODY, Writer, line, read_all, request, split

BODIES = {
    "/v1/chat/completions": CHAT_BODY,
    "/v1/responses": {"model": "gpt-4.1", "input": "Hi"},
    "/v1/embeddings": {"model": "text-embedding-3-small", "input": ["a", "b"]},
    "/v1/completions": {"model": "gpt-3.5-turbo-instruct", "prompt": "Once upon"},
    "/v1/moderations": {"model": "omni-moderation-latest", "input": "text"},
    "/v1/images/generations": {"model": "gpt-image-1", "prompt": "a cat"},
    "/v1/images/edits": {"model": "gpt-image-1", "prompt": "hat", "image": "file-1"},
    "/v1/videos": {"model": "sora-2", "prompt": "waves"},
}


def test_every_endpoint_is_covered() -> None:
    # Claude requests (/v1/messages) are read by the Claude reader: tests/importing/
    # test_claude_import.py.
    assert set(BODIES) == set(ENDPOINTS) - {MESSAGES_ENDPOINT}


def test_several_endpoints(write: Writer) -> None:
    content = b"".join(
        line(request(f"id-{i}", url, body)) for i, (url, body) in enumerate(BODIES.items())
    )
    path = write("in.jsonl", content)
    reader = RequestReader(path, ImportOptions(), ProfileLimits())
    assert reader.format is InputFormat.JSONL
    assert reader.total_bytes == len(content)
    requests, errors = split(list(reader))
    assert errors == []
    assert [r.endpoint for r in requests] == list(BODIES)
    assert [r.user_custom_id for r in requests] == [f"id-{i}" for i in range(len(BODIES))]
    assert [r.line_no for r in requests] == list(range(1, len(BODIES) + 1))
    for r, body in zip(requests, BODIES.values(), strict=True):
        assert r.model == body["model"]
        assert orjson.loads(r.body) == body
        assert r.body == orjson.dumps(body)
    assert reader.bytes_read == len(content)


def test_bom_crlf_blank_lines_and_no_trailing_newline(write: Writer) -> None:
    a = orjson.dumps(request("a"))
    b = orjson.dumps(request("b"))
    c = orjson.dumps(request("c"))
    path = write("in.jsonl", b"\xef\xbb\xbf" + a + b"\r\n\r\n   \r\n" + b + b"\r\n\n\t\n" + c)
    requests, errors = split(read_all(path))
    assert errors == []
    assert [(r.line_no, r.user_custom_id) for r in requests] == [(1, "a"), (4, "b"), (7, "c")]


def test_model_override_replaces_and_fills_body_model(write: Writer) -> None:
    no_model = {"messages": [{"role": "user", "content": "x"}]}
    path = write("in.jsonl", line(request("a")) + line(request("b", body=no_model)))
    requests, errors = split(read_all(path, model=" gpt-4.1 "))
    assert errors == []
    assert [r.model for r in requests] == ["gpt-4.1", "gpt-4.1"]
    assert [orjson.loads(r.body)["model"] for r in requests] == ["gpt-4.1", "gpt-4.1"]


def test_valid_lines_survive_invalid_neighbours(write: Writer) -> None:
    path = write(
        "in.jsonl",
        line(request("a")) + b"oops\n" + line(request("b", method="GET")) + line(request("c")),
    )
    requests, errors = split(read_all(path))
    assert [r.user_custom_id for r in requests] == ["a", "c"]
    assert [(e.line, e.field) for e in errors] == [(2, None), (3, "method")]
    assert all(e.path == str(path) for e in errors)


def test_custom_id_of_invalid_line_still_counts_for_duplicates(write: Writer) -> None:
    path = write("in.jsonl", line(request("a", method="GET")) + line(request("a")))
    _, errors = split(read_all(path))
    assert [(e.line, e.field) for e in errors] == [(1, "method"), (2, "custom_id")]
    assert "line 1" in errors[1].message


def test_extra_body_fields_are_kept(write: Writer) -> None:
    body = {**CHAT_BODY, "temperature": 0.2, "response_format": {"type": "json_object"}}
    path = write("in.jsonl", line(request("a", body=body)))
    [req] = read_all(path)
    assert isinstance(req, ParsedRequest)
    assert orjson.loads(req.body) == body


def test_sniffed_when_extension_unknown(write: Writer) -> None:
    path = write("requests.dat", b"\n\n" + line(request("a")))
    reader = RequestReader(path, ImportOptions(), ProfileLimits())
    assert reader.format is InputFormat.JSONL
    assert [i.line_no for i in reader if isinstance(i, ParsedRequest)] == [3]


def test_more_than_64k_of_leading_blank_lines(write: Writer) -> None:
    path = write("in.jsonl", b"\n" * 70_000 + line(request("a")))
    [req] = read_all(path)
    assert isinstance(req, ParsedRequest)
    assert req.line_no == 70_001


def test_progress_is_published_while_reading(write: Writer) -> None:
    content = b"".join(line(request(f"r{i}")) for i in range(3000))
    path = write("in.jsonl", content)
    reader = RequestReader(path, ImportOptions(), ProfileLimits())
    seen = []
    for item in reader:
        assert isinstance(item, ParsedRequest)
        seen.append(reader.bytes_read)
    assert 0 < seen[1500] < len(content)
    assert seen == sorted(seen)
    assert reader.bytes_read == reader.total_bytes == len(content)


def test_reader_can_be_iterated_twice(write: Writer) -> None:
    path = write("in.jsonl", line(request("a")) + line(request("b")))
    reader = RequestReader(path, ImportOptions(), ProfileLimits())
    assert list(reader) == list(reader)
    assert len(list(reader)) == 2


def test_line_exactly_at_the_limit_is_fine(write: Writer) -> None:
    data = orjson.dumps(request("a"))
    path = write("in.jsonl", data + b"\r\n")
    [req] = read_all(path, limits=ProfileLimits(max_line_bytes=len(data)))
    assert isinstance(req, ParsedRequest)


