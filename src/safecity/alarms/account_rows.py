"""Checking an imported account sheet row by row: the header, each cell, numbers unique.

Each problem names the file, the line, the column and why (`file:line: field: reason`). Field rules
come from `AccountDraft`; this module turns cells into its input (zones "1:Front door:door_contact;
2:Hall PIR:pir", contacts "Name:phone:role;...") and its errors back into column names. Keys are
never echoed in a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from safecity.alarms.account_models import AccountDraft
from safecity.core.sheet import MAX_PROBLEMS, RowProblem, SheetRow, unquote_formula
from safecity.store.tables import OrgUnitRow, PointRow

COLUMNS: Final = (
    "account",
    "name",
    "org_unit",
    "point_code",
    "key_hex",
    "key_text",
    "require_encryption",
    "supervision_s",
    "grace_s",
    "zones",
    "contacts",
)
REQUIRED_COLUMNS: Final = frozenset({"account", "name", "org_unit"})
_TEXT: Final = frozenset({"name", "point_code", "zones", "contacts"})
_YES: Final = frozenset({"yes", "true", "1", "y", "是"})
_NO: Final = frozenset({"no", "false", "0", "n", "否", ""})
_SECRET: Final = frozenset({"key_hex", "key_text"})
_FIELD_OF: Final = {"org_unit_id": "org_unit", "point_id": "point_code"}


class CellProblem(ValueError):
    """One cell could not be read; the message is the reason."""


@dataclass
class AccountRow:
    """A checked row: the draft and its org unit."""

    line: int
    draft: AccountDraft
    unit: OrgUnitRow


@dataclass
class AccountRowChecker:
    """Turns sheet rows into `AccountDraft`s, collecting every problem instead of stopping."""

    file: str
    header: SheetRow
    units: dict[str, OrgUnitRow] = field(default_factory=dict)  # centre code -> unit in scope
    points: dict[str, PointRow] = field(default_factory=dict)  # code -> point the caller sees
    taken: set[str] = field(default_factory=set)  # account numbers already in the store
    problems: list[RowProblem] = field(default_factory=list)
    problem_count: int = 0
    _columns: list[str | None] = field(default_factory=list)
    _lines: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for cell in self.header.cells:
            name = cell.lower() or None
            if name is not None and name not in COLUMNS:
                self.problem(
                    self.header.line, cell, f"unknown column (expected {', '.join(COLUMNS)})"
                )
            elif name is not None and name in seen:
                self.problem(self.header.line, cell, "column appears twice")
            if name is not None:
                seen.add(name)
            self._columns.append(name)
        for missing in sorted(REQUIRED_COLUMNS - seen, key=COLUMNS.index):
            self.problem(self.header.line, missing, "required column is missing")

    @property
    def header_ok(self) -> bool:
        return self.problem_count == 0

    def problem(self, line: int, column: str, reason: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(RowProblem(self.file, line, column, reason))

    def distinct(self, column: str, rows: list[SheetRow]) -> list[str]:
        """The distinct non-empty cells of a column (to look them all up in a few queries)."""
        if column not in self._columns:
            return []
        position = self._columns.index(column)
        found = {row.cells[position] for row in rows if position < len(row.cells)} - {""}
        cells = {unquote_formula(cell) if column in _TEXT else cell for cell in found}
        if column == "account":
            cells = {cell.upper() for cell in cells}
        return sorted(cells)

    def check(self, row: SheetRow) -> AccountRow | None:
        """The row's draft and unit, or None after recording what is wrong with it."""
        cells = self._cells(row)
        if cells is None:
            return None
        before = self.problem_count
        line = row.line
        unit = self._unit(line, cells.pop("org_unit", ""))
        fields: dict[str, Any] = {
            key: value for key, value in cells.items() if value and key not in ("point_code",)
        }
        point_code = cells.get("point_code", "")
        if point_code:
            point = self.points.get(point_code)
            if point is None:
                self.problem(line, "point_code", f"no point has code {point_code!r}")
            elif unit is not None and not point.org_path.startswith(unit.path):
                self.problem(line, "point_code", f"point {point_code!r} is not inside org_unit")
            else:
                fields["point_id"] = point.id
        fields["require_encryption"] = self._flag(line, cells.get("require_encryption", ""))
        for column, parse in (("zones", parse_zones), ("contacts", parse_contacts)):
            if column in fields:
                try:
                    fields[column] = parse(fields[column])
                except CellProblem as exc:
                    self.problem(line, column, str(exc))
                    fields.pop(column)
        try:
            draft = AccountDraft(org_unit_id=unit.id if unit else 1, **fields)
        except ValidationError as exc:
            for error in exc.errors():
                self._pydantic_problem(line, error)
            return None
        self._unique(line, draft.account)
        if unit is None or self.problem_count > before:
            return None
        return AccountRow(line=line, draft=draft, unit=unit)

    def _cells(self, row: SheetRow) -> dict[str, str] | None:
        cells: dict[str, str] = {}
        for position, value in enumerate(row.cells):
            column = self._columns[position] if position < len(self._columns) else None
            if column is None:
                if value:
                    self.problem(
                        row.line, "row", f"value in column {position + 1}, which has no header"
                    )
                    return None
                continue
            cells[column] = unquote_formula(value) if column in _TEXT else value
        return cells

    def _unit(self, line: int, code: str) -> OrgUnitRow | None:
        if not code:
            self.problem(line, "org_unit", "required")
            return None
        unit = self.units.get(code)
        if unit is None:  # unknown and out of scope read the same: existence never leaks
            self.problem(line, "org_unit", f"no org unit has centre code {code!r}")
        return unit

    def _flag(self, line: int, value: str) -> bool:
        lowered = value.lower()
        if lowered in _YES:
            return True
        if lowered not in _NO:
            self.problem(line, "require_encryption", f"{value!r} is not yes/no/true/false/1/0")
        return False

    def _unique(self, line: int, number: str) -> None:
        first = self._lines.setdefault(number, line)
        if first != line:
            self.problem(line, "account", f"account {number} is already used on line {first}")
        elif number in self.taken:
            self.problem(line, "account", f"account {number} already exists")

    def _pydantic_problem(self, line: int, error: ErrorDetails) -> None:
        location = error["loc"]
        reason = error["msg"].removeprefix("Value error, ")
        if location:
            column = _FIELD_OF.get(str(location[0]), str(location[0]))
        elif "require_encryption" in reason:
            column = "require_encryption"
        elif "key_hex or key_text" in reason:
            column = "key_text"
        else:
            column = "row"
        if len(location) > 1:
            reason = f"{'.'.join(str(part) for part in location[1:])}: {reason}"
        if column not in _SECRET and column in ("account", "supervision_s", "grace_s"):
            reason = f"{error['input']!r}: {reason}"
        self.problem(line, column, reason)


def parse_zones(text: str) -> list[dict[str, Any]]:
    """ "1:Front door:door_contact;2:Hall PIR:pir" -> zone drafts' input."""
    zones: list[dict[str, Any]] = []
    for item in _items(text):
        number, _, rest = item.partition(":")
        name, _, detector = rest.rpartition(":")
        if not name or not detector:
            raise CellProblem(f"{item!r}: write zones as number:name:detector;...")
        if not number.strip().isdigit():
            raise CellProblem(f"{item!r}: the zone number is not a number")
        zones.append(
            {
                "number": int(number.strip()),
                "name": name.strip(),
                "detector": detector.strip().lower(),
            }
        )
    return zones


def parse_contacts(text: str) -> list[dict[str, Any]]:
    """ "Name:phone:role;..." -> contacts' input, called in the order written."""
    contacts: list[dict[str, Any]] = []
    for order, item in enumerate(_items(text), start=1):
        parts = item.rsplit(":", 2)
        if len(parts) != 3 or not all(part.strip() for part in parts):
            raise CellProblem(f"{item!r}: write contacts as name:phone:role;...")
        name, phone, role = (part.strip() for part in parts)
        contacts.append({"name": name, "phone": phone, "role": role.lower(), "order": order})
    return contacts


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(";") if item.strip()]
