"""CSV/TSV and plain-text readers: valid files."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from batcher_gui.domain.models import ImportOptions, InputFormat, ParsedRequest, ProfileLimits
from batcher_gui.importing import RequestReader
from batcher_gui.importing.tabular import sniff_delimiter
from tests.importing.helpers import Writer, read_all, split


def user_text(req: ParsedRequest) -> str:
    body: dict[str, Any] = orjson.loads(req.body)
    return str(body["messages"][-1]["content"])


def test_csv_with_template_and_id_column(write: Writer) -> None:
    path = write(
        "in.csv",
        'ref,text,lang\nA1,"Hello, world",French\n\nA2,"two\nlines",German\n',
    )
    reader = RequestReader(
        path,
        ImportOptions(
            model="gpt-4o-mini", template="Translate {text} into {lang}.", id_column="ref"
        ),
        ProfileLimits(),
    )
    assert reader.format is InputFormat.CSV
    requests, errors = split(list(reader))
    assert errors == []
    assert [(r.line_no, r.user_custom_id) for r in requests] == [(2, "A1"), (4, "A2")]
    assert [user_text(r) for r in requests] == [
        "Translate Hello, world into French.",
        "Translate two\nlines into German.",
    ]
    assert all(r.endpoint == "/v1/chat/completions" and r.model == "gpt-4o-mini" for r in requests)
    assert reader.bytes_read == reader.total_bytes


def test_csv_semicolon_bom_crlf_and_record_line_numbers(write: Writer) -> None:
    content = (
        "\ufeffcustom_id;prompt\r\n"
        'x;"first\r\nsecond\r\nthird"\r\n'
        "\r\n"
        "y;Hi, there, friend\r\n"  # commas in the data must not fool the sniffer
    )
    path = write("in.csv", content)
    requests, errors = split(read_all(path, model="m"))
    assert errors == []
    assert [(r.line_no, r.user_custom_id) for r in requests] == [(2, "x"), (6, "y")]
    assert user_text(requests[0]) == "first\r\nsecond\r\nthird"
    assert user_text(requests[1]) == "Hi, there, friend"


def test_csv_prompt_column_row_numbers_as_ids_and_system(write: Writer) -> None:
    path = write("in.csv", "topic,prompt\nsea,Write a haiku\nsky,Write a limerick")
    requests, errors = split(read_all(path, model="m", system="Be brief."))
    assert errors == []
    assert [r.user_custom_id for r in requests] == ["2", "3"]
    body = orjson.loads(requests[0].body)
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Write a haiku"},
    ]


def test_csv_endpoint_alias_and_literal_braces(write: Writer) -> None:
    path = write("in.csv", "id,text\n1,abc\n")
    [req] = read_all(path, model="emb", endpoint="embeddings", template="{{raw}} {text} }}")
    assert isinstance(req, ParsedRequest)
    assert req.endpoint == "/v1/embeddings"
    assert orjson.loads(req.body) == {"model": "emb", "input": "{raw} abc }"}


def test_csv_trailing_empty_cells_are_tolerated(write: Writer) -> None:
    path = write("in.csv", "id,prompt\n1,hello,,\n,,\n2,bye\n")
    requests, errors = split(read_all(path, model="m"))
    assert errors == []
    assert [r.user_custom_id for r in requests] == ["2", "4"]


def test_tsv(write: Writer) -> None:
    path = write("in.tsv", 'custom_id\tprompt\tnote\na\tSay, hi; now|ok\tx\nb\t"q"\ty\n')
    reader = RequestReader(path, ImportOptions(model="m", endpoint="responses"), ProfileLimits())
    assert reader.format is InputFormat.TSV
    requests, errors = split(list(reader))
    assert errors == []
    assert [orjson.loads(r.body)["input"] for r in requests] == ["Say, hi; now|ok", "q"]
    assert {r.endpoint for r in requests} == {"/v1/responses"}


def test_explicit_format_overrides_extension(write: Writer) -> None:
    path = write("data.txt", "custom_id\tprompt\n1\thi\n")
    reader = RequestReader(path, ImportOptions(format=InputFormat.TSV, model="m"), ProfileLimits())
    assert reader.format is InputFormat.TSV
    assert [r.user_custom_id for r in reader if isinstance(r, ParsedRequest)] == ["1"]


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2,5;3\n4;5;6\n", ";"),
        ("a|b\n1|2\n", "|"),
        ("a\tb\n1\t2\n", "\t"),
        ("prompt\nHello, world\nHow are you, friend\n", ";"),  # one column: avoid splitting
        ('a,b\n"x;y;z",1\n"p;q;r",2\n', ","),
    ],
)
def test_sniff_delimiter(sample: str, expected: str) -> None:
    assert sniff_delimiter(sample.encode(), truncated=False) == expected


def test_text_file(write: Writer) -> None:
    path = write("prompts.txt", "\ufeffFirst prompt\r\n\r\n  \nSecond prompt\nThird, no newline")
    reader = RequestReader(path, ImportOptions(model="m", endpoint="completions"), ProfileLimits())
    assert reader.format is InputFormat.TEXT
    requests, errors = split(list(reader))
    assert errors == []
    assert [(r.line_no, r.user_custom_id) for r in requests] == [(1, "1"), (4, "4"), (5, "5")]
    assert [orjson.loads(r.body)["prompt"] for r in requests] == [
        "First prompt",
        "Second prompt",
        "Third, no newline",
    ]
    assert reader.bytes_read == reader.total_bytes


def test_text_with_system_on_responses(write: Writer) -> None:
    path = write("p.prompts", "Hi\n")
    [req] = read_all(path, model="m", endpoint="/v1/responses", system="Be kind")
    assert isinstance(req, ParsedRequest)
    assert orjson.loads(req.body) == {"model": "m", "input": "Hi", "instructions": "Be kind"}
