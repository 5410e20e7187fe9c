"""The import dialog's helpers: peek, render_examples and validate (a dry run)."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest
from openpyxl import Workbook

from batcher_gui.domain.errors import Cancelled, ImportValidationError, LineError
from batcher_gui.domain.models import ImportOptions, InputFormat, ProfileLimits
from batcher_gui.importing import RequestReader, peek, render_examples, validate
from batcher_gui.importing.preview import PREVIEW_CELL_CHARS
from batcher_gui.storage.import_rows import BuildStart, RowBuilder
from tests.importing.helpers import Writer, line, request

LIMITS = ProfileLimits()


def chat(cid: str, text: str, model: str = "gpt-4o-mini") -> bytes:
    return line(request(cid, body={"model": model,
                                   "messages": [{"role": "system", "content": "Be nice"},
                                                {"role": "user", "content": text}]}))


def two_sheets(path: Path) -> Path:
    wb = Workbook()
    first = wb.active
    first.title = "Reviews"
    for row in (["ref", "text", "stars"], ["r1", "Great", 5], ["r2", "Meh", 2.0]):
        first.append(row)
    second = wb.create_sheet("Prompts")
    for row in (["prompt"], ["Hello"], [None], ["Bye"]):
        second.append(row)
    wb.save(path)
    return path


# -- peek ---------------------------------------------------------------------------------------
def test_peek_jsonl_with_two_models(write: Writer) -> None:
    other = request("e1", url="/v1/embeddings", body={"model": "text-embedding-3-small",
                                                      "input": ["vector me"]})
    path = write("in.jsonl", chat("a", "Hi", "gpt-4o") + b"\n" + chat("b", "Yo")
                 + chat("c", "Hey", "gpt-4o") + line(other) + b"not json\n")
    preview = peek(path, ImportOptions())
    assert preview.format is InputFormat.JSONL
    assert preview.columns == [] and preview.sheets == []
    assert preview.rows == [
        ["a", "/v1/chat/completions", "gpt-4o", "Hi"],
        ["b", "/v1/chat/completions", "gpt-4o-mini", "Yo"],
        ["c", "/v1/chat/completions", "gpt-4o", "Hey"],
        ["e1", "/v1/embeddings", "text-embedding-3-small", "vector me"],
        ["", "", "", "(not a JSON object)"],
    ]
    assert preview.models == ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small"]
    assert preview.endpoints == ["/v1/chat/completions", "/v1/embeddings"]
    assert preview.needs_model is False and preview.needs_template is False
    assert preview.suggested_id_column is None
    assert preview.total_bytes == os.path.getsize(path)
    assert len(peek(path, ImportOptions(), limit=2).rows) == 2


def test_peek_jsonl_without_models_and_with_other_endpoints(write: Writer) -> None:
    responses = request("r", url="/v1/responses", body={"input": [
        {"role": "user", "content": [{"type": "input_text", "text": "Describe"}]}]})
    completion = request("c", url="/v1/completions", body={"model": "m", "prompt": "Once"})
    preview = peek(write("in.jsonl", line(responses) + line(completion)), ImportOptions())
    assert preview.rows == [["r", "/v1/responses", "", "Describe"],
                            ["c", "/v1/completions", "m", "Once"]]
    assert preview.models == ["m"] and preview.needs_model is True


def test_peek_csv_with_and_without_a_prompt_column(write: Writer) -> None:
    path = write("in.csv", 'ref,text,lang\nA1,"Hello, world",French\n\nA2,"two\nlines"\n')
    preview = peek(path, ImportOptions())
    assert preview.format is InputFormat.CSV
    assert preview.columns == ["ref", "text", "lang"]
    assert preview.rows == [["A1", "Hello, world", "French"], ["A2", "two\nlines", ""]]
    assert preview.needs_template is True and preview.needs_model is True
    assert preview.suggested_id_column == "ref"
    with_prompt = write("p.tsv", "custom_id\tprompt\nx\tHi\n")
    preview = peek(with_prompt, ImportOptions())
    assert (preview.format, preview.needs_template) == (InputFormat.TSV, False)
    assert preview.suggested_id_column == "custom_id"


def test_peek_suggests_an_id_column_only_if_its_cells_look_like_ids(write: Writer) -> None:
    assert peek(write("a.csv", "id,text\n1,a\n1,b\n"), ImportOptions()).suggested_id_column is None
    assert peek(write("b.csv", "id,text\n1,a\n2,b\n"), ImportOptions(id_column="text")
                ).suggested_id_column == "text"
    assert peek(write("c.csv", "Order ID,text\n7,a\n"), ImportOptions()
                ).suggested_id_column == "Order ID"


def test_peek_text_and_long_cells(write: Writer) -> None:
    path = write("p.txt", "\ufeffFirst\r\n\r\n" + "x" * 5000 + "\nThird")
    preview = peek(path, ImportOptions())
    assert preview.format is InputFormat.TEXT
    assert preview.rows[0] == ["First"] and preview.rows[2] == ["Third"]
    assert len(preview.rows[1][0]) == PREVIEW_CELL_CHARS and preview.rows[1][0].endswith("…")
    assert preview.needs_model is True and preview.needs_template is False


def test_peek_xlsx_with_two_sheets(tmp_path: Path) -> None:
    path = two_sheets(tmp_path / "book.xlsx")
    preview = peek(path, ImportOptions())
    assert preview.format is InputFormat.XLSX
    assert preview.sheets == ["Reviews", "Prompts"]
    assert preview.columns == ["ref", "text", "stars"]
    assert preview.rows == [["r1", "Great", "5"], ["r2", "Meh", "2"]]
    assert preview.needs_template is True and preview.suggested_id_column == "ref"
    second = peek(path, ImportOptions(sheet="Prompts"), limit=5)
    assert second.columns == ["prompt"] and second.rows == [["Hello"], ["Bye"]]
    assert second.needs_template is False and second.sheets == preview.sheets
    with pytest.raises(ImportValidationError, match='the workbook\'s sheets: "Reviews", "Prompts"'):
        peek(path, ImportOptions(sheet="Nope"))


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    files = {
        "missing": tmp_path / "missing.csv",
        "folder": tmp_path / "folder.csv",
        "binary": tmp_path / "b.txt",
        "empty": tmp_path / "e.jsonl",
        "blank": tmp_path / "blank.csv",
        "utf16": tmp_path / "u.csv",
        "not a workbook": tmp_path / "n.xlsx",
        "bad header": tmp_path / "h.csv",
    }
    files["folder"].mkdir()
    files["binary"].write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    files["empty"].write_bytes(b"")
    files["blank"].write_bytes(b"\n \n")
    files["utf16"].write_bytes("prompt\nhi\n".encode("utf-16"))
    files["not a workbook"].write_bytes(b"prompt\nhi\n")
    files["bad header"].write_bytes(b"prompt,prompt\nhi,there\n")
    return files


@pytest.mark.parametrize("case", ["missing", "folder", "binary", "empty", "blank", "utf16",
                                  "not a workbook", "bad header"])
def test_peek_raises_what_an_import_would(tmp_path: Path, case: str) -> None:
    path = _bad_files(tmp_path)[case]
    with pytest.raises(ImportValidationError) as from_reader:
        RequestReader(path, ImportOptions(model="m"), LIMITS)
    with pytest.raises(ImportValidationError) as from_peek:
        peek(path, ImportOptions())
    assert from_peek.value.errors == from_reader.value.errors


# -- render_examples ----------------------------------------------------------------------------
def test_examples_follow_the_template_and_show_bad_rows(write: Writer) -> None:
    path = write("in.csv", "ref,text\nA1,Hello\nA1,Again\nA3,Bye\nA4,More\n")
    options = ImportOptions(model="m", template="Say {text}!", id_column="ref")
    examples = render_examples(path, options, LIMITS)
    assert examples == [
        ("A1", b'{"model":"m","messages":[{"role":"user","content":"Say Hello!"}]}'),
        LineError(str(path), 3, "ref", 'duplicate custom_id "A1": already used on line 2'),
        ("A3", b'{"model":"m","messages":[{"role":"user","content":"Say Bye!"}]}'),
    ]
    assert len(render_examples(path, options, LIMITS, n=10)) == 4
    with pytest.raises(ImportValidationError, match=r"placeholder \{txt\} names no column"):
        render_examples(path, ImportOptions(model="m", template="{txt}"), LIMITS)
    with pytest.raises(ImportValidationError, match="no prompt text"):
        render_examples(path, ImportOptions(model="m"), LIMITS)


def test_examples_of_jsonl_text_and_xlsx(write: Writer, tmp_path: Path) -> None:
    jsonl = write("in.jsonl", chat("a", "Hi") + chat("a", "Again"))
    [first, dup] = render_examples(jsonl, ImportOptions(model="gpt-4o"), LIMITS)
    assert isinstance(first, tuple) and first[0] == "a"
    assert orjson.loads(first[1])["model"] == "gpt-4o"
    assert isinstance(dup, LineError) and dup.line == 2 and dup.field == "custom_id"
    text = write("p.txt", "one\ntwo\n")
    examples = render_examples(text, ImportOptions(model="m"), LIMITS)
    assert [e[0] for e in examples if isinstance(e, tuple)] == ["1", "2"]
    book = two_sheets(tmp_path / "b.xlsx")
    examples = render_examples(book, ImportOptions(model="m", template="{text}: {stars}",
                                                   id_column="ref"), LIMITS, n=1)
    assert examples == [("r1", b'{"model":"m","messages":[{"role":"user","content":"Great: 5"}]}')]


# -- validate -----------------------------------------------------------------------------------
def test_validate_counts_and_first_errors(write: Writer) -> None:
    lines = [chat(f"a{i}", "Hi", "gpt-4o") for i in range(5)]
    lines.insert(2, b'{"custom_id": "x", oops}\n')
    lines.append(chat("a0", "dup"))
    lines.append(chat("m1", "Hi") + b"\n")
    lines.append(line(request("e", url="/v1/embeddings", body={"model": "emb", "input": "v"})))
    lines.append(line(request("bad", method="GET")))
    path = write("in.jsonl", b"".join(lines))
    report = validate(path, ImportOptions(), LIMITS)
    assert (report.valid, report.invalid, report.batches) == (7, 3, 3)
    assert [(e.line, e.field) for e in report.errors] == [(3, None), (7, "custom_id"),
                                                           (11, "method")]
    assert report.models == {"gpt-4o": 5, "gpt-4o-mini": 1, "emb": 1}
    assert report.endpoints == {"/v1/chat/completions": 6, "/v1/embeddings": 1}
    assert validate(path, ImportOptions(), LIMITS, keep=1).errors == report.errors[:1]
    assert validate(path, ImportOptions(), LIMITS, keep=1).invalid == 3


def test_validate_csv_text_and_xlsx(write: Writer, tmp_path: Path) -> None:
    csv = write("in.csv", "id,text\n1,a\n2,\n2,b\n3,c\n")
    report = validate(csv, ImportOptions(model="m", template="{text}", id_column="id"), LIMITS)
    assert (report.valid, report.invalid, report.batches) == (2, 2, 1)
    assert [str(e) for e in report.errors] == [
        f"{csv}, line 3, field 'template': the template renders to an empty prompt for this row "
        "(empty: text)",
        f"{csv}, line 4, field 'id': duplicate custom_id \"2\": already used on line 3",
    ]
    text = write("p.txt", "one\n\ntwo\n")
    assert validate(text, ImportOptions(model="m", endpoint="responses"), LIMITS).endpoints == {
        "/v1/responses": 2}
    book = two_sheets(tmp_path / "b.xlsx")
    report = validate(book, ImportOptions(model="m", sheet="Prompts"), LIMITS)
    assert (report.valid, report.invalid, report.models) == (2, 0, {"m": 2})
    with pytest.raises(ImportValidationError, match="no prompt text"):
        validate(book, ImportOptions(model="m"), LIMITS)


@pytest.mark.parametrize("limits", [
    ProfileLimits(max_requests=3),
    ProfileLimits(max_batch_bytes=1000, max_line_bytes=500),
])
def test_validate_packs_like_the_import(write: Writer, limits: ProfileLimits) -> None:
    models = ["a", "b", "a", "a", "b", "a", "a", "c", "a", "b", "b", "b", "a"]
    path = write("in.jsonl", b"".join(chat(f"r{i}", "Hi " * i, m) for i, m in enumerate(models)))
    report = validate(path, ImportOptions(), limits)
    builder = RowBuilder(BuildStart(run_id=1, next_prompt_id=1, next_batch_id=1, limits=limits))
    for _ in builder.rows(RequestReader(path, ImportOptions(), limits)):
        pass
    assert report.batches == len(builder.result.created) > 3
    assert report.valid == builder.result.count == len(models)


def _big(write: Writer, n: int) -> Path:
    return write("big.jsonl", b"".join(chat(f"r{i}", f"q{i}") for i in range(n)))


def test_validate_reports_progress_and_can_be_stopped(write: Writer) -> None:
    path = _big(write, 10_000)
    size = os.path.getsize(path)
    seen: list[tuple[int, int]] = []
    report = validate(path, ImportOptions(), LIMITS, progress=lambda a, b: seen.append((a, b)))
    assert report.valid == 10_000
    assert seen[-1] == (size, size) and len(seen) >= 3
    assert all(b == size for _, b in seen)
    assert [a for a, _ in seen] == sorted(a for a, _ in seen) and 0 < seen[0][0] < size

    polls: list[int] = []

    def stop() -> bool:
        polls.append(1)
        return len(polls) == 2

    with pytest.raises(Cancelled):
        validate(path, ImportOptions(), LIMITS, should_stop=stop)
    assert len(polls) == 2


def test_validate_raises_what_an_import_would(tmp_path: Path) -> None:
    files = _bad_files(tmp_path)
    for path in files.values():
        with pytest.raises(ImportValidationError):
            validate(path, ImportOptions(model="m"), LIMITS)

