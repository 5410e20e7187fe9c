"""What an import says about lines it cannot use, and about a format that does not fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batcher_gui.domain.errors import ImportValidationError
from batcher_gui.domain.models import ImportOptions, InputFormat, ProfileLimits
from batcher_gui.importing import RequestReader


def _line(cid: str) -> str:
    return json.dumps({"custom_id": cid, "method": "POST", "url": "/v1/chat/completions",
                       "body": {"model": "m", "messages": [{"role": "user", "content": "hi"}]}})


def _errors(path: Path) -> list[str]:
    reader = RequestReader(path, ImportOptions(), ProfileLimits())
    return [str(item) for item in reader if not isinstance(item, tuple)]


def test_json_errors_name_the_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(_line("a") + "\n" + '{"custom_id": "b", oops}\n' + '{"custom_id": "c"\n')
    errors = _errors(path)
    assert errors[0].startswith(f"{path}, line 2: not valid JSON at column 20")
    assert "(char " not in errors[0] and "line 2 column" not in errors[0]
    assert errors[1] == (f"{path}, line 3: not valid JSON the line ends before the JSON does "
                         "(a missing '}', ']' or '\"'?) (each line must be one JSON object)")


def test_long_custom_ids_are_fine_because_the_provider_never_sees_them(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(_line("x" * 600) + "\n")
    assert _errors(path) == []


@pytest.mark.parametrize(("name", "content", "fmt", "says"), [
    ("p.jsonl", _line("a") + "\n", InputFormat.CSV, "looks like JSONL"),
    ("p.jsonl", _line("a") + "\n", InputFormat.TEXT, "looks like JSONL"),
    ("p.csv", "id,text\n1,hello\n", InputFormat.TEXT, "header line becomes a prompt"),
])
def test_a_format_that_does_not_fit_the_content_is_warned_about(
        tmp_path: Path, name: str, content: str, fmt: InputFormat, says: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    try:
        reader = RequestReader(path, ImportOptions(format=fmt, model="m", template="{text}"
                                                   if fmt is InputFormat.CSV else None),
                               ProfileLimits())
    except ImportValidationError as exc:  # a CSV read of JSONL may fail outright: fine too
        assert "column" in str(exc)
        return
    assert any(says in w for w in reader.warnings), reader.warnings


def test_no_warning_when_the_format_is_not_forced(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("id,text\n1,hello\n")
    reader = RequestReader(path, ImportOptions(model="m", template="{text}"), ProfileLimits())
    assert reader.warnings == []
