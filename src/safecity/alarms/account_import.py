"""Bulk import of alarm subscriber accounts from a .csv or .xlsx sheet.

All or nothing, like the point import: every row is checked first and any problem rejects the
whole file, listing every problem as `file:line: field: reason`. A good file goes in within one
transaction with one audit record (the file's name, row count and SHA-256); after the commit one
`AlarmAccountChanged` ("created") per account tells the receiver to refresh its keys.

Columns: account, name, org_unit (centre code), point_code, key_hex, key_text,
require_encryption, supervision_s, grace_s, zones ("1:Front door:door_contact;2:Hall PIR:pir"),
contacts ("Name:phone:role;...").
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from safecity.alarms.account_rows import AccountRow, AccountRowChecker
from safecity.alarms.accounts import new_account_row, zone_rows
from safecity.alarms.context import AlarmContext, record
from safecity.core.errors import Conflict, ValidationFailed
from safecity.core.events import AlarmAccountChanged
from safecity.core.policy import Action, Resource, require
from safecity.core.scope import Scope
from safecity.core.sheet import ImportRejected, RowProblem, Sheet, SheetUnreadable, read_sheet
from safecity.store.alarm_tables import AlarmAccountRow
from safecity.store.repositories import alarm_accounts as repo
from safecity.store.repositories import org as org_repo

__all__ = ["AccountImportReport", "AccountImporter", "ImportRejected", "RowProblem"]

_NAME_MAX: Final = 190  # audit targets are at most 200 characters


@dataclass(frozen=True, slots=True)
class AccountImportReport:
    count: int
    file: str
    sha256: str


class AccountImporter:
    def __init__(self, ctx: AlarmContext) -> None:
        self._ctx = ctx

    async def import_file(self, scope: Scope, path: Path) -> AccountImportReport:
        """Import every row of `path` or none of them (raising `ImportRejected`)."""
        require(scope, Resource.ALARM_ACCOUNT, Action.WRITE)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise ValidationFailed(f"cannot read {path}: {exc.strerror}", field="file") from exc
        return await self.import_bytes(scope, path.name, data)

    async def import_bytes(self, scope: Scope, name: str, data: bytes) -> AccountImportReport:
        """Import a sheet given as bytes; `name`'s suffix says .csv or .xlsx."""
        require(scope, Resource.ALARM_ACCOUNT, Action.WRITE)
        digest = hashlib.sha256(data).hexdigest()
        try:
            sheet = await asyncio.to_thread(read_sheet, name, data)
        except SheetUnreadable as exc:
            raise ImportRejected(name, [RowProblem(name, exc.line, "file", str(exc))]) from exc
        async with self._ctx.db.write() as session:
            accepted = await self._check(session, scope, name, sheet)
            org_path = _common_path(row.unit.path for row in accepted)
            created = await self._insert(session, accepted)
            await record(
                self._ctx,
                session,
                scope,
                action="alarm_account.import",
                target=f"file:{name[:_NAME_MAX]}",
                org_path=org_path,
                detail={"count": len(accepted), "sha256": digest, "file": name},
            )
        now = self._ctx.clock.now()
        for row in created:
            await self._ctx.bus.publish(
                AlarmAccountChanged(
                    at=now,
                    org_path=row.org_path,
                    actor=scope.username,
                    account_id=row.id,
                    account=row.account,
                    change="created",
                )
            )
        return AccountImportReport(count=len(accepted), file=name, sha256=digest)

    async def _check(
        self, session: AsyncSession, scope: Scope, name: str, sheet: Sheet
    ) -> list[AccountRow]:
        checker = AccountRowChecker(name, sheet.header)
        if not checker.header_ok:
            raise ImportRejected(name, checker.problems, total=checker.problem_count)
        if not sheet.rows:
            problem = RowProblem(name, sheet.header.line, "file", "no data rows below the header")
            raise ImportRejected(name, [problem])
        units = await org_repo.units_by_centre(session, checker.distinct("org_unit", sheet.rows))
        checker.units = {code: unit for code, unit in units.items() if scope.covers_path(unit.path)}
        points = await repo.points_by_code(session, checker.distinct("point_code", sheet.rows))
        checker.points = {
            code: point
            for code, point in points.items()
            if scope.sees_point(point.id, point.org_path)
        }
        checker.taken = await repo.taken_numbers(session, checker.distinct("account", sheet.rows))
        accepted = [checked for row in sheet.rows if (checked := checker.check(row)) is not None]
        if checker.problem_count:
            raise ImportRejected(name, checker.problems, total=checker.problem_count)
        return accepted

    async def _insert(
        self, session: AsyncSession, accepted: list[AccountRow]
    ) -> list[AlarmAccountRow]:
        now = self._ctx.clock.now()
        rows: list[AlarmAccountRow] = []
        for checked in accepted:
            key = checked.draft.key()
            sealed = None if key is None else self._ctx.sealer.seal(key[0])
            rows.append(new_account_row(checked.draft, checked.unit, sealed, now))
        try:
            session.add_all(rows)
            await session.flush()
            for row, checked in zip(rows, accepted, strict=True):
                session.add_all(zone_rows(row.id, checked.draft.zones))
            await session.flush()
            await repo.touch_accounts(session)
        except IntegrityError as exc:  # a concurrent writer took a number after we checked
            raise Conflict(
                "an account number in the file was taken while importing; nothing was imported"
            ) from exc
        return rows


def _common_path(paths: Iterable[str]) -> str:
    """The deepest org path every imported account lies under."""
    common: list[str] | None = None
    for path in paths:
        segments = path.strip("/").split("/")
        if common is None:
            common = segments
        while common != segments[: len(common)]:
            common.pop()
    return "/" + "".join(f"{segment}/" for segment in common or [])
