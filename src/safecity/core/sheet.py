"""Reading a .csv or .xlsx file into rows of text cells, and reporting problems by line.

Cells keep the physical line (CSV) or row (XLSX) they start on, header = line 1, so every problem
can name the place a person sees in their editor. CSV is UTF-8 (with or without a BOM), or GBK
(read as GB 18030, its superset), which spreadsheet programs on Chinese Windows still write.
Shared by every bulk import (points, alarm accounts); each import names its own columns.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Final

from safecity.core.errors import ValidationFailed

MAX_PROBLEMS: Final = 1000  # reported in full; beyond this only counted
SUFFIXES: Final = (".csv", ".xlsx")
# Spreadsheet programs run a cell that starts with one of these as a formula ("CSV injection"),
# so exports quote such text cells with a leading apostrophe and imports take it off again.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


class SheetUnreadable(ValidationFailed):
    """The file is not a spreadsheet we can read; `line` says where reading stopped."""

    def __init__(self, message: str, *, line: int = 1) -> None:
        super().__init__(message, field="file")
        self.line = line


@dataclass(frozen=True, slots=True)
class SheetRow:
    line: int  # 1-based physical line (CSV) or row (XLSX) the record starts on
    cells: tuple[str, ...]

    @property
    def blank(self) -> bool:
        return not any(self.cells)


@dataclass(frozen=True, slots=True)
class Sheet:
    header: SheetRow
    rows: list[SheetRow]  # data rows; blank rows (and any before the header) are left out


def read_sheet(name: str, data: bytes) -> Sheet:
    """Parse a whole .csv or .xlsx file (chosen by the name's suffix) into stripped text cells."""
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    if suffix == ".csv":
        records = _csv_rows(_decode(data))
    elif suffix == ".xlsx":
        records = _xlsx_rows(data)
    else:
        raise SheetUnreadable(f"unsupported file type {suffix or name!r}: use .csv or .xlsx")
    header: SheetRow | None = None
    rows: list[SheetRow] = []
    for row in records:
        if row.blank:
            continue
        if header is None:
            header = row
        else:
            rows.append(row)
    if header is None:
        raise SheetUnreadable("the first line must be a header naming the columns")
    return Sheet(header=header, rows=rows)


def quote_formula(text: str) -> str:
    """Prefix a text cell a spreadsheet would run as a formula with an apostrophe."""
    return "'" + text if text.startswith(_FORMULA_START) or _quoted_formula(text) else text


def unquote_formula(text: str) -> str:
    """Undo `quote_formula`: "'=1+1" reads back as "=1+1"; other text is left alone."""
    return text[1:] if _quoted_formula(text) else text


def _quoted_formula(text: str) -> bool:
    return text.startswith("'") and text[1:].startswith((*_FORMULA_START, "'"))


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            line = data.count(b"\n", 0, utf8_error.start) + 1
            raise SheetUnreadable(
                "the file is neither UTF-8 nor GBK text (save it as CSV UTF-8)", line=line
            ) from utf8_error


def _csv_rows(text: str) -> Iterator[SheetRow]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for record in reader:
            yield SheetRow(line=start, cells=tuple(cell.strip() for cell in record))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise SheetUnreadable(f"malformed CSV: {exc}", line=start) from exc


def _xlsx_rows(data: bytes) -> Iterator[SheetRow]:
    from openpyxl import load_workbook  # noqa: PLC0415 (slow to import; only .xlsx needs it)

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SheetUnreadable(f"not a readable .xlsx workbook: {exc}") from exc
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # some writers record wrong dimensions; read what is there
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield SheetRow(line=line, cells=tuple(_cell_text(value) for value in values))
    finally:
        book.close()


def _cell_text(value: object) -> str:
    """A typed XLSX cell as the text a person typed: 44030401.0 reads back as "44030401"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


@dataclass(frozen=True, slots=True)
class RowProblem:
    file: str
    line: int  # 1-based physical line (CSV) or row (XLSX); the header is line 1
    field: str  # the column, or "file" / "row" for problems no single column owns
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.reason}"


class ImportRejected(ValidationFailed):
    """The file broke a rule somewhere, so nothing was imported; `problems` says where."""

    def __init__(self, file: str, problems: list[RowProblem], *, total: int | None = None) -> None:
        total = len(problems) if total is None else total
        listed = problems[:MAX_PROBLEMS]
        lines = [str(problem) for problem in listed]
        if total > len(listed):
            lines.append(f"... and {total - len(listed)} more problems")
        noun = "problem" if total == 1 else "problems"
        super().__init__(
            f"{file}: nothing imported, {total} {noun}:\n" + "\n".join(lines),
            field=listed[0].field if listed else None,
        )
        self.file = file
        self.problems = listed
        self.total = total

    @property
    def omitted(self) -> int:
        """Problems found but not listed (beyond `MAX_PROBLEMS`)."""
        return self.total - len(self.problems)
