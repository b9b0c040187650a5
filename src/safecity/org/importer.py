"""Bulk import of points from the spreadsheets people keep their camera lists in (.csv, .xlsx).

All or nothing: every row is checked first and any problem rejects the whole file, listing every
problem by file, line and column. A good file goes in as one bulk INSERT in one transaction with
one audit record (the file's name, row count and SHA-256), then one `PointsImported` event.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from safecity.core.errors import Conflict, ValidationFailed
from safecity.core.events import PointsImported
from safecity.core.policy import Action, Resource, require
from safecity.core.scope import Scope
from safecity.org.import_rows import ImportRejected, RowChecker, RowProblem
from safecity.org.journal import RegistryContext, record
from safecity.org.models import PointDraft
from safecity.org.sheet import Sheet, SheetUnreadable, read_sheet
from safecity.store.repositories import org as repo
from safecity.store.tables import OrgUnitRow, PointRow

__all__ = ["ImportRejected", "ImportReport", "PointImporter", "Progress", "RowProblem"]

Progress = Callable[[int, int], None]
_BATCH: Final = 1000  # rows per INSERT round trip, and per progress report
_NAME_MAX: Final = 190  # audit targets are at most 200 characters


@dataclass(frozen=True, slots=True)
class ImportReport:
    count: int
    file: str
    sha256: str


class PointImporter:
    def __init__(self, ctx: RegistryContext) -> None:
        self._ctx = ctx

    async def import_file(
        self, scope: Scope, path: Path, *, progress: Progress | None = None
    ) -> ImportReport:
        """Import every row of `path` or none of them (raising `ImportRejected`).

        `progress(done, total)` is called as the work goes on: each data row counts twice, once
        when it has been checked and once when it has been inserted, so `done == total` means
        every row is in and only the commit is left.
        """
        require(scope, Resource.POINT, Action.WRITE)
        name = path.name
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise ValidationFailed(f"cannot read {path}: {exc.strerror}", field="file") from exc
        digest = hashlib.sha256(data).hexdigest()
        try:
            sheet = await asyncio.to_thread(read_sheet, name, data)
        except SheetUnreadable as exc:
            raise ImportRejected(name, [RowProblem(name, exc.line, "file", str(exc))]) from exc
        report = progress or _ignore
        async with self._ctx.db.write() as session:
            accepted = await self._check(session, scope, name, sheet, report)
            org_path = _common_path(unit.path for _draft, unit in accepted)
            await self._insert(session, accepted, report)
            await record(
                self._ctx,
                session,
                scope,
                action="point.import",
                target=f"file:{name[:_NAME_MAX]}",
                org_path=org_path,
                detail={"count": len(accepted), "sha256": digest, "file": name},
            )
        await self._ctx.bus.publish(
            PointsImported(
                at=self._ctx.clock.now(),
                org_path=org_path,
                actor=scope.username,
                count=len(accepted),
            )
        )
        return ImportReport(count=len(accepted), file=name, sha256=digest)

    async def _check(
        self, session: AsyncSession, scope: Scope, name: str, sheet: Sheet, report: Progress
    ) -> list[tuple[PointDraft, OrgUnitRow]]:
        checker = RowChecker(name, sheet.header)
        if not checker.header_ok:
            raise ImportRejected(name, checker.problems, total=checker.problem_count)
        if not sheet.rows:
            problem = RowProblem(name, sheet.header.line, "file", "no data rows below the header")
            raise ImportRejected(name, [problem])
        units = await repo.units_by_centre(session, checker.distinct("org_unit", sheet.rows))
        checker.units = {code: unit for code, unit in units.items() if scope.covers_path(unit.path)}
        checker.taken_codes = await repo.point_codes(session, checker.distinct("code", sheet.rows))
        total = 2 * len(sheet.rows)
        accepted: list[tuple[PointDraft, OrgUnitRow]] = []
        for done, row in enumerate(sheet.rows, start=1):
            checked = checker.check(row)
            if checked is not None:
                accepted.append(checked)
            if done % _BATCH == 0:
                report(done, total)
                await asyncio.sleep(0)  # a long file must not starve the other tasks
        report(len(sheet.rows), total)
        if checker.problem_count:
            raise ImportRejected(name, checker.problems, total=checker.problem_count)
        return accepted

    async def _insert(
        self,
        session: AsyncSession,
        accepted: list[tuple[PointDraft, OrgUnitRow]],
        report: Progress,
    ) -> None:
        now = self._ctx.clock.now()
        values = [_row_values(draft, unit, now) for draft, unit in accepted]
        try:
            for start in range(0, len(values), _BATCH):
                await session.execute(insert(PointRow), values[start : start + _BATCH])
                report(len(values) + min(start + _BATCH, len(values)), 2 * len(values))
        except IntegrityError as exc:  # a concurrent writer took a code after we checked
            raise Conflict(
                "a point code in the file was taken while importing; nothing was imported"
            ) from exc


def _row_values(draft: PointDraft, unit: OrgUnitRow, now: object) -> dict[str, Any]:
    return {
        "org_unit_id": unit.id,
        "org_path": unit.path,
        "code": draft.code,
        "name": draft.name,
        "address": draft.address,
        "lat": draft.lat,
        "lon": draft.lon,
        "tags": [str(tag) for tag in draft.tags],
        "ownership": str(draft.ownership),
        "owner_name": draft.owner_name,
        "owner_kind": None if draft.owner_kind is None else str(draft.owner_kind),
        "public_signage": draft.public_signage,
        "created_at": now,
        "updated_at": now,
    }


def _common_path(paths: Iterable[str]) -> str:
    """The deepest org path every imported point lies under ("/1/4/" for "/1/4/9/", "/1/4/7/")."""
    common: list[str] | None = None
    for path in paths:
        segments = path.strip("/").split("/")
        if common is None:
            common = segments
        while common != segments[: len(common)]:
            common.pop()
    return "/" + "".join(f"{segment}/" for segment in common or [])


def _ignore(_done: int, _total: int) -> None:
    return None
