"""Cheap file checks and format detection, done before any line is read."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import BinaryIO

from batcher_gui.domain.models import InputFormat
from batcher_gui.importing.common import FORMAT_HINT, SNIFF_BYTES, UTF8_BOM, file_error

#: Extensions (lower case, with the dot) that decide the format without looking inside.
EXTENSION_FORMATS: dict[str, InputFormat] = {
    ".jsonl": InputFormat.JSONL,
    ".ndjson": InputFormat.JSONL,
    ".json-lines": InputFormat.JSONL,
    # A Message Batches create body ({"requests": [...]}) for a Claude profile; read by the
    # JSONL reader, which tells it by its start (importing/claude_doc.py).
    ".json": InputFormat.JSONL,
    ".csv": InputFormat.CSV,
    ".tsv": InputFormat.TSV,
    ".tab": InputFormat.TSV,
    ".txt": InputFormat.TEXT,
    ".text": InputFormat.TEXT,
    ".prompts": InputFormat.TEXT,
    ".xlsx": InputFormat.XLSX,
    ".xlsm": InputFormat.XLSX,
}

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
#: How an .xlsx workbook (a zip archive) and an old .xls one (an OLE2 file) start.
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: The advice given for anything that should be a workbook but is not one Batcher can read.
WORKBOOK_HINT = "re-save it as .xlsx, or as CSV"


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What the cheap checks learnt about a file.

    Attributes:
        size: size in bytes.
        head: its first ``SNIFF_BYTES`` bytes.
        first_line: 1-based number of the first non-blank line (1 for a workbook, which has
            no lines).
    """

    size: int
    head: bytes
    first_line: int


def _display(path: str) -> str:
    return os.path.basename(path) or path


def inspect_file(path: str, *, text: bool = True) -> FileInfo:
    """Check that ``path`` is a readable, non-empty text file.

    Reads the first 64 KiB, plus any leading blank lines beyond them.

    Args:
        path: the input file.
        text: False for a workbook: only check that it is a readable, non-empty file (the
            workbook reader checks the rest).

    Raises:
        ImportValidationError: missing, a directory, unreadable, empty (or only blank
            lines), UTF-16, or binary (a NUL byte in the first 64 KiB).
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise file_error(path, "file not found; check the path") from None
    except OSError as exc:
        raise file_error(path, f"cannot read the file: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise file_error(path, "is a directory, not a file; choose an input file inside it")
    if not stat.S_ISREG(st.st_mode):
        raise file_error(path, "is not a regular file")
    if st.st_size == 0:
        raise file_error(path, "file is empty")
    try:
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
            first_line = _first_content_line(f, head) if text else 1
    except OSError as exc:
        raise file_error(path, f"cannot read the file: {exc.strerror or exc}") from None
    if not text:
        return FileInfo(st.st_size, head, first_line)
    if head.startswith(_UTF16_BOMS):
        raise file_error(path, "file is UTF-16 text; Batcher reads UTF-8: re-save it as UTF-8")
    nul = head.find(b"\0")
    if nul >= 0:
        raise file_error(path, _binary_message(path, head, nul))
    if first_line == 0:
        raise file_error(path, "file is empty (it has only blank lines)")
    return FileInfo(st.st_size, head, first_line)


def _binary_message(path: str, head: bytes, nul: int) -> str:
    """Why a binary file cannot be read, naming the workbook kinds users most often pick."""
    if head.startswith(OLE2_MAGIC):
        return (f"not an Excel .xlsx workbook but an old .xls one (or another Office 97-2003 "
                f"file); Batcher cannot read those: {WORKBOOK_HINT}")
    if head.startswith(ZIP_MAGIC) and is_workbook_choice(path, None):
        return ("is an Excel workbook, not text: drop --format (or pass --format xlsx) to read "
                "it as one")
    if head.startswith(ZIP_MAGIC):
        return ("looks like a zip archive (an Excel .xlsx workbook?), not text; to read it as "
                "a workbook, name it .xlsx or pass --format xlsx")
    return (f"looks like a binary file (NUL byte at offset {nul}), not text; Batcher reads "
            "UTF-8 JSONL, CSV/TSV or plain-text files, or Excel .xlsx workbooks")


def is_workbook_choice(path: str, explicit: InputFormat | str | None) -> bool:
    """Whether the format chosen (or the extension, when none is) says "Excel workbook"."""
    if explicit is not None:
        return explicit == InputFormat.XLSX
    return EXTENSION_FORMATS.get(os.path.splitext(path)[1].lower()) is InputFormat.XLSX


def examine(
    path: str | os.PathLike[str], explicit: InputFormat | None
) -> tuple[FileInfo, InputFormat]:
    """The cheap checks and the format, in the order an import does them.

    A workbook is only checked for being a readable, non-empty file here (it is binary by
    nature); any other file must also be UTF-8-looking text.

    Raises:
        ImportValidationError: see :func:`inspect_file` and :func:`detect_format`.
    """
    spath = os.fspath(path)
    info = inspect_file(spath, text=not is_workbook_choice(spath, explicit))
    return info, detect_format(spath, explicit, info.head)


def _first_content_line(f: BinaryIO, head: bytes) -> int:
    """The 1-based number of the first non-blank line, or 0 if every line is blank.

    Looks at ``head`` first; only a file that starts with more than 64 KiB of blank lines
    makes it read on (in bounded chunks, never a whole line at once).
    """
    body = head[3:] if head.startswith(UTF8_BOM) else head
    if body.strip():
        stripped = body.lstrip()
        return body.count(b"\n", 0, len(body) - len(stripped)) + 1
    newlines = body.count(b"\n")
    while True:
        chunk = f.read(SNIFF_BYTES)
        if not chunk:
            return 0
        if chunk.strip():
            stripped = chunk.lstrip()
            return newlines + chunk.count(b"\n", 0, len(chunk) - len(stripped)) + 1
        newlines += chunk.count(b"\n")


def _coerce(path: str, explicit: InputFormat | str) -> InputFormat:
    try:
        return InputFormat(explicit)
    except ValueError:
        raise file_error(
            path, f"unknown format {explicit!r}; expected {FORMAT_HINT}", field="format"
        ) from None


def detect_format(
    path: str | os.PathLike[str], explicit: InputFormat | None, head: bytes | None = None
) -> InputFormat:
    """Decide the input format: ``explicit`` if given, else the extension, else the content.

    Content sniffing only recognises JSONL (the first non-blank line starts with ``{``).

    Args:
        path: the input file.
        explicit: the format the user chose, or None.
        head: the file's first bytes if already read (saves a read).

    Raises:
        ImportValidationError: the format cannot be decided (unknown extension and the
            content does not look like JSONL), or the file cannot be read to sniff it.
    """
    spath = os.fspath(path)
    if explicit is not None:
        return _coerce(spath, explicit)
    ext = os.path.splitext(spath)[1].lower()
    if ext in EXTENSION_FORMATS:
        return EXTENSION_FORMATS[ext]
    if head is None:
        try:
            with open(spath, "rb") as f:
                head = f.read(SNIFF_BYTES)
        except OSError as exc:
            raise file_error(spath, f"cannot read the file: {exc.strerror or exc}") from None
    if head.startswith(UTF8_BOM):
        head = head[3:]
    if head.lstrip().startswith(b"{"):
        return InputFormat.JSONL
    if ext == ".xls":  # an HTML or XML "spreadsheet" some tools save under .xls
        raise file_error(
            spath, f"not an Excel .xlsx workbook (old .xls files cannot be read): {WORKBOOK_HINT}",
            field="format")
    what = f"extension {ext!r}" if ext else "no extension"
    raise file_error(
        spath,
        f"cannot tell the format of {_display(spath)!r} ({what}, and the content is not "
        f"JSONL); pass a format: {FORMAT_HINT}",
        field="format",
    )


def format_mismatch(path: str, chosen: InputFormat, explicit: bool, head: bytes) -> str | None:
    """A warning when the format the user chose does not match what the file looks like."""
    if not explicit:
        return None
    body = head[3:] if head.startswith(UTF8_BOM) else head
    first = body.lstrip().split(b"\n", 1)[0]
    looks_jsonl = first.startswith(b"{")
    ext_format = EXTENSION_FORMATS.get(os.path.splitext(path)[1].lower())
    if looks_jsonl and chosen is not InputFormat.JSONL:
        return (f"--format {chosen.value} was given, but the file looks like JSONL (its lines "
                "start with '{'): each whole line becomes one prompt text; drop --format to "
                "read it as JSONL")
    if chosen is InputFormat.TEXT and ext_format in (InputFormat.CSV, InputFormat.TSV):
        return (f"--format text was given for a .{ext_format.value} file: its header line "
                "becomes a prompt too; drop --format to read it as a table")
    return None
