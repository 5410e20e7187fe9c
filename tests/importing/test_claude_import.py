"""Getting Claude prompts in: templates and text as Messages params, native Message Batches
lines, a requests .json file, OpenAI chat lines converted, and the endpoint and profile kind
kept apart. Real files in a tmp dir, through the real reader and importer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from batcher_gui.domain.endpoints import MESSAGES_ENDPOINT
from batcher_gui.domain.errors import Cancelled, ImportValidationError, LineError
from batcher_gui.domain.models import (
    ImportOptions,
    ParsedRequest,
    ProfileKind,
    ProfileLimits,
    provider_custom_id,
)
from batcher_gui.engine.run_import import import_file
from batcher_gui.importing import RequestReader, peek, render_examples, validate
from batcher_gui.storage import Store
from batcher_gui.storage.drafts import Drafts
from tests.importing.helpers import Writer, line, split

CLAUDE = ProfileKind.ANTHROPIC
M = "claude-haiku-4-5"
ANTHROPIC_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def read(path: Path, kind: ProfileKind = CLAUDE, limits: ProfileLimits | None = None,
         **options: Any) -> list[ParsedRequest | LineError]:
    return list(RequestReader(path, ImportOptions(**options), limits or ProfileLimits(),
                              kind=kind))


def bodies(requests: list[ParsedRequest]) -> list[dict[str, Any]]:
    return [orjson.loads(r.body) for r in requests]


def native(cid: str, **params: Any) -> dict[str, Any]:
    body = {"model": M, "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}]}
    body.update(params)
    return {"custom_id": cid, "params": body}


def chat(cid: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"custom_id": cid, "method": "POST", "url": "/v1/chat/completions", "body": body}


# -- templates and text ---------------------------------------------------------------------
def test_a_csv_template_becomes_messages_params_with_system_and_max_tokens(
        write: Writer) -> None:
    path = write("reviews.csv", "id,review\nr1,Great phone\nr2,Broke in a week\n")
    requests, errors = split(read(path, model=M, template="Classify: {review}",
                                  system="Answer positive or negative", id_column="id",
                                  max_tokens=300))
    assert errors == []
    assert [r.endpoint for r in requests] == [MESSAGES_ENDPOINT] * 2
    assert [r.user_custom_id for r in requests] == ["r1", "r2"]
    assert bodies(requests) == [
        {"model": M, "max_tokens": 300, "system": "Answer positive or negative",
         "messages": [{"role": "user", "content": "Classify: Great phone"}]},
        {"model": M, "max_tokens": 300, "system": "Answer positive or negative",
         "messages": [{"role": "user", "content": "Classify: Broke in a week"}]},
    ]


def test_a_text_file_gets_the_default_max_tokens_and_no_system(write: Writer) -> None:
    path = write("p.txt", "What is 2+2?\n\nName a bird.\n")
    requests, errors = split(read(path, model=M))
    assert errors == []
    assert bodies(requests) == [
        {"model": M, "max_tokens": 1024, "messages": [{"role": "user",
                                                       "content": "What is 2+2?"}]},
        {"model": M, "max_tokens": 1024, "messages": [{"role": "user",
                                                       "content": "Name a bird."}]},
    ]
    assert [(r.line_no, r.endpoint) for r in requests] == [(1, MESSAGES_ENDPOINT),
                                                          (3, MESSAGES_ENDPOINT)]


@pytest.mark.parametrize("endpoint", ["chat", "/v1/responses", "embeddings"])
def test_an_openai_endpoint_on_a_claude_profile_is_refused(write: Writer, endpoint: str) -> None:
    path = write("p.txt", "hello\n")
    with pytest.raises(ImportValidationError) as caught:
        read(path, model=M, endpoint=endpoint)
    error = caught.value.errors[0]
    assert error.field == "endpoint"
    assert "Claude (anthropic) profile" in error.message and "/v1/messages" in error.message


def test_the_messages_endpoint_on_an_openai_profile_is_refused(write: Writer) -> None:
    path = write("p.csv", "prompt\nhello\n")
    with pytest.raises(ImportValidationError) as caught:
        read(path, ProfileKind.OPENAI, model="gpt-4o-mini", endpoint="messages")
    error = caught.value.errors[0]
    assert (error.field, "Anthropic's Messages endpoint" in error.message) == ("endpoint", True)


def test_naming_messages_on_a_claude_profile_is_fine(write: Writer) -> None:
    path = write("p.txt", "hello\n")
    requests, errors = split(read(path, model=M, endpoint="messages"))
    assert errors == [] and requests[0].endpoint == MESSAGES_ENDPOINT


def test_max_tokens_is_refused_on_an_openai_profile_and_must_be_positive(
        write: Writer) -> None:
    path = write("p.txt", "hello\n")
    with pytest.raises(ImportValidationError) as caught:
        read(path, ProfileKind.OPENAI, model="gpt-4o-mini", max_tokens=100)
    assert caught.value.errors[0].field == "max_tokens"
    assert "Claude profiles" in caught.value.errors[0].message
    with pytest.raises(ImportValidationError) as caught:
        read(path, model=M, max_tokens=0)
    assert "at least 1" in caught.value.errors[0].message


def test_an_openai_model_on_a_claude_profile_is_refused(write: Writer) -> None:
    path = write("p.txt", "hello\n")
    with pytest.raises(ImportValidationError) as caught:
        read(path, model="gpt-4o-mini")
    assert caught.value.errors[0].field == "model"
    assert "OpenAI model" in caught.value.errors[0].message


# -- native Claude lines ------------------------------------------------------------------------
def test_native_message_batches_lines_are_taken_as_they_are(write: Writer) -> None:
    first = native("a", system=[{"type": "text", "text": "Be brief",
                                  "cache_control": {"type": "ephemeral"}}],
                   temperature=0.3, thinking={"type": "enabled", "budget_tokens": 2000})
    second = native("b", messages=[{"role": "user", "content": [
        {"type": "text", "text": "Describe"},
        {"type": "image", "source": {"type": "url", "url": "https://x/cat.png"}}]}])
    path = write("claude.jsonl", line(first) + b"\n" + line(second))
    requests, errors = split(read(path))
    assert errors == []
    assert [(r.line_no, r.user_custom_id, r.endpoint, r.model) for r in requests] == [
        (1, "a", MESSAGES_ENDPOINT, M), (3, "b", MESSAGES_ENDPOINT, M)]
    assert bodies(requests) == [first["params"], second["params"]]


def test_model_option_replaces_params_model(write: Writer) -> None:
    path = write("c.jsonl", line(native("a")) + line(native("b", model="claude-opus-4-1")))
    requests, _ = split(read(path, model="claude-sonnet-4-5"))
    assert [b["model"] for b in bodies(requests)] == ["claude-sonnet-4-5"] * 2
    assert [r.model for r in requests] == ["claude-sonnet-4-5"] * 2


def test_max_tokens_option_fills_a_missing_max_tokens_and_never_replaces_one(
        write: Writer) -> None:
    missing = native("a")
    del missing["params"]["max_tokens"]
    path = write("c.jsonl", line(missing) + line(native("b", max_tokens=7)))
    requests, errors = split(read(path, max_tokens=64))
    assert errors == []
    assert [b["max_tokens"] for b in bodies(requests)] == [64, 7]
    _, errors = split(read(path))
    assert [(e.line, e.field) for e in errors] == [(1, "params.max_tokens")]
    assert "--max-tokens" in errors[0].message


@pytest.mark.parametrize(("params", "field", "words"), [
    ({"max_tokens": 0}, "params.max_tokens", "at least 1"),
    ({"max_tokens": "100"}, "params.max_tokens", "whole number"),
    ({"messages": []}, "params.messages", "is empty"),
    ({"messages": "Hi"}, "params.messages", "list of messages"),
    ({"messages": [{"role": "system", "content": "x"}]}, "params.messages[0].role",
     "params.system"),
    ({"messages": [{"role": "user", "content": 5}]}, "params.messages[0].content",
     "string or a list"),
    ({"messages": [{"role": "user", "content": []}]}, "params.messages[0].content",
     "empty list"),
    ({"messages": [{"role": "user", "content": ["Hi"]}]}, "params.messages[0].content[0]",
     "content block"),
    ({"system": 3}, "params.system", "string or a list"),
    ({"model": ""}, "params.model", "non-empty string"),
    ({"model": "gpt-4.1"}, "params.model", "OpenAI model"),
])
def test_bad_messages_bodies_are_named_by_line_and_field(
        write: Writer, params: dict[str, Any], field: str, words: str) -> None:
    path = write("c.jsonl", line(native("ok")) + line(native("bad", **params)))
    requests, errors = split(read(path))
    assert [r.user_custom_id for r in requests] == ["ok"]
    assert [(e.line, e.field) for e in errors] == [(2, field)]
    assert words in errors[0].message


def test_claude_lines_keep_the_usual_line_rules(write: Writer) -> None:
    content = (line(native("a")) + b"{not json\n" + line(native("a"))
               + line({"custom_id": "c", "params": {}, "extra": 1}) + line(native(""))
               + line({"custom_id": "d"}))
    _, errors = split(read(write("c.jsonl", content)))
    assert [(e.line, e.field) for e in errors] == [
        (2, None), (3, "custom_id"), (4, "extra"), (5, "custom_id"), (6, "body")]
    assert "duplicate custom_id" in errors[1].message and "line 1" in errors[1].message
    assert "missing required field 'body'" in errors[4].message


def test_a_line_over_the_profile_limit_is_refused(write: Writer) -> None:
    long = native("big", messages=[{"role": "user", "content": "x" * 3000}])
    path = write("c.jsonl", line(native("a")) + line(long))
    _, errors = split(read(path, limits=ProfileLimits(max_line_bytes=1000)))
    assert [e.line for e in errors] == [2]
    assert "over the limit of 1,000 bytes" in errors[0].message


def test_claude_lines_into_an_openai_profile_are_refused(write: Writer) -> None:
    messages_line = {"custom_id": "m", "method": "POST", "url": MESSAGES_ENDPOINT,
                     "body": native("x")["params"]}
    path = write("c.jsonl", line(native("a")) + line(messages_line))
    _, errors = split(read(path, ProfileKind.OPENAI))
    assert [(e.line, e.field) for e in errors] == [(1, "params"), (2, "url")]
    assert "Claude profile (kind anthropic)" in errors[0].message
    assert "Anthropic's Messages endpoint" in errors[1].message


def test_a_batch_line_for_messages_on_a_claude_profile_is_a_claude_request(
        write: Writer) -> None:
    params = native("x")["params"]
    path = write("c.jsonl", line({"custom_id": "m", "method": "POST", "url": MESSAGES_ENDPOINT,
                                  "body": params}))
    requests, errors = split(read(path))
    assert errors == [] and bodies(requests) == [params]


# -- OpenAI chat lines converted ----------------------------------------------------------------
def test_chat_lines_are_converted_line_by_line_and_counted(write: Writer) -> None:
    lines = [
        chat("sys", {"model": M, "messages": [{"role": "system", "content": "Be terse"},
                                              {"role": "user", "content": "Hi"}],
                     "max_completion_tokens": 40, "stop": "END"}),
        {"custom_id": "bare", "body": {"model": M, "messages": [
            {"role": "user", "content": "No method or url"}]}},
        chat("seed", {"model": M, "seed": 3, "n": 2, "messages": [
            {"role": "user", "content": "x"}]}),
        chat("tool", {"model": M, "messages": [{"role": "tool", "content": "42"}]}),
        {"custom_id": "emb", "method": "POST", "url": "/v1/embeddings",
         "body": {"model": M, "input": "x"}},
    ]
    path = write("chat.jsonl", b"".join(line(x) for x in lines))
    reader = RequestReader(path, ImportOptions(max_tokens=200), ProfileLimits(), kind=CLAUDE)
    requests, errors = split(list(reader))
    assert bodies(requests) == [
        {"model": M, "max_tokens": 40, "system": "Be terse", "stop_sequences": ["END"],
         "messages": [{"role": "user", "content": "Hi"}]},
        {"model": M, "max_tokens": 200, "messages": [{"role": "user",
                                                      "content": "No method or url"}]},
    ]
    assert [(e.line, e.field) for e in errors] == [
        (3, "body.seed"), (4, "body.messages[0].role"), (5, "url")]
    assert "Claude takes no seed" in errors[0].message
    assert "also body.n:" in errors[0].message  # every field named, not only the first
    assert "only chat completions lines" in errors[2].message
    assert len(reader.notes) == 1
    assert reader.notes[0].startswith("2 request(s) converted from OpenAI chat format")
    assert "system/developer messages → system (1)" in reader.notes[0]


def test_model_option_applies_before_the_conversion(write: Writer) -> None:
    path = write("chat.jsonl", line(chat("a", {"model": "gpt-4o-mini", "messages": [
        {"role": "user", "content": "Hi"}]})))
    _, errors = split(read(path))
    assert [e.field for e in errors] == ["body.model"]
    requests, errors = split(read(path, model=M))
    assert errors == [] and requests[0].model == M


def test_a_line_that_cannot_be_converted_stops_the_import_unless_valid_only(
        write: Writer, store: Store) -> None:
    store.add_profile("claude", CLAUDE)
    path = write("chat.jsonl", line(chat("ok", {"model": M, "messages": [
        {"role": "user", "content": "Hi"}]})) + line(chat("bad", {"model": M, "logprobs": True,
                                                                    "messages": [
        {"role": "user", "content": "Hi"}]})))
    with pytest.raises(ImportValidationError) as caught:
        import_file(store, path, ImportOptions(), profile_name="claude")
    assert "line 2, field 'body.logprobs'" in str(caught.value)
    assert store.list_runs() == []
    summary = import_file(store, path, ImportOptions(valid_only=True), profile_name="claude")
    assert (summary.prompts, summary.skipped) == (1, 1)
    assert summary.notes == ["1 request(s) converted from OpenAI chat format: max_tokens from "
                             "the import (the line sets none) (1)"]


# -- a requests .json file -------------------------------------------------------------------
def requests_file(entries: list[Any]) -> bytes:
    return orjson.dumps({"requests": entries}, option=orjson.OPT_INDENT_2)


def test_a_requests_file_is_read_a_request_at_a_time(write: Writer) -> None:
    tricky = native("b", messages=[{"role": "user", "content": 'brackets ] } [ { and "quotes" '
                                                               "and \\ backslashes"}])
    entries = [native("a"), tricky, native("c", max_tokens=5)]
    path = write("batch.json", requests_file(entries))
    requests, errors = split(read(path))
    assert errors == []
    assert [r.user_custom_id for r in requests] == ["a", "b", "c"]
    assert [r.line_no for r in requests] == [1, 2, 3]  # a request's place in the file
    assert bodies(requests) == [e["params"] for e in entries]


def test_a_one_line_requests_file_with_a_bom_reads_too(write: Writer) -> None:
    path = write("batch.json", b"\xef\xbb\xbf" + orjson.dumps({"requests": [native("a")]}))
    requests, errors = split(read(path))
    assert errors == [] and [r.user_custom_id for r in requests] == ["a"]


def test_requests_file_errors_name_the_request_and_its_line(write: Writer) -> None:
    no_tokens = native("b")
    del no_tokens["params"]["max_tokens"]
    entries = [native("a"), no_tokens, chat("c", {"model": M}), native("a"), 7]
    path = write("batch.json", requests_file(entries))
    requests, errors = split(read(path))
    assert [r.user_custom_id for r in requests] == ["a"]
    text = path.read_text().splitlines()
    starts = [i for i, t in enumerate(text, 1) if t.startswith("    {") or t == "    7"]
    assert [(e.line, e.field) for e in errors] == [
        (starts[1], "requests[1].params.max_tokens"), (starts[2], "requests[2].method"),
        (starts[3], "requests[3].custom_id"), (starts[4], None)]
    assert "already used on requests[0]" in errors[2].message


def test_a_request_over_the_line_limit_stops_the_read_naming_it(write: Writer) -> None:
    big = native("big", messages=[{"role": "user", "content": "y" * 5000}])
    path = write("batch.json", requests_file([native("a"), big, native("c")]))
    with pytest.raises(ImportValidationError) as caught:
        read(path, limits=ProfileLimits(max_line_bytes=2000))
    (error,) = caught.value.errors
    lines = path.read_text().splitlines()
    assert error.line == lines.index('      "custom_id": "big",')  # the line before: its '{'
    assert error.message.startswith("requests[1] is 5,2")
    assert "over the limit of 2,000 bytes per request" in error.message


@pytest.mark.parametrize(("entry", "words"), [
    (b'{"custom_id":"d","params":' + b"[" * 5000 + b"]" * 5000 + b"}", "nests too deeply"),
    (b'{"custom_id":"d","params":{"x": NaN}}', "NaN is not JSON"),
    (b'{"custom_id":"d","params":{"x": 1e999}}', "too large"),
    (b'{"custom_id":"d","params":{"x": [1, 2,, 3]}}', "not valid JSON: Expecting value"),
])
def test_bad_json_in_a_requests_file_is_a_file_error_with_its_line(
        write: Writer, entry: bytes, words: str) -> None:
    content = b'{"requests": [' + orjson.dumps(native("a")) + b",\n" + entry + b"]}"
    with pytest.raises(ImportValidationError) as caught:
        read(write("batch.json", content))
    (error,) = caught.value.errors
    assert error.line == 2 and words in error.message and "requests[1]" in error.message


def test_a_huge_integer_is_a_line_error_not_a_crash(write: Writer) -> None:
    content = requests_file([native("a"), native("b")]).replace(b'"max_tokens": 100',
                                                                 b'"max_tokens": ' + b"9" * 30, 1)
    requests, errors = split(read(write("batch.json", content)))
    assert [r.user_custom_id for r in requests] == ["b"]
    assert [e.field for e in errors] == ["requests[0].params"]
    assert "cannot re-encode" in errors[0].message


@pytest.mark.parametrize(("content", "words"), [
    (b'{"requests": [' + orjson.dumps(native("a")) + b",", "cut short"),
    (b'{"requests": [' + orjson.dumps(native("a")) + b"]", "'}'"),
    (b'{"requests": [], "extra": 1}', 'only "requests"'),
    (b'{"requests": {"a": 1}}', "'['"),
    (b'{"requests": []} trailing', "more content"),
    (b'{"requests": [{"a": 1} {"b": 2}]}', "',' or ']'"),
    (b'{"requests": [{"a": "open string', "cut short"),
    (b'{"requests": [{"a": "escape at the end\\', "cut short"),
    (b'{"requests": [{"a": tru', "not valid JSON: Expecting value"),
    (b'{"requests": [{"a": "\xff"}]}', "not UTF-8 (byte 0xff)"),
    (b'{"requests": [{"a": "\xc3', "middle of a UTF-8 character"),
])
def test_a_broken_requests_file_is_a_clear_file_error(
        write: Writer, content: bytes, words: str) -> None:
    with pytest.raises(ImportValidationError) as caught:
        read(write("batch.json", content))
    assert words in str(caught.value)


def test_a_json_file_that_is_no_requests_file_is_read_as_json_lines(write: Writer) -> None:
    _, errors = split(read(write("list.json", b'[{"custom_id": "a"}]\n')))
    assert [(e.line, e.message) for e in errors] == [(1, "expected a JSON object, got an array")]


def test_a_requests_file_into_an_openai_profile_is_refused(write: Writer) -> None:
    path = write("batch.json", requests_file([native("a")]))
    with pytest.raises(ImportValidationError) as caught:
        read(path, ProfileKind.OPENAI)
    assert "Claude profile (kind anthropic)" in str(caught.value)


def test_the_preview_shows_a_requests_file_and_native_lines(write: Writer) -> None:
    doc = write("batch.json", requests_file([native("a"), native("b", model="claude-x")]))
    preview = peek(doc, ImportOptions())
    assert preview.rows == [["a", MESSAGES_ENDPOINT, M, "Hi"],
                            ["b", MESSAGES_ENDPOINT, "claude-x", "Hi"]]
    assert (preview.models, preview.needs_model) == ([M, "claude-x"], False)
    lines = write("c.jsonl", line(native("a")))
    preview = peek(lines, ImportOptions())
    assert preview.rows == [["a", MESSAGES_ENDPOINT, M, "Hi"]]
    assert (preview.endpoints, preview.needs_model) == ([MESSAGES_ENDPOINT], False)


def test_the_dry_run_and_examples_say_what_was_converted(write: Writer) -> None:
    path = write("chat.jsonl", b"".join(line(chat(f"c{i}", {"model": M, "messages": [
        {"role": "developer", "content": "D"}, {"role": "user", "content": f"q{i}"}]}))
        for i in range(3)))
    report = validate(path, ImportOptions(), ProfileLimits(), kind=CLAUDE)
    assert (report.valid, report.invalid, report.endpoints) == (3, 0, {MESSAGES_ENDPOINT: 3})
    assert report.notes == ["3 request(s) converted from OpenAI chat format: max_tokens from "
                            "the import (the line sets none) (3), system/developer messages → "
                            "system (3)"]
    examples = render_examples(path, ImportOptions(max_tokens=9), ProfileLimits(), kind=CLAUDE)
    assert isinstance(examples[0], tuple)
    assert orjson.loads(examples[0][1]) == {"model": M, "max_tokens": 9, "system": "D",
                                            "messages": [{"role": "user", "content": "q0"}]}
    assert validate(path, ImportOptions(), ProfileLimits()).notes == []  # OpenAI: as is


# -- into a workspace ---------------------------------------------------------------------------
def test_any_user_custom_id_is_kept_and_what_is_sent_is_the_managed_id(
        write: Writer, store: Store) -> None:
    store.add_profile("claude", CLAUDE)
    path = write("ids.csv", 'custom_id,text\n"row 1/ä",one\nrow 2 (copy),two\n"a,b",three\n')
    summary = import_file(store, path, ImportOptions(model=M, template="{text}"),
                          profile_name="claude")
    assert summary.prompts == 3
    batch = store.list_batches()[0]
    assert (batch.endpoint, batch.model) == (MESSAGES_ENDPOINT, M)
    users = [row.user_custom_id for rows in store.iter_run_prompts(summary.run.id)
             for row in rows]
    assert users == ["row 1/ä", "row 2 (copy)", "a,b"]
    sent = Drafts(store.db).pending_bodies(batch.id, 0, 10)
    assert len(sent) == 3
    for prompt_id, body in sent:
        assert ANTHROPIC_ID.match(provider_custom_id(prompt_id))
        assert orjson.loads(body)["max_tokens"] == 1024


def test_a_big_file_read_in_a_second_process_keeps_the_kind_and_the_notes(
        write: Writer, store: Store) -> None:
    store.add_profile("claude", CLAUDE)
    path = write("chat.jsonl", b"".join(line(chat(f"c{i}", {"model": M, "messages": [
        {"role": "user", "content": f"q{i}"}]})) for i in range(50)))
    summary = import_file(store, path, ImportOptions(max_tokens=33), profile_name="claude",
                          parallel_from_bytes=0)
    assert summary.prompts == 50
    assert summary.notes[0].startswith("50 request(s) converted from OpenAI chat format")
    sent = Drafts(store.db).pending_bodies(store.list_batches()[0].id, 0, 100)
    assert {orjson.loads(body)["max_tokens"] for _, body in sent} == {33}


@pytest.mark.parametrize("pad", range(5))
def test_escapes_across_read_chunks_are_kept(write: Writer, pad: int) -> None:
    # Strings of escapes longer than the 1 MiB the scanner reads at a time: with five
    # paddings, a backslash lands on every position of its escape at some chunk boundary.
    text = 'a\\"ä€😀' * 150_000
    entries = [native("x" * (pad + 1), messages=[{"role": "user", "content": text}]),
               native("after")]
    requests, errors = split(read(write("batch.json", requests_file(entries))))
    assert errors == []
    assert [b["messages"][0]["content"] for b in bodies(requests)] == [text, "Hi"]


def test_a_stop_is_heard_inside_one_huge_request(write: Writer) -> None:
    # 8 MB in a single entry: the reader polls the stop after each chunk, not only between
    # entries.
    huge = b'{"requests": [{"custom_id": "a", "params": {"x": "' + b"z" * 8_000_000 + b'"}}]}'
    path = write("batch.json", huge)
    asked: list[bool] = []

    def stop() -> bool:
        asked.append(True)
        return len(asked) > 2

    reader = RequestReader(path, ImportOptions(), ProfileLimits(), should_stop=stop,
                           kind=CLAUDE)
    with pytest.raises(Cancelled):
        list(reader)
    assert reader.bytes_read < len(huge)


def test_a_workbook_into_a_claude_profile_makes_messages_params(tmp_path: Path) -> None:
    from tests.importing.test_xlsx import workbook
    path = workbook(tmp_path / "w.xlsx", {"S": [["id", "q"], ["a", "Why?"]]})
    requests, errors = split(read(path, model=M, template="{q}", id_column="id",
                                  max_tokens=12))
    assert errors == []
    assert bodies(requests) == [{"model": M, "max_tokens": 12, "messages": [
        {"role": "user", "content": "Why?"}]}]


def test_a_huge_request_is_refused_in_bounded_memory(write: Writer) -> None:
    # 64 MB in one entry, over a 1 MB limit: refused after reading about the limit, never
    # held whole; escapes cost nothing extra (the C scanner reads them).
    import tracemalloc
    path = write("batch.json", b'{"requests": [' + orjson.dumps(native("a")) + b",\n"
                 + b'{"custom_id": "big", "params": {"x": "' + b'\\"z' * 21_500_000
                 + b'"}}]}')
    tracemalloc.start()
    try:
        with pytest.raises(ImportValidationError) as caught:
            read(path, limits=ProfileLimits(max_line_bytes=1_000_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (error,) = caught.value.errors
    assert error.line == 2
    assert error.message.startswith("requests[1] is over 1,000,000 bytes")
    assert peak < 12_000_000, peak
