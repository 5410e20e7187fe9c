"""Excel workbook (.xlsx/.xlsm) reader: one worksheet read as a table, with the CSV/TSV rules.

openpyxl reads the workbook in read-only mode, a row at a time: memory holds the workbook's
shared-string table (openpyxl loads it whole) and one row, never the sheet. Cells become the
text a person reading the sheet would type (see :func:`cell_text`). A formula cell gives the
value saved with it; a workbook written by a program that does not compute formulas (and not
saved by Excel since) has no such value, and those cells read as empty.

openpyxl is imported on first use: importing it takes a fifth of a second that every
``batcher`` command would otherwise pay.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import warnings
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from batcher_gui.domain.errors import BatcherError, ImportValidationError, LineError
from batcher_gui.domain.models import ImportOptions, InputFormat, ProfileKind, ProfileLimits
from batcher_gui.importing.common import (
    PROGRESS_MASK,
    ItemIterator,
    Progress,
    file_error,
    given,
    show,
)
from batcher_gui.importing.detect import OLE2_MAGIC, WORKBOOK_HINT, ZIP_MAGIC
from batcher_gui.importing.tabular import TableRules, check_header
from batcher_gui.importing.zipguard import GuardedZipFile, StopCheck

#: What a sheet's row numbers are called in messages.
ROW = "row"

#: Integer-valued floats below this print as integers (12.0 -> "12"); beyond it a float has
#: lost its low digits anyway and prints in exponent form.
_EXACT_INTEGERS = 1e16

_MIDNIGHT = dt.time()


@functools.cache
def _excel_reader() -> Any:
    """openpyxl's ``ExcelReader``, imported on first use."""
    from openpyxl.reader.excel import ExcelReader

    # openpyxl warns about parts it drops when it *edits* a file ("Data Validation extension
    # is not supported and will be removed", "no default style"...); Batcher only reads cell
    # values, so those would only alarm the user. Filtered once, for openpyxl's own modules:
    # a catch_warnings() around each read is neither thread-safe nor possible around a
    # generator that is suspended between rows.
    warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
    return ExcelReader


def cell_text(value: object) -> str:
    """A cell's value as prompt text.

    Empty -> "", numbers as Excel shows them in the General format (``12.0`` -> ``"12"``, at
    most 15 significant digits), dates and times ISO 8601 (a date without a time of day as
    ``2024-03-01``, else ``2024-03-01 14:30:00``), booleans ``TRUE``/``FALSE``. A number's own
    display format (percent, currency) is not applied.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < _EXACT_INTEGERS:
            return str(int(value))
        return f"{value:.15g}"
    if isinstance(value, dt.datetime):
        if value.time() == _MIDNIGHT and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):  # a duration cell ([h]:mm:ss)
        seconds = round(value.total_seconds())
        sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
        return f"{sign}{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return str(value)


def column_letter(index: int) -> str:
    """Excel's name for the 1-based column ``index`` (1 -> A, 27 -> AA)."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@contextmanager
def open_workbook(path: str, should_stop: StopCheck | None = None) -> Iterator[Any]:
    """The workbook at ``path``, opened read-only for its cached values; closed on exit.

    Every part is read through :class:`~batcher_gui.importing.zipguard.GuardedZipFile`:
    bounded in time and memory, and ``should_stop`` is polled while reading.

    Raises:
        ImportValidationError: the file cannot be opened, is not an .xlsx workbook, or
            holds a part that is too big (a zip bomb, a huge cell, comment or tag).
        Cancelled: ``should_stop`` returned True.
    """
    reader_class = _excel_reader()
    try:
        # A file object, not the name: openpyxl refuses names without an Excel extension,
        # and --format xlsx may be given for any name.
        f = open(path, "rb")  # noqa: SIM115 - closed in the finally below
    except OSError as exc:
        raise file_error(path, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        try:
            size = os.fstat(f.fileno()).st_size
            archive = GuardedZipFile(f, path=path, size=size, should_stop=should_stop)
            # What openpyxl's load_workbook does, with the guarded archive in place of the
            # plain ZipFile its reader opens (closed at once; it read only the zip's index).
            reader = reader_class(f, read_only=True, data_only=True, keep_links=False)
            reader.archive.close()
            reader.archive = archive
            reader.read()
            workbook = reader.wb
        except BatcherError:  # a refused part, or stopped: already clear
            raise
        except Exception as exc:  # a damaged workbook fails in many ways; all are the file's
            raise _not_a_workbook(path, f, exc) from None
        try:
            yield workbook
        finally:
            workbook.close()
    finally:
        f.close()


def _not_a_workbook(path: str, f: Any, exc: Exception) -> ImportValidationError:
    f.seek(0)
    head = f.read(len(OLE2_MAGIC))
    if head.startswith(OLE2_MAGIC):
        why = "it is an old Excel .xls workbook, or another Office 97-2003 file"
    elif not head.startswith(ZIP_MAGIC):
        why = "the file is not a zip archive, as .xlsx files are; is it a CSV or text file?"
    elif isinstance(exc, KeyError):
        why = "a zip archive without an Excel workbook in it"
    else:
        why = f"a damaged or unsupported zip archive: {exc}"
    return file_error(path, f"not an Excel .xlsx workbook: {WORKBOOK_HINT} ({why})")


def sheet_names(workbook: Any) -> list[str]:
    """The names of the workbook's worksheets (chart sheets hold no cells), in tab order."""
    return [sheet.title for sheet in workbook.worksheets]


def pick_sheet(path: str, workbook: Any, name: str | None) -> Any:
    """The worksheet called ``name`` (exactly, else ignoring case), or the first one.

    Raises:
        ImportValidationError: no such worksheet (the message lists them), or none at all.
    """
    sheets = workbook.worksheets
    if not sheets:
        raise file_error(path, "the workbook has no worksheets, only charts", field="sheet")
    if not given(name):
        return sheets[0]
    assert name is not None
    for wanted in (name, name.strip()):
        for sheet in sheets:
            if sheet.title == wanted:
                return sheet
    folded = name.strip().casefold()
    for sheet in sheets:
        if sheet.title.casefold() == folded:
            return sheet
    listed = ", ".join(show(title) for title in sheet_names(workbook))
    what = "is a chart, not a sheet of cells" if name in workbook.sheetnames else "does not exist"
    raise file_error(path, f"sheet {show(name)} {what}; the workbook's sheets: {listed}",
                     field="sheet")


def sheet_rows(path: str, sheet: Any) -> Generator[tuple[int, list[str]], None, None]:
    """(row number, cells as text) for each row of ``sheet`` with at least one non-empty cell.

    Rows are as long as their last stored cell, so they vary in length.

    Raises:
        ImportValidationError: the sheet's data is damaged.
    """
    # The dimension a workbook declares can be wrong (some programs write "A1"), and openpyxl
    # would then silently cut rows and columns off: read what is actually there.
    sheet.reset_dimensions()
    rows = sheet.iter_rows(values_only=True)
    number = 0
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except ImportValidationError as exc:  # refused by the guard: say where
            raise in_sheet(exc, sheet, number) from None
        except BatcherError:  # stopped
            raise
        except Exception as exc:  # damaged sheet XML; the user's file, not a bug here
            raise file_error(
                path,
                f"sheet {show(sheet.title)} cannot be read after row {number}: {exc}; "
                + WORKBOOK_HINT,
                line=number + 1,
            ) from None
        number += 1
        cells = [v if type(v) is str else cell_text(v) for v in values]
        if any(cells):
            yield number, cells


def in_sheet(exc: ImportValidationError, sheet: Any, number: int) -> ImportValidationError:
    """``exc`` (a part refused while reading ``sheet``) saying which sheet, and where."""
    error = exc.errors[0]
    where = f"sheet {show(sheet.title)}" + (f", after row {number}" if number else "")
    return ImportValidationError(
        [replace(error, message=f"{where}: {error.message}", line=number + 1 if number else None)],
        exc.total)


def header_of(
    path: str, sheet: Any, rows: Iterator[tuple[int, list[str]]]
) -> tuple[int, list[str]]:
    """The first non-empty row of ``sheet`` (from its ``rows``), without trailing blank cells.

    Raises:
        ImportValidationError: the sheet is empty.
    """
    for number, cells in rows:
        while not cells[-1].strip():
            cells.pop()
        return number, cells
    raise file_error(path, f"sheet {show(sheet.title)} is empty", field="sheet")


def with_sheet_hint(
    exc: ImportValidationError, sheet: str, names: Sequence[str]
) -> ImportValidationError:
    """``exc`` saying which sheet was read, when the workbook has others to choose from.

    For problems with the header (or the template and id column checked against it): reading
    the wrong sheet is their most likely cause.
    """
    if len(names) < 2:
        return exc
    others = ", ".join(show(name) for name in names if name != sheet)
    hint = f" (read from sheet {show(sheet)}; the workbook also has {others}: see --sheet)"
    return ImportValidationError(
        [replace(error, message=error.message + hint) for error in exc.errors], exc.total
    )


def peek_sheet(
    path: str, sheet_name: str | None, limit: int, should_stop: StopCheck | None = None
) -> tuple[list[str], list[str], list[list[str]]]:
    """The worksheet names, the checked header and the first ``limit`` data rows of a sheet.

    Raises:
        ImportValidationError: what an import would raise for the workbook, sheet or header.
        Cancelled: ``should_stop`` returned True.
    """
    with open_workbook(path, should_stop) as workbook:
        sheets = sheet_names(workbook)
        sheet = pick_sheet(path, workbook, sheet_name)
        rows = sheet_rows(path, sheet)
        try:
            try:
                number, cells = header_of(path, sheet, rows)
                columns = check_header(path, cells, number, ROW)
            except ImportValidationError as exc:
                raise with_sheet_hint(exc, sheet.title, sheets) from None
            data: list[list[str]] = []
            for _, cells in rows:
                if len(data) >= limit:
                    break
                data.append(cells)
        finally:
            rows.close()
    return sheets, columns, data


class XlsxSource:
    """Reads one worksheet of an Excel workbook as a table (see :class:`TableRules`).

    The constructor checks the options, the sheet, the header, the template and the id
    column (opening the workbook once); ``read`` opens it again and reads the rows.
    """

    def __init__(
        self, path: str, options: ImportOptions, limits: ProfileLimits, size: int,
        should_stop: StopCheck | None = None, kind: ProfileKind | str | None = None,
    ) -> None:
        self.path = path
        self.size = size
        self.should_stop = should_stop
        self.rules = TableRules(path, InputFormat.XLSX, options, limits, unit=ROW, kind=kind)
        with open_workbook(path, should_stop) as workbook:
            sheet = pick_sheet(path, workbook, options.sheet)
            self.sheet: str = sheet.title
            names = sheet_names(workbook)
            rows = sheet_rows(path, sheet)
            try:
                self.header_row, header = header_of(path, sheet, rows)
                self.rules.use_header(header, self.header_row)
            except ImportValidationError as exc:
                raise with_sheet_hint(exc, self.sheet, names) from None
            finally:
                rows.close()
        self.header = self.rules.header

    def read(self, progress: Progress) -> ItemIterator:
        """Yield a ParsedRequest per valid row and a LineError per invalid one.

        ``progress.bytes_read`` grows with the share of the sheet's rows read (as its declared
        dimension counts them): the file is compressed, so bytes cannot be counted directly.
        """
        path, size = self.path, self.size
        ncols = len(self.header)
        header_row = self.header_row
        request = self.rules.row_reader()
        count = 0
        with open_workbook(path, self.should_stop) as workbook:
            sheet = pick_sheet(path, workbook, self.sheet)
            try:
                estimate = sheet.max_row or 0  # read before sheet_rows() resets the dimension
            except ImportValidationError as exc:
                raise in_sheet(exc, sheet, 0) from None
            for number, cells in sheet_rows(path, sheet):
                count += 1
                if not count & PROGRESS_MASK and estimate:
                    progress.reached(min(size * number // estimate, size - 1))
                if number <= header_row:
                    continue
                if len(cells) != ncols:
                    if len(cells) < ncols:  # trailing empty cells are not stored
                        cells.extend([""] * (ncols - len(cells)))
                    else:
                        extra = self._unnamed(number, cells)
                        if extra is not None:
                            yield extra
                            continue
                        del cells[ncols:]
                yield request(number, cells)
        progress.reached(size)

    def _unnamed(self, number: int, cells: Sequence[str]) -> LineError | None:
        """The error for a value in a column right of the header's last name, if any."""
        ncols = len(self.header)
        for i in range(ncols, len(cells)):
            if cells[i]:
                letter = column_letter(i + 1)
                return LineError(
                    self.path, number, None,
                    f"cell {letter}{number} holds a value, but column {letter} has no name in "
                    f"the header (row {self.header_row}); name the column or clear the cell",
                )
        return None

