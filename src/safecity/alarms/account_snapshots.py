"""What the alarm processor needs of each account and zone, kept between its batches.

The processor used to load every account of a batch (and their zones) as ORM rows in every
batch: a quarter of its time went into building those objects and decoding their JSON columns
again, for rows that change a few times a year. Here they are read once as plain frozen
snapshots (only the columns processing uses) and kept until the accounts' version moves: every
writer of accounts or zones (`AccountService`, the CSV import) bumps
`platform_settings["alarms.accounts_version"]` in its transaction, and each batch reads that one
row, together with the table's row count and latest `updated_at` (so a writer that forgot to
bump is still seen when it adds, deletes or stamps a row). An account number not in the store
is not remembered (the receiver refuses unknown accounts, so they are rare in the inbox, and a
row added behind our back is found at once).

`last_seen_at` is not part of a snapshot: the processor writes it (see `seen_updates`), nothing
else does, and supervision reads it from the store.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol, cast

from sqlalchemy import Table, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from safecity.store.alarm_tables import AlarmAccountRow, AlarmZoneRow
from safecity.store.repositories.alarm_accounts import VERSION_KEY
from safecity.store.tables import SettingRow

CHUNK: Final = 500


class AccountFacts(Protocol):
    """What an alarm needs of its account: an `AlarmAccountRow` or an `AccountSnapshot`."""

    @property
    def id(self) -> int: ...
    @property
    def account(self) -> str: ...
    @property
    def org_unit_id(self) -> int: ...
    @property
    def org_path(self) -> str: ...
    @property
    def point_id(self) -> int | None: ...
    @property
    def schedule(self) -> dict[str, Any]: ...


class ZoneFacts(Protocol):
    """What an alarm needs of its zone: an `AlarmZoneRow` or a `ZoneSnapshot`."""

    @property
    def name(self) -> str: ...
    @property
    def detector(self) -> str: ...
    @property
    def camera_ids(self) -> Sequence[int]: ...


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    id: int
    account: str
    enabled: bool
    org_unit_id: int
    org_path: str
    point_id: int | None
    schedule: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ZoneSnapshot:
    account_id: int
    number: int
    name: str
    detector: str
    camera_ids: tuple[int, ...]


_ACCOUNT_COLUMNS: Final = (
    AlarmAccountRow.id,
    AlarmAccountRow.account,
    AlarmAccountRow.enabled,
    AlarmAccountRow.org_unit_id,
    AlarmAccountRow.org_path,
    AlarmAccountRow.point_id,
    AlarmAccountRow.schedule,
)
_ZONE_COLUMNS: Final = (
    AlarmZoneRow.account_id,
    AlarmZoneRow.number,
    AlarmZoneRow.name,
    AlarmZoneRow.detector,
    AlarmZoneRow.camera_ids,
)


class AccountSnapshots:
    """Accounts by number and zones by (account id, zone number), valid for one version."""

    def __init__(self) -> None:
        self._version: tuple[object, ...] | None = None
        self._accounts: dict[str, AccountSnapshot] = {}
        self.zones: dict[tuple[int, int], ZoneSnapshot] = {}

    async def accounts(
        self, session: AsyncSession, numbers: Collection[str]
    ) -> dict[str, AccountSnapshot]:
        """The accounts with these numbers that exist (their zones are in `zones` after)."""
        version = await _version(session)
        if version != self._version:
            self._version = version
            self._accounts.clear()
            self.zones.clear()
        missing = sorted(number for number in numbers if number not in self._accounts)
        for start in range(0, len(missing), CHUNK):
            await self._load(session, missing[start : start + CHUNK])
        return {n: found for n in numbers if (found := self._accounts.get(n)) is not None}

    async def _load(self, session: AsyncSession, numbers: list[str]) -> None:
        query = select(*_ACCOUNT_COLUMNS).where(AlarmAccountRow.account.in_(numbers))
        loaded = [AccountSnapshot(*row) for row in await session.execute(query)]
        if not loaded:
            return
        zones = select(*_ZONE_COLUMNS).where(
            AlarmZoneRow.account_id.in_([account.id for account in loaded])
        )
        for account_id, number, name, detector, cameras in await session.execute(zones):
            self.zones[(account_id, number)] = ZoneSnapshot(
                account_id, number, name, detector, tuple(cameras or ())
            )
        self._accounts.update((account.account, account) for account in loaded)


async def _version(session: AsyncSession) -> tuple[object, ...]:
    """(the writers' version, the row count, the latest `updated_at`) in one query."""
    bumped = select(SettingRow.value).where(SettingRow.key == VERSION_KEY).scalar_subquery()
    query = select(bumped, func.count(), func.max(AlarmAccountRow.updated_at))
    return tuple((await session.execute(query.select_from(AlarmAccountRow))).one())


async def record_seen(session: AsyncSession, seen: dict[int, datetime]) -> None:
    """Move each account's `last_seen_at` forward to its time in `seen` (never back), in one
    `executemany`."""
    if not seen:
        return
    table = cast(Table, AlarmAccountRow.__table__)  # Core: an executemany, no ORM bulk rules
    column = table.c.last_seen_at
    statement = (
        update(table)
        .where(
            and_(
                table.c.id == bindparam("account_id"),
                or_(column.is_(None), column < bindparam("seen")),
            )
        )
        .values(last_seen_at=bindparam("seen"))
    )
    await session.execute(
        statement, [{"account_id": key, "seen": at} for key, at in sorted(seen.items())]
    )
