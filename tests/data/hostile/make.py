"""Generate the hostile input files that Batcher must refuse quickly and in little memory.

    python tests/data/hostile/make.py [DIR] [--small]

Writes every file into DIR (default: this folder). ``--small`` writes only the files small
enough to keep in git (a few tens of KB each); tests and ``bench/hostile.py`` generate the big
ones in a temporary folder with :func:`make_all`. Each file is named for what it holds.

The .xlsx files are written part by part with zipfile (not openpyxl), so that each hostile
part is exactly as an attacker would craft it.
"""

from __future__ import annotations

import os
import sys
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

MB = 1000 * 1000
#: Bytes written per piece when streaming a big part or line: the generator stays small too.
_PIECE = 1024 * 1024

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '{strings}</Types>'
)
_STRINGS_TYPE = (
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>{strings}</Relationships>'
)
_STRINGS_REL = (
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/>'
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>prompt</t></is></c></row>'
)
_SHEET_TAIL = '</sheetData></worksheet>'

#: A part's content: pieces of bytes, streamed into the zip.
Pieces = Iterable[bytes]


def _repeat(unit: bytes, total: int) -> Pieces:
    """``unit`` repeated to about ``total`` bytes (whole units), in pieces of about a MB."""
    piece = unit * max(1, _PIECE // len(unit))
    left = total
    while left > 0:
        yield piece[: max(len(unit), left - left % len(unit))]
        left -= len(piece)


def _varied(total: int) -> Pieces:
    """``total`` bytes of letters that compress only about 1.3 times (no zip-bomb ratio)."""
    letters = b"abcdefghijklmnopqrstuvwxyz0123456789 "
    left = total
    while left > 0:
        raw = os.urandom(min(_PIECE, left))
        yield bytes(letters[b % len(letters)] for b in raw)
        left -= len(raw)


def write_xlsx(path: Path, sheet: Pieces, strings: Pieces | None = None) -> Path:
    """A one-sheet workbook whose sheet XML (and shared strings, if given) are streamed."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml",
                    _CONTENT_TYPES.format(strings=_STRINGS_TYPE if strings else ""))
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("xl/workbook.xml", _WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels",
                    _WORKBOOK_RELS.format(strings=_STRINGS_REL if strings else ""))
        parts = [("xl/worksheets/sheet1.xml", sheet)]
        if strings is not None:
            parts.append(("xl/sharedStrings.xml", strings))
        for name, pieces in parts:
            with zf.open(name, "w", force_zip64=True) as out:
                for piece in pieces:
                    out.write(piece)
    return path


def _sheet(*middle: Pieces) -> Pieces:
    yield _SHEET_HEAD.encode()
    for pieces in middle:
        yield from pieces
    yield _SHEET_TAIL.encode()


def huge_comment(path: Path, size: int = 36 * MB) -> Path:
    """The issue's file: a sheet whose XML is one huge comment (37 KB zipped)."""
    return write_xlsx(path, _sheet([b"<!--"], _repeat(b"x", size), [b"-->"]))


def varied_comment(path: Path, size: int = 8 * MB) -> Path:
    """A huge comment that does not compress well: passes any zip-bomb ratio check."""
    return write_xlsx(path, _sheet([b"<!--"], _varied(size), [b"-->"]))


def inline_cell(path: Path, size: int = 1000 * MB) -> Path:
    """One inline-string cell of ``size`` characters (1 GB: about 1 MB zipped)."""
    return write_xlsx(path, _sheet(
        [b'<row r="2"><c r="A2" t="inlineStr"><is><t>'], _repeat(b"a", size),
        [b"</t></is></c></row>"]))


def shared_cell(path: Path, size: int = 1000 * MB) -> Path:
    """One shared-string cell of ``size`` characters (1 GB: about 1 MB zipped).

    openpyxl loads the shared-string table whole before the first row is read."""
    strings = _strings([b'<si><t>'], _repeat(b"a", size), [b"</t></si>"])
    return write_xlsx(path, _sheet([b'<row r="2"><c r="A2" t="s"><v>0</v></c></row>']), strings)


def _strings(*middle: Pieces) -> Pieces:
    yield (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
    for pieces in middle:
        yield from pieces
    yield b"</sst>"


def zip_bomb(path: Path, size: int = 100 * MB) -> Path:
    """A sheet part of ``size`` bytes of valid rows that zips a thousand times smaller."""
    row = b'<row><c t="inlineStr"><is><t>bomb</t></is></c></row>'
    return write_xlsx(path, _sheet(_repeat(row, size)))


def long_line(path: Path, kind: str, size: int = 500 * MB) -> Path:
    """A ``kind`` (csv, jsonl, txt) file whose second line is ``size`` bytes long."""
    head, body, tail = {
        "csv": (b"prompt\n", b"a", b"\nshort\n"),
        "jsonl": (b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", '
                  b'"body": {"model": "m", "messages": [{"role": "user", "content": "', b"a",
                  b'"}]}}\n'),
        "txt": (b"first\n", b"a", b"\nlast\n"),
    }[kind]
    with open(path, "wb") as f:
        f.write(head)
        for piece in _repeat(body, size):
            f.write(piece)
        f.write(tail)
    return path


def deep_json(path: Path, depth: int = 10_000) -> Path:
    """A JSONL line nested ``depth`` arrays deep (a recursive parser overflows its stack)."""
    path.write_bytes(b"[" * depth + b"]" * depth + b"\n")
    return path


def legal_sheet(path: Path, rows: int = 600_000) -> Path:
    """Not hostile: a big, legal workbook (``rows`` numbered rows of inline strings, without
    the dimension element, so openpyxl reads it twice), slow to read whole: for Ctrl-C."""
    def body() -> Pieces:
        batch = []
        for i in range(2, rows + 2):
            batch.append(f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>Summarise item {i} '
                         f'of list {i * 7919 % 10007}</t></is></c></row>')
            if len(batch) == 10_000:
                yield "".join(batch).encode()
                batch.clear()
        yield "".join(batch).encode()
    return write_xlsx(path, _sheet(body()))


def many_parts(path: Path, parts: int = 30_000) -> Path:
    """A workbook whose zip index lists tens of thousands of empty parts beside its real ones
    (millions would take seconds and hundreds of MB to index before anything is read)."""
    write_xlsx(path, _sheet())
    with zipfile.ZipFile(path, "a", zipfile.ZIP_STORED) as zf:
        for i in range(parts):
            zf.writestr(f"customXml/p{i}.bin", b"")
    return path


#: name -> how to make it; the ones committed to git first (``--small``).
SMALL: dict[str, Callable[[Path], Path]] = {
    "huge-comment.xlsx": huge_comment,
    "deep-nesting.jsonl": deep_json,
}
BIG: dict[str, Callable[[Path], Path]] = {
    "varied-comment.xlsx": varied_comment,
    "shared-string-1gb.xlsx": shared_cell,
    "inline-string-1gb.xlsx": inline_cell,
    "zip-bomb.xlsx": zip_bomb,
    "many-parts.xlsx": many_parts,
    "line-500mb.csv": lambda p: long_line(p, "csv"),
    "line-500mb.jsonl": lambda p: long_line(p, "jsonl"),
    "line-500mb.txt": lambda p: long_line(p, "txt"),
}


def make_all(folder: Path, *, small_only: bool = False) -> dict[str, Path]:
    """Write the hostile files into ``folder`` (skipping ones already there)."""
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, Path] = {}
    for name, make in {**SMALL, **({} if small_only else BIG)}.items():
        path = folder / name
        if not path.exists():
            make(path)
        made[name] = path
    return made


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out = Path(args[0]) if args else Path(__file__).parent
    for name, path in make_all(out, small_only="--small" in sys.argv).items():
        print(f"{path.stat().st_size:>12,}  {name}")
