"""Malformed input: every case must name the exact line and field, and say what was expected.

Per-line cases put the bad line third (after a valid line and a blank one), so a wrong line
count shows up; they also check that the valid line still comes through.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from batcher_gui.domain.errors import ImportValidationError, LineError
from batcher_gui.domain.models import ImportOptions, ParsedRequest, ProfileLimits
from batcher_gui.importing import RequestReader
from tests.importing.helpers import CHAT_BODY, line, request

MISSING = b"<missing>"  # content sentinel: do not create the file
DIRECTORY = b"<directory>"  # content sentinel: create a directory instead


@dataclass(frozen=True)
class Case:
    """One malformed input and the single error it must produce."""

    name: str
    content: bytes
    line: int | None
    field: str | None
    text: str  # must appear in the message
    filename: str = "in.jsonl"
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    limits: ProfileLimits = dataclasses.field(default_factory=ProfileLimits)
    file_level: bool = False


def bad(content: bytes | dict[str, Any]) -> bytes:
    """A JSONL file whose third line is ``content``."""
    raw = content if isinstance(content, bytes) else orjson.dumps(content)
    return line(request("ok")) + b"\n" + raw + b"\n"


def body(**changes: Any) -> dict[str, Any]:
    """CHAT_BODY with fields changed (a value of ... removes the field)."""
    result = {**CHAT_BODY, **changes}
    return {k: v for k, v in result.items() if v is not ...}


def without(key: str) -> dict[str, Any]:
    result = request("r1")
    del result[key]
    return result


LONG_LINE = ProfileLimits(max_line_bytes=200)
SMALL_BATCH = ProfileLimits(max_batch_bytes=200)

# Tables: one case per entry, kept compact on purpose.
# fmt: off
JSONL_LINE_CASES = [
    Case("not json", bad(b"hello world"), 3, None, "not valid JSON"),
    Case("truncated json", bad(b'{"custom_id": "x", "method": "POST"'), 3, None, "not valid JSON"),
    Case("json array", bad(b"[1, 2]"), 3, None, "expected a JSON object per line, got an array"),
    Case("json string", bad(b'"hello"'), 3, None, 'got "hello"'),
    Case("json number", bad(b"42"), 3, None, "got number 42"),
    Case("json null", bad(b"null"), 3, None, "got null"),
    Case("missing custom_id", bad(without("custom_id")), 3, "custom_id",
         "missing required field 'custom_id'"),
    Case("custom_id null", bad(request(None)), 3, "custom_id", "must be a string, got null"),
    Case("custom_id int", bad(request(7)), 3, "custom_id", "must be a string, got number 7"),
    Case("custom_id empty", bad(request("")), 3, "custom_id", "must not be empty"),
    Case("custom_id too long", bad(request("x" * 4097)), 3, "custom_id", "longer than the 4096"),
    Case("method GET", bad(request(method="GET")), 3, "method", 'expected "POST", got "GET"'),
    Case("method lower case", bad(request(method="post")), 3, "method",
         'expected "POST", got "post"'),
    Case("method missing", bad(without("method")), 3, "method",
         "missing required field 'method' (expected \"POST\")"),
    Case("url missing", bad(without("url")), 3, "url", "missing required field 'url'"),
    Case("url unsupported", bad(request(url="/v1/chat")), 3, "url",
         "'url' must be one of /v1/chat/completions, /v1/responses"),
    Case("url not a string", bad(request(url=["x"])), 3, "url", "got an array"),
    Case("body missing", bad(without("body")), 3, "body", "missing required field 'body'"),
    Case("body a list", bad(request(body=[1])), 3, "body",
         "'body' must be a JSON object, got an array"),
    Case("model missing", bad(request(body=body(model=...))), 3, "body.model",
         "missing required field 'body.model'"),
    Case("model empty", bad(request(body=body(model=""))), 3, "body.model", "must not be empty"),
    Case("model int", bad(request(body=body(model=4))), 3, "body.model",
         "must be a string, got number 4"),
    Case("chat without messages", bad(request(body=body(messages=...))), 3, "body.messages",
         "missing required field 'body.messages'"),
    Case("messages empty", bad(request(body=body(messages=[]))), 3, "body.messages", "is empty"),
    Case("messages not a list", bad(request(body=body(messages="hi"))), 3, "body.messages",
         'must be a list of messages, got "hi"'),
    Case("messages null", bad(request(body=body(messages=None))), 3, "body.messages",
         "must not be null"),
    Case("message without role", bad(request(body=body(messages=[{"content": "x"}]))), 3,
         "body.messages[0].role", "has no 'role'"),
    Case("message not an object",
         bad(request(body=body(messages=[{"role": "user", "content": "x"}, "y"]))), 3,
         "body.messages[1]", 'expected a message object, got "y"'),
    Case("responses without input", bad(request(url="/v1/responses", body={"model": "m"})), 3,
         "body.input", "missing required field 'body.input'"),
    Case("embeddings input empty string",
         bad(request(url="/v1/embeddings", body={"model": "m", "input": ""})), 3, "body.input",
         "must not be empty"),
    Case("embeddings input empty list",
         bad(request(url="/v1/embeddings", body={"model": "m", "input": []})), 3, "body.input",
         "must not be empty"),
    Case("embeddings input a number",
         bad(request(url="/v1/embeddings", body={"model": "m", "input": 5})), 3, "body.input",
         "must be a string or a list, got number 5"),
    Case("completions without prompt", bad(request(url="/v1/completions", body={"model": "m"})),
         3, "body.prompt", "missing required field 'body.prompt'"),
    Case("image edit without image",
         bad(request(url="/v1/images/edits", body={"model": "m", "prompt": "p", "image": ""})), 3,
         "body.image", "must not be empty"),
    Case("unknown top-level key", bad({**request(), "extra": 1}), 3, "extra",
         "unknown field \"extra\"; a line may only have custom_id, method, url, body"),
    Case("misspelt key", bad({"customid": "a", "method": "POST", "url": "/v1/completions",
                              "body": {}}), 3, "customid", "unknown field"),
    Case("duplicate custom_id", bad(request("ok")), 3, "custom_id",
         'duplicate custom_id "ok": already used on line 1'),
    Case("line too long",
         bad(request(body=body(messages=[{"role": "user", "content": "x" * 300}]))), 3, None,
         "over the limit of 200 bytes per request line", limits=LONG_LINE),
    Case("line over batch size",
         line(request("ok", body={"model": "m", "messages": [{"role": "user"}]})) + b"\n"
         + line(request(body=body(messages=[{"role": "user", "content": "x" * 100}]))),
         3, "body", "over the limit of 200 bytes per batch file", limits=SMALL_BATCH),
    Case("latin-1 byte", bad(b'{"custom_id": "caf\xe9"}'), 3, None, "not valid UTF-8"),
    Case("body nested too deeply",
         bad(b'{"custom_id": "d", "method": "POST", "url": "/v1/completions", "body": '
             b'{"model": "m", "prompt": "p", "x": ' + b"[" * 300 + b"]" * 300 + b"}}"),
         3, "body", "cannot re-encode"),
]

FILE_CASES = [
    Case("binary file", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None, None, "binary file"),
    Case("utf-16 file", "{}".encode("utf-16"), None, None, "UTF-16"),
    Case("empty file", b"", None, None, "file is empty"),
    Case("whitespace-only file", b"\xef\xbb\xbf\r\n  \n\t\n", None, None, "only blank lines"),
    Case("unknown extension, not json", b"hello\n", None, "format", "--format jsonl|csv|tsv|text",
         filename="in.dat"),
    Case("directory", DIRECTORY, None, None, "is a directory", filename="somewhere"),
    Case("missing file", MISSING, None, None, "file not found", filename="nope.jsonl"),
    Case("--endpoint with jsonl", line(request()), None, "endpoint", "each line carries its own",
         options={"endpoint": "chat"}),
    Case("--template with jsonl", line(request()), None, "template", "does not apply",
         options={"template": "{x}"}),
    Case("blank model override", line(request()), None, "model", "blank",
         options={"model": "  "}),
    Case("unknown --format", line(request()), None, "format", "unknown format",
         options={"format": "xml"}),
    # CSV / TSV: header and option problems
    Case("csv duplicate header", b"id,text,id\n1,a,2\n", 1, "header",
         'column name "id" appears twice (columns 1 and 3)', "in.csv", {"model": "m"}),
    Case("csv blank header name", b"\n\nid,,text\n1,a,2\n", 3, "header", "column 2 has no name",
         "in.csv", {"model": "m"}),
    Case("csv template names missing column", b"id,text\n1,a\n", None, "template",
         "placeholder {body} names no column; available columns: id, text", "in.csv",
         {"model": "m", "template": "Say {body}"}),
    Case("csv template unmatched brace", b"id,text\n1,a\n", None, "template",
         "unmatched '{' at position 5", "in.csv", {"model": "m", "template": "Say {text"}),
    Case("csv without template or prompt column", b"id,text\n1,a\n", None, "template",
         "add a 'prompt' column; available columns: id, text", "in.csv", {"model": "m"}),
    Case("csv without model", b"prompt\nhi\n", None, "model", "pass --model", "in.csv"),
    Case("csv bad endpoint alias", b"prompt\nhi\n", None, "endpoint",
         'unknown endpoint "chats"; expected one of chat,', "in.csv",
         {"model": "m", "endpoint": "chats"}),
    Case("csv id column missing", b"prompt\nhi\n", None, "id_column",
         'id column "ref" does not exist; available columns: prompt', "in.csv",
         {"model": "m", "id_column": "ref"}),
    Case("csv not utf-8", b"prompt\nok\n\ncaf\xe9\n", 4, None, "not valid UTF-8", "in.csv",
         {"model": "m"}),
    Case("csv only blank lines", b"\r\n\r\n", None, None, "only blank lines", "in.csv",
         {"model": "m"}),
    # Plain text: option problems
    Case("text without model", b"hello\n", None, "model", "pass --model", "in.txt"),
    Case("text bad endpoint", b"hello\n", None, "endpoint", "unknown endpoint", "in.txt",
         {"model": "m", "endpoint": "/v2/x"}),
    Case("text with template", b"hello\n", None, "template", "does not apply", "in.txt",
         {"model": "m", "template": "{x}"}),
]

CSV_OPTS = {"model": "m", "template": "Say {text}", "id_column": "id"}
CSV_LINE_CASES = [
    Case("csv ragged row (too few)", b"id,text,lang\n1,a,en\n\n2,b\n", 4, None,
         "expected 3 fields (id, text, lang), got 2", "in.csv", CSV_OPTS),
    Case("csv ragged row (too many)", b"id,text\n1,a\n\n2,b,c\n", 4, None,
         "expected 2 fields (id, text), got 3; quote fields that contain the delimiter", "in.csv",
         CSV_OPTS),
    Case("csv unclosed quote at end", b'id,text\n1,a\n\n2,"b\n3,c\n', 4, None,
         "unexpected end of data; it spans lines 4-5: check for an unbalanced quote", "in.csv",
         CSV_OPTS),
    Case("csv unbalanced quote", b'id,text\n1,a\n\n2,"b\n3,c\n4,"d"\n', 4, None,
         "it spans lines 4-6: check for an unbalanced quote", "in.csv", CSV_OPTS),
    Case("csv multi-line record with extra field", b'id,text\n1,a\n\n2,"b\n3",c\n', 4, None,
         "expected 2 fields (id, text), got 3; this record spans lines 4-5", "in.csv", CSV_OPTS),
    Case("csv text after closing quote", b'id,text\n1,a\n\n2,"b"c\n', 4, None,
         "malformed record: ',' expected after '\"'", "in.csv", CSV_OPTS),
    Case("csv empty id", b"id,text\n1,a\n\n ,b\n", 4, "id", 'empty custom_id cell in column "id"',
         "in.csv", CSV_OPTS),
    Case("csv duplicate id", b"id,text\n1,a\n\n1,b\n", 4, "id",
         'duplicate custom_id "1": already used on line 2', "in.csv", CSV_OPTS),
    Case("csv id too long", b"custom_id,prompt\n1,a\n\n" + b"x" * 4097 + b",b\n", 4,
         "custom_id", "longer than the 4096", "in.csv", {"model": "m"}),
    Case("csv empty rendered prompt", b"id,text\n1,a\n\n2,  \n", 4, "template",
         "renders to an empty prompt for this row (empty: text)", "in.csv",
         {**CSV_OPTS, "template": "{text}"}),
    Case("csv empty prompt cell", b"custom_id,prompt\n1,a\n\n2,\n", 4, "prompt",
         "the 'prompt' cell is empty", "in.csv", {"model": "m"}),
    Case("csv record too long", b"id,text\n1,a\n\n2," + b"y" * 300 + b"\n", 4, None,
         "over the limit of 200 bytes", "in.csv", CSV_OPTS, LONG_LINE),
    Case("tsv ragged row", b"id\ttext\n1\ta\n\n2\n", 4, None, "expected 2 fields", "in.tsv",
         CSV_OPTS),
    Case("text latin-1 line", b"hello\n\ncaf\xe9\n", 3, None, "not valid UTF-8", "in.txt",
         {"model": "m"}),
    Case("text line too long", b"hello\n\n" + b"z" * 201 + b"\n", 3, None,
         "over the limit of 200 bytes", "in.txt", {"model": "m"}, LONG_LINE),
    Case("text request over batch size", b"hello\n\n" + b"z" * 150 + b"\n", 3, None,
         "per batch file", "in.txt", {"model": "m"}, SMALL_BATCH),
]
# fmt: on

LINE_CASES = JSONL_LINE_CASES + CSV_LINE_CASES


def make(tmp_path: Path, case: Case) -> Path:
    path = tmp_path / case.filename
    if case.content == DIRECTORY:
        path.mkdir()
    elif case.content != MISSING:
        path.write_bytes(case.content)
    return path


def test_enough_distinct_cases() -> None:
    names = [c.name for c in LINE_CASES + FILE_CASES]
    assert len(names) == len(set(names))
    assert len(names) >= 30


@pytest.mark.parametrize("case", LINE_CASES, ids=lambda c: c.name)
def test_line_error(tmp_path: Path, case: Case) -> None:
    path = make(tmp_path, case)
    items = list(RequestReader(path, ImportOptions(**case.options), case.limits))
    errors = [i for i in items if isinstance(i, LineError)]
    assert [(e.line, e.field) for e in errors] == [(case.line, case.field)], errors
    [error] = errors
    assert case.text in error.message
    assert error.path == str(path)
    # Everything else in the file is still read.
    assert len(items) == 2
    assert isinstance(items[0], ParsedRequest)
    assert items[0].line_no < error.line  # type: ignore[operator]


@pytest.mark.parametrize("case", FILE_CASES, ids=lambda c: c.name)
def test_file_error(tmp_path: Path, case: Case) -> None:
    path = make(tmp_path, case)
    with pytest.raises(ImportValidationError) as info:
        list(RequestReader(path, ImportOptions(**case.options), case.limits))
    [error] = info.value.errors
    assert (error.line, error.field) == (case.line, case.field)
    assert case.text in error.message
    assert error.path == str(path)
    assert case.text in str(info.value)


def test_option_errors_come_from_the_constructor(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"id,text\n1,a\n")
    with pytest.raises(ImportValidationError):
        RequestReader(path, ImportOptions(model="m", template="{nope}"), ProfileLimits())


def test_every_line_error_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"x\n" * 5 + line(request("a")))
    items = list(RequestReader(path, ImportOptions(), ProfileLimits()))
    assert [i.line for i in items if isinstance(i, LineError)] == [1, 2, 3, 4, 5]
