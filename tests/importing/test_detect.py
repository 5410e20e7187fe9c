"""Format detection."""

from __future__ import annotations

import pytest

from batcher_gui.domain.errors import ImportValidationError
from batcher_gui.domain.models import InputFormat
from batcher_gui.importing import detect_format
from tests.importing.helpers import Writer


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jsonl", InputFormat.JSONL),
        ("a.NDJSON", InputFormat.JSONL),
        ("a.json-lines", InputFormat.JSONL),
        ("a.csv", InputFormat.CSV),
        ("a.tsv", InputFormat.TSV),
        ("a.tab", InputFormat.TSV),
        ("a.txt", InputFormat.TEXT),
        ("a.text", InputFormat.TEXT),
        ("a.prompts", InputFormat.TEXT),
    ],
)
def test_by_extension(write: Writer, name: str, expected: InputFormat) -> None:
    # The content would sniff as JSONL: the extension wins.
    assert detect_format(write(name, "{}\n"), None) is expected


def test_explicit_wins(write: Writer) -> None:
    assert detect_format(write("a.jsonl", "x\n"), InputFormat.CSV) is InputFormat.CSV


@pytest.mark.parametrize("content", [b'{"a": 1}\n', b"\xef\xbb\xbf\r\n  {\n"])
def test_sniffs_jsonl(write: Writer, content: bytes) -> None:
    assert detect_format(write("data", content), None) is InputFormat.JSONL


@pytest.mark.parametrize("content", [b"a,b\n1,2\n", b"[1]\n"])
def test_unknown_content(write: Writer, content: bytes) -> None:
    path = write("data.bin", content)
    with pytest.raises(ImportValidationError) as info:
        detect_format(path, None)
    [error] = info.value.errors
    assert error.field == "format"
    assert "'.bin'" in error.message and "--format jsonl|csv|tsv|text" in error.message
