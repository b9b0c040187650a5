"""Checking an imported sheet row by row: the header, each cell, codes unique within the file.

Each problem names the file, the line, the column and why, the way compilers do, so a person can
fix every row in one pass. Field rules come from `PointDraft`; this module only turns cells into
its input and its errors back into column names.
"""

from __future__ import annotations

import re
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from safecity.core.sheet import MAX_PROBLEMS, ImportRejected, RowProblem
from safecity.org.models import PointDraft
from safecity.org.sheet import COLUMNS, REQUIRED_COLUMNS, TEXT_COLUMNS, SheetRow, unquote_formula
from safecity.store.tables import OrgUnitRow

__all__ = ["MAX_PROBLEMS", "ImportRejected", "RowChecker", "RowProblem"]
_LIST_SEPARATOR: Final = re.compile(r"[;,]")
_YES: Final = frozenset({"yes", "true", "1", "y", "是"})
_NO: Final = frozenset({"no", "false", "0", "n", "否", ""})
_LOWERED: Final = frozenset({"ownership", "owner_kind"})
_ECHOED: Final = frozenset({"lat", "lon", "ownership", "owner_kind"})  # reasons quote the cell


class RowChecker:
    """Turns sheet rows into `PointDraft`s, collecting every problem instead of stopping."""

    def __init__(self, file: str, header: SheetRow) -> None:
        self.file = file
        self.problems: list[RowProblem] = []
        self.problem_count = 0
        self.units: dict[str, OrgUnitRow] = {}  # the caller's: centre code -> unit in its scope
        self.taken_codes: set[str] = set()  # point codes the store already holds
        self._columns: list[str | None] = []  # column name by cell position; None = no header
        self._code_lines: dict[str, int] = {}
        self._read_header(header)

    @property
    def header_ok(self) -> bool:
        return self.problem_count == 0

    def problem(self, line: int, field: str, reason: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(RowProblem(self.file, line, field, reason))

    def distinct(self, column: str, rows: list[SheetRow]) -> list[str]:
        """The distinct non-empty cells of a column (to look them all up in a few queries)."""
        if column not in self._columns:
            return []
        position = self._columns.index(column)
        found = {row.cells[position] for row in rows if position < len(row.cells)} - {""}
        return (
            sorted(unquote_formula(cell) for cell in found)
            if column in TEXT_COLUMNS
            else sorted(found)
        )

    def check(self, row: SheetRow) -> tuple[PointDraft, OrgUnitRow] | None:
        """The row's draft and unit, or None after recording what is wrong with it."""
        cells = self._cells(row)
        if cells is None:
            return None
        before = self.problem_count
        unit = self._unit(row.line, cells.pop("org_unit", ""))
        signage = self._signage(row.line, cells.pop("public_signage", ""))
        fields: dict[str, Any] = {key: value for key, value in cells.items() if value}
        if "tags" in fields:
            fields["tags"] = [t.strip().lower() for t in _LIST_SEPARATOR.split(fields["tags"])]
            fields["tags"] = [tag for tag in fields["tags"] if tag]
        try:
            draft = PointDraft(
                org_unit_id=unit.id if unit else 1, public_signage=bool(signage), **fields
            )
        except ValidationError as exc:
            for error in exc.errors():
                self._pydantic_problem(row.line, error)
            return None
        if draft.code is not None:
            self._unique(row.line, draft.code)
        if unit is None or self.problem_count > before:
            return None
        return draft, unit

    def _read_header(self, header: SheetRow) -> None:
        seen: set[str] = set()
        for cell in header.cells:
            name = cell.lower() or None
            if name is not None and name not in COLUMNS:
                self.problem(header.line, cell, f"unknown column (expected {', '.join(COLUMNS)})")
            elif name is not None and name in seen:
                self.problem(header.line, cell, "column appears twice")
            if name is not None:
                seen.add(name)
            self._columns.append(name)
        for missing in sorted(REQUIRED_COLUMNS - seen, key=COLUMNS.index):
            self.problem(header.line, missing, "required column is missing")

    def _cells(self, row: SheetRow) -> dict[str, str] | None:
        cells: dict[str, str] = {}
        for position, value in enumerate(row.cells):
            column = self._columns[position] if position < len(self._columns) else None
            if column is None:
                if value:
                    self.problem(
                        row.line,
                        "row",
                        f"value {value!r} in column {position + 1}, which has no header",
                    )
                    return None
                continue
            cells[column] = unquote_formula(value) if column in TEXT_COLUMNS else value
            if column in _LOWERED:
                cells[column] = value.lower()
        return cells

    def _unit(self, line: int, code: str) -> OrgUnitRow | None:
        if not code:
            self.problem(line, "org_unit", "required")
            return None
        unit = self.units.get(code)
        if unit is None:  # unknown and out of scope read the same: existence never leaks
            self.problem(line, "org_unit", f"no org unit has centre code {code!r}")
        return unit

    def _signage(self, line: int, value: str) -> bool | None:
        lowered = value.lower()
        if lowered in _YES:
            return True
        if lowered in _NO:
            return False
        self.problem(line, "public_signage", f"{value!r} is not yes/no/true/false/1/0")
        return None

    def _unique(self, line: int, code: str) -> None:
        first = self._code_lines.setdefault(code, line)
        if first != line:
            self.problem(line, "code", f"code {code!r} is already used on line {first}")
        elif code in self.taken_codes:
            self.problem(line, "code", f"code {code!r} is already used by another point")

    def _pydantic_problem(self, line: int, error: ErrorDetails) -> None:
        location = error["loc"]
        field = str(location[0]) if location else "ownership"  # the model rule is about owners
        field = "org_unit" if field == "org_unit_id" else field
        reason = error["msg"].removeprefix("Value error, ")
        if location and (len(location) > 1 or field in _ECHOED):
            reason = f"{error['input']!r}: {reason}"
        self.problem(line, field, reason)
