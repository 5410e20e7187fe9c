"""Excel workbooks (.xlsx): the CSV/TSV rules, read from real workbooks made with openpyxl."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from batcher_gui.domain.errors import ImportValidationError, LineError
from batcher_gui.domain.models import ImportOptions, InputFormat, ParsedRequest, ProfileLimits
from batcher_gui.importing import RequestReader, detect_format
from batcher_gui.importing.xlsx import cell_text, column_letter
from tests.importing.helpers import read_all, split

BATCHER = str(Path(sys.executable).with_name("batcher"))
Rows = list[list[Any]]


def workbook(path: Path, sheets: dict[str, Rows]) -> Path:
    """Save a workbook with one worksheet per entry (in order), rows appended as given."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        sheet = wb.create_sheet(title)
        for row in rows:
            sheet.append(row)
    wb.save(path)
    return path


def patch_sheet(path: Path, edit: Callable[[str], str], member: str = "xl/worksheets/sheet1.xml"
                ) -> None:
    """Rewrite one part of a saved workbook, as another program might have written it."""
    with zipfile.ZipFile(path) as zin:
        parts = {info.filename: zin.read(info) for info in zin.infolist()}
    xml = parts[member].decode()
    edited = edit(xml)
    assert edited != xml, "the edit changed nothing: did openpyxl's output change?"
    parts[member] = edited.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in parts.items():
            zout.writestr(name, data)


def user_text(req: ParsedRequest) -> str:
    body: dict[str, Any] = orjson.loads(req.body)
    return str(body["messages"][-1]["content"])


def file_errors(exc: pytest.ExceptionInfo[ImportValidationError]) -> list[LineError]:
    return exc.value.errors


# -- valid workbooks ----------------------------------------------------------------------------
def test_prompt_column_row_numbers_as_ids(tmp_path: Path) -> None:
    path = workbook(tmp_path / "p.xlsx", {"Prompts": [["topic", "prompt"], ["sea", "Write a haiku"],
                                                      ["sky", "Write a limerick"]]})
    reader = RequestReader(path, ImportOptions(model="gpt-4o-mini", system="Be brief."),
                           ProfileLimits())
    assert reader.format is InputFormat.XLSX
    requests, errors = split(list(reader))
    assert errors == []
    assert [(r.line_no, r.user_custom_id) for r in requests] == [(2, "2"), (3, "3")]
    assert orjson.loads(requests[0].body) == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "Write a haiku"}],
    }
    assert reader.bytes_read == reader.total_bytes == os.path.getsize(path)


def test_template_and_id_column(tmp_path: Path) -> None:
    path = workbook(tmp_path / "p.xlsx", {"S": [["ref", "text", "lang"], ["A1", "Hello", "French"],
                                                ["A2", "two\nlines", "German"]]})
    requests, errors = split(read_all(path, model="m", template="Translate {text} into {lang}.",
                                      id_column="ref"))
    assert errors == []
    assert [r.user_custom_id for r in requests] == ["A1", "A2"]
    assert [user_text(r) for r in requests] == ["Translate Hello into French.",
                                                "Translate two\nlines into German."]


def test_custom_id_column_is_the_default_id_and_numbers_become_ids(tmp_path: Path) -> None:
    path = workbook(tmp_path / "p.xlsx", {"S": [["custom_id", "prompt"], [101, "a"], [102.0, "b"]]})
    requests, _ = split(read_all(path, model="m"))
    assert [r.user_custom_id for r in requests] == ["101", "102"]


def test_numbers_dates_and_booleans_become_text(tmp_path: Path) -> None:
    row = [12.0, 0.1, 1 / 3, 7, True, dt.date(2024, 3, 1), dt.datetime(2024, 3, 1, 14, 30),
           dt.time(9, 5)]
    names = ["f", "d", "third", "i", "b", "date", "stamp", "time"]
    path = workbook(tmp_path / "p.xlsx", {"S": [names, row]})
    template = "|".join(f"{{{n}}}" for n in names)
    [req] = read_all(path, model="m", template=template)
    assert isinstance(req, ParsedRequest)
    assert user_text(req) == ("12|0.1|0.333333333333333|7|TRUE|2024-03-01|2024-03-01 14:30:00"
                              "|09:05:00")


@pytest.mark.parametrize(("value", "text"), [
    (None, ""), ("  as is ", "  as is "), (12.0, "12"), (-3.0, "-3"), (2.5, "2.5"),
    (0.1 + 0.2, "0.3"), (1e20, "1e+20"), (12345678901234.0, "12345678901234"), (False, "FALSE"),
    (dt.datetime(2024, 1, 2), "2024-01-02"),
    (dt.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02 03:04:05"),
    (dt.timedelta(hours=26, minutes=3), "26:03:00"),
])
def test_cell_text(value: Any, text: str) -> None:
    assert cell_text(value) == text


def test_column_letters() -> None:
    assert [column_letter(i) for i in (1, 26, 27, 52, 703)] == ["A", "Z", "AA", "AZ", "AAA"]


def test_empty_rows_before_and_between_are_skipped_and_rows_keep_their_numbers(
        tmp_path: Path) -> None:
    path = workbook(tmp_path / "p.xlsx", {"S": [[], [None, None], ["custom_id", "prompt", "note"],
                                                ["a", "first"], [], [None, ""], ["b", "second"]]})
    requests, errors = split(read_all(path, model="m"))
    assert errors == []
    # Short rows (trailing empty cells are not stored) are padded, not ragged.
    assert [(r.line_no, r.user_custom_id, user_text(r)) for r in requests] == [
        (4, "a", "first"), (7, "b", "second")]


def test_a_wrong_dimension_does_not_cut_the_sheet(tmp_path: Path) -> None:
    # Some programs declare the used range as "A1"; openpyxl would trust it and stop there.
    path = workbook(tmp_path / "p.xlsx", {"S": [["custom_id", "prompt"], ["a", "x"], ["b", "y"]]})
    patch_sheet(path, lambda xml: xml.replace('<dimension ref="A1:B3" />',
                                              '<dimension ref="A1" />'))
    requests, _ = split(read_all(path, model="m"))
    assert [r.user_custom_id for r in requests] == ["a", "b"]


def test_second_sheet_by_name_and_the_first_by_default(tmp_path: Path) -> None:
    path = workbook(tmp_path / "p.xlsx", {"First": [["prompt"], ["one"]],
                                          "Second Sheet": [["q"], ["two"], ["three"]]})
    [first] = read_all(path, model="m")
    assert isinstance(first, ParsedRequest) and user_text(first) == "one"
    for name in ("Second Sheet", "second sheet", " Second Sheet "):
        requests, _ = split(read_all(path, model="m", template="Q: {q}", sheet=name))
        assert [user_text(r) for r in requests] == ["Q: two", "Q: three"]


def test_formula_cells_give_the_value_saved_with_them(tmp_path: Path) -> None:
    path = workbook(tmp_path / "p.xlsx", {"S": [["n", "prompt"], [2, '="Say "&A2'],
                                                [3, '="Say "&A3']]})
    # As Excel saves it: the formula and its last value. openpyxl writes no value, so the
    # second formula is left as openpyxl wrote it (a program that does not compute formulas).
    patch_sheet(path, lambda xml: xml.replace(
        '<c r="B2"><f>"Say "&amp;A2</f><v /></c>',
        '<c r="B2" t="str"><f>"Say "&amp;A2</f><v>Say 2</v></c>'))
    items = read_all(path, model="m")
    assert isinstance(items[0], ParsedRequest) and user_text(items[0]) == "Say 2"
    assert items[1] == LineError(str(path), 3, "prompt", "the 'prompt' cell is empty")


# -- rows the import reports --------------------------------------------------------------------
def test_bad_rows_are_named_by_row_and_field(tmp_path: Path) -> None:
    path = workbook(tmp_path / "p.xlsx", {"S": [
        ["ref", "text"], ["a", "fine"], ["a", "again"], [None, "no id"], ["c", " "],
        ["d", "extra", None, "stray"], ["e", "ok"]]})
    requests, errors = split(read_all(path, model="m", template="{text}", id_column="ref"))
    assert [r.user_custom_id for r in requests] == ["a", "e"]
    p = str(path)
    assert errors == [
        LineError(p, 3, "ref", 'duplicate custom_id "a": already used on row 2'),
        LineError(p, 4, "ref", 'empty custom_id cell in column "ref"'),
        LineError(p, 5, "template",
                  "the template renders to an empty prompt for this row (empty: text)"),
        LineError(p, 6, None, "cell D6 holds a value, but column D has no name in the header "
                              "(row 1); name the column or clear the cell"),
    ]
    assert str(errors[0]) == (f"{p}, line 3, field 'ref': "
                              'duplicate custom_id "a": already used on row 2')


def test_an_over_long_request_is_a_row_error(tmp_path: Path) -> None:
    path = workbook(tmp_path / "p.xlsx", {"S": [["prompt"], ["x" * 3000], ["short"]]})
    items = read_all(path, ProfileLimits(max_line_bytes=2000), model="m")
    assert isinstance(items[0], LineError) and items[0].line == 2
    assert "over the limit of 2,000 bytes per request line" in items[0].message
    assert isinstance(items[1], ParsedRequest)


# -- workbooks that cannot be imported ----------------------------------------------------------
def _reader_error(path: Path, **options: Any) -> LineError:
    options.setdefault("model", "m")
    with pytest.raises(ImportValidationError) as exc:
        RequestReader(path, ImportOptions(**options), ProfileLimits())
    [error] = exc.value.errors
    return error


def test_unknown_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = workbook(tmp_path / "p.xlsx", {"Prompts": [["prompt"], ["x"]], "Notes": [["a"]]})
    error = _reader_error(path, sheet="Data")
    assert error.field == "sheet"
    assert error.message == ('sheet "Data" does not exist; '
                             'the workbook\'s sheets: "Prompts", "Notes"')


def test_missing_template_column_names_the_columns_and_the_sheet(tmp_path: Path) -> None:
    path = workbook(tmp_path / "p.xlsx", {"Prompts": [["id", "text"], [1, "x"]], "Notes": [["a"]]})
    error = _reader_error(path, template="Summarise {body}")
    assert error.field == "template"
    assert error.message == (
        "template: placeholder {body} names no column; available columns: id, text "
        '(read from sheet "Prompts"; the workbook also has "Notes": see --sheet)')
    error = _reader_error(path)
    assert error.message.startswith("no prompt text: pass a template")


def test_header_problems_name_the_row(tmp_path: Path) -> None:
    path = workbook(tmp_path / "p.xlsx", {"S": [[], ["id", None, "text"], [1, 2, 3]]})
    error = _reader_error(path, template="{text}")
    assert (error.line, error.field) == (2, "header")
    assert error.message.startswith("column 2 has no name; every column needs a header (the "
                                    "first row must hold the column names")
    path = workbook(tmp_path / "q.xlsx", {"S": [["text", "text "], ["a", "b"]]})
    assert "appears twice" in _reader_error(path, template="{text}").message


def test_empty_sheet(tmp_path: Path) -> None:
    path = workbook(tmp_path / "p.xlsx", {"Cover": [], "Data": [["prompt"], ["x"]]})
    error = _reader_error(path)
    assert error.message == ('sheet "Cover" is empty (read from sheet "Cover"; the workbook also '
                             'has "Data": see --sheet)')
    [req] = read_all(path, model="m", sheet="Data")
    assert isinstance(req, ParsedRequest)


WORKBOOK_ADVICE = "not an Excel .xlsx workbook: re-save it as .xlsx, or as CSV"


@pytest.mark.parametrize(("name", "content", "says"), [
    ("renamed.xlsx", b"custom_id,prompt\na,hello\n", "is it a CSV or text file?"),
    ("old.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old Excel .xls workbook"),
    ("macro.xlsm", b"PK\x03\x04" + b"\0" * 100, "damaged or unsupported zip archive"),
    ("data.bin", b"not a workbook at all", "is it a CSV or text file?"),
])
def test_files_that_are_not_workbooks(tmp_path: Path, name: str, content: bytes, says: str
                                      ) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    fmt = InputFormat.XLSX if name.endswith(".bin") else None
    error = _reader_error(path, format=fmt)
    assert error.message.startswith(WORKBOOK_ADVICE) and says in error.message
    assert (error.path, error.line) == (str(path), None)


def test_a_zip_without_a_workbook_and_a_truncated_workbook(tmp_path: Path) -> None:
    other = tmp_path / "doc.xlsx"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    assert _reader_error(other).message.startswith(WORKBOOK_ADVICE)
    good = workbook(tmp_path / "good.xlsx", {"S": [["prompt"], ["x"]]})
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert _reader_error(cut).message.startswith(WORKBOOK_ADVICE)


def test_damaged_sheet_data_is_an_import_error(tmp_path: Path) -> None:
    path = workbook(tmp_path / "p.xlsx", {"S": [["prompt"], ["x"], ["y"]]})
    patch_sheet(path, lambda xml: xml.replace('<row r="3">', '<row r="3"><broken'))
    with pytest.raises(ImportValidationError) as exc:
        list(RequestReader(path, ImportOptions(model="m"), ProfileLimits()))
    assert 'sheet "S" cannot be read after row 2' in str(exc.value)


@pytest.mark.parametrize(("name", "content", "says"), [
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "but an old .xls one"),
    ("table.xls", b"<html><table></table></html>", "old .xls files cannot be read"),
    ("book.csv", b"PK\x03\x04" + b"\0" * 100, "name it .xlsx or pass --format xlsx"),
])
def test_xls_and_zip_files_under_other_names_say_what_to_do(
        tmp_path: Path, name: str, content: bytes, says: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert says in _reader_error(path).message


def test_format_and_sheet_options(tmp_path: Path) -> None:
    assert detect_format("a.XLSX", None) is InputFormat.XLSX
    assert detect_format("a.xlsm", None) is InputFormat.XLSX
    path = workbook(tmp_path / "export.dat", {"S": [["prompt"], ["x"]]})
    [req] = read_all(path, model="m", format=InputFormat.XLSX)
    assert isinstance(req, ParsedRequest)
    csv = tmp_path / "p.csv"
    csv.write_text("prompt\nx\n")
    error = _reader_error(csv, sheet="S")
    assert error.field == "sheet" and "only Excel workbooks have sheets" in error.message
    assert _reader_error(path, model=None, format="xlsx").field == "model"
    book = workbook(tmp_path / "book.xlsx", {"S": [["prompt"], ["x"]]})
    assert "is an Excel workbook, not text: drop --format" in _reader_error(
        book, format="csv").message


def test_progress_moves_with_the_rows(tmp_path: Path) -> None:
    rows: Rows = [["prompt"], *([f"question {i}"] for i in range(5000))]
    path = workbook(tmp_path / "p.xlsx", {"S": rows})
    reader = RequestReader(path, ImportOptions(model="m"), ProfileLimits())
    seen = [reader.bytes_read for i, _ in enumerate(reader) if i % 1000 == 999]
    assert 0 < seen[1] < seen[3] < reader.total_bytes
    assert reader.bytes_read == reader.total_bytes


# -- whatever the cells hold --------------------------------------------------------------------
CELLS = (
    st.none()
    | st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=6).filter(
        lambda t: not t.startswith("="))  # openpyxl would store it as a formula
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 1, 1))
)
HEADERS = st.sampled_from([["prompt"], ["custom_id", "prompt"], ["a", "b"], ["a", None, "b"], []])
XLSX_OPTIONS = st.sampled_from([
    ImportOptions(model="m"),
    ImportOptions(model="m", template="{a}: {b}", id_column="a"),
    ImportOptions(model="m", template="{prompt}", sheet="nope"),
])


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xlsx-fuzz")


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(header=HEADERS, rows=st.lists(st.lists(CELLS, max_size=4), max_size=6),
       options=XLSX_OPTIONS)
def test_any_cells_give_requests_row_errors_or_an_import_error(
        fuzz_dir: Path, header: list[Any], rows: Rows, options: ImportOptions) -> None:
    path = workbook(fuzz_dir / "fuzz.xlsx", {"S": [header, *rows]})
    try:
        reader = RequestReader(path, options, ProfileLimits())
        items = list(reader)
    except ImportValidationError as exc:
        assert exc.errors and all(e.message and e.path == str(path) for e in exc.errors)
        return
    last = 0
    for item in items:
        number = item.line_no if isinstance(item, ParsedRequest) else item.line
        assert number is not None and number > last
        last = number
        if isinstance(item, ParsedRequest):
            assert item.user_custom_id and orjson.loads(item.body)["model"] == "m"
    assert reader.bytes_read == reader.total_bytes


# -- the command line ---------------------------------------------------------------------------
def batcher(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("BATCHER_HOME", "DATABASE_URL", "OPENAI_API_KEY")}
    return subprocess.run([BATCHER, *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_imports_a_sheet_and_exports_it(tmp_path: Path) -> None:
    path = workbook(tmp_path / "reviews.xlsx", {
        "Notes": [["nothing here"]],
        "Reviews": [["ref", "text", "stars"], ["r1", "Great", 5], ["r2", "Meh", 2.0]]})
    ws = str(tmp_path / "ws")
    result = batcher("--data-dir", ws, "import", str(path), "--sheet", "Reviews",
                     "--model", "gpt-4o-mini", "--template", "{text} ({stars} stars)",
                     "--id-column", "ref")
    assert result.returncode == 0, result.stderr
    assert "Imported 2 prompts as run #1 'reviews' into 1 draft batch: #1\n" in result.stdout
    out = tmp_path / "out.jsonl"
    assert batcher("--data-dir", ws, "export", "1", "--out", str(out)).returncode == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["custom_id"] for x in lines] == ["r1", "r2"]
    assert lines[1]["request"]["body"]["messages"][0]["content"] == "Meh (2 stars)"


def test_cli_reports_a_file_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "prompts.xlsx"
    path.write_text("prompt\nhello\n")
    result = batcher("--data-dir", str(tmp_path / "ws"), "import", str(path), "--model", "m")
    assert result.returncode == 2
    assert f"prompts.xlsx: {WORKBOOK_ADVICE}" in result.stderr
    assert "Traceback" not in result.stderr
    unknown = workbook(tmp_path / "p.xlsx", {"A": [["prompt"], ["x"]]})
    result = batcher("--data-dir", str(tmp_path / "ws"), "import", str(unknown), "--model", "m",
                     "--sheet", "B")
    assert result.returncode == 2 and 'sheet "B" does not exist' in result.stderr


def test_cli_help_shows_the_sheet_option() -> None:
    result = batcher("import", "--help")
    assert result.returncode == 0
    assert "--sheet NAME" in result.stdout and "worksheet to read" in result.stdout
