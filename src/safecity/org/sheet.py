"""The point spreadsheet: its columns and its CSV export. Reading sheets is `core.sheet`'s job;
its names are re-exported here for the point import."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Final

from safecity.core.sheet import (
    SUFFIXES,
    Sheet,
    SheetRow,
    SheetUnreadable,
    quote_formula,
    read_sheet,
    unquote_formula,
)

__all__ = [
    "COLUMNS",
    "REQUIRED_COLUMNS",
    "SUFFIXES",
    "TEXT_COLUMNS",
    "Sheet",
    "SheetRow",
    "SheetUnreadable",
    "quote_formula",
    "read_sheet",
    "unquote_formula",
    "write_csv",
]

COLUMNS: Final = (
    "org_unit",
    "code",
    "name",
    "address",
    "lat",
    "lon",
    "tags",
    "ownership",
    "owner_name",
    "owner_kind",
    "public_signage",
)
REQUIRED_COLUMNS: Final = frozenset({"org_unit", "name", "lat", "lon"})
TEXT_COLUMNS: Final = frozenset({"code", "name", "address", "owner_name"})


def write_csv(rows: Iterable[Iterable[str]]) -> str:
    """CSV text (RFC 4180, CRLF) with the header first; text cells are already quoted."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue()
