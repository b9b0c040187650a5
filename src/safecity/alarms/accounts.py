"""Alarm subscriber accounts: who may see and change them, and the receiver's key cache.

An account lies inside one org unit's subtree (`org_path`); callers see it only when that path is
inside their own subtree (partners never do), and anything else reads as not found. Keys are
sealed with the master key before they reach the store and never leave this service except
through `receiver_keys`, the DC-09 receiver's system-level read. Every change writes one audit
record in its transaction and publishes one `AlarmAccountChanged` after the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from safecity.alarms.account_models import (
    Account,
    AccountDraft,
    AccountPatch,
    ActionPlan,
    Contact,
    KeyNotation,
    Schedule,
    Zone,
    ZoneDraft,
)
from safecity.alarms.context import AlarmContext, record
from safecity.core.errors import Conflict, NotFound, ValidationFailed
from safecity.core.events import AlarmAccountChanged
from safecity.core.paging import Page, PageRequest
from safecity.core.policy import Action, Resource, require
from safecity.core.scope import Scope
from safecity.protocols.dc09 import AccountKey, AesKey
from safecity.store.alarm_tables import AlarmAccountRow, AlarmZoneRow
from safecity.store.repositories import alarm_accounts as repo
from safecity.store.repositories import org as org_repo
from safecity.store.tables import OrgUnitRow, PointRow

Change = Literal["created", "updated", "deleted"]
_SECRET_FIELDS = frozenset({"key_hex", "key_text"})
CAMERA_KIND = "camera"


def account_view(row: AlarmAccountRow, zones: Sequence[AlarmZoneRow]) -> Account:
    return Account(
        id=row.id,
        account=row.account,
        name=row.name,
        org_unit_id=row.org_unit_id,
        org_path=row.org_path,
        point_id=row.point_id,
        has_key=row.key_sealed is not None,
        key_notation=KeyNotation(row.key_notation) if row.key_notation else None,
        require_encryption=row.require_encryption,
        supervision_s=row.supervision_s,
        grace_s=row.grace_s,
        schedule=Schedule.model_validate(row.schedule) if row.schedule else None,
        contacts=[Contact.model_validate(contact) for contact in row.contacts],
        action_plans=ActionPlan.model_validate(row.action_plans or {}),
        zones=[zone_view(zone) for zone in zones],
        enabled=row.enabled,
        last_seen_at=None if row.last_seen_at is None else aware(row.last_seen_at),
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


def aware(at: datetime) -> datetime:
    """A stored instant as UTC-aware (SQLite gives timestamps back without their zone)."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def zone_view(row: AlarmZoneRow) -> Zone:
    return Zone.model_validate(
        {
            "id": row.id,
            "number": row.number,
            "name": row.name,
            "detector": row.detector,
            "camera_ids": list(row.camera_ids),
        }
    )


def audit_detail(fields: dict[str, Any]) -> dict[str, Any]:
    """What an audit record shows of a draft or patch: keys masked."""
    return {
        key: ("***" if key in _SECRET_FIELDS and value is not None else value)
        for key, value in fields.items()
    }


def sorted_contacts(contacts: Sequence[Contact]) -> list[dict[str, Any]]:
    ordered = sorted(contacts, key=lambda contact: contact.order)
    return [contact.model_dump(mode="json") for contact in ordered]


async def covered_unit(session: AsyncSession, scope: Scope, unit_id: int) -> OrgUnitRow:
    """The org unit, if inside the caller's subtree."""
    unit = await org_repo.unit(session, unit_id)
    if unit is None or not scope.covers_path(unit.path):
        raise NotFound(f"org unit {unit_id} not found")
    return unit


async def point_under(
    session: AsyncSession, scope: Scope, point_id: int, unit: OrgUnitRow
) -> PointRow:
    """The point, if the caller sees it and it lies inside the account unit's subtree."""
    point = await org_repo.point(session, point_id)
    if point is None or not scope.sees_point(point.id, point.org_path):
        raise NotFound(f"point {point_id} not found")
    if not point.org_path.startswith(unit.path):
        raise ValidationFailed(
            f"point {point_id} is not inside org unit {unit.id}", field="point_id"
        )
    return point


async def check_cameras(session: AsyncSession, scope: Scope, zones: Sequence[ZoneDraft]) -> None:
    """Every camera a zone names is a camera at a point the caller sees."""
    for zone in zones:
        for camera_id in zone.camera_ids:
            device = await org_repo.device(session, camera_id)
            if (
                device is None
                or device.kind != CAMERA_KIND
                or not scope.sees_point(device.point_id, device.org_path)
            ):
                raise ValidationFailed(
                    f"zone {zone.number}: device {camera_id} is not a camera you can see",
                    field="zones",
                )


def zone_rows(account_id: int, zones: Sequence[ZoneDraft]) -> list[AlarmZoneRow]:
    return [
        AlarmZoneRow(
            account_id=account_id,
            number=zone.number,
            name=zone.name,
            detector=str(zone.detector),
            camera_ids=list(zone.camera_ids),
        )
        for zone in sorted(zones, key=lambda zone: zone.number)
    ]


def new_account_row(
    draft: AccountDraft, unit: OrgUnitRow, sealed: bytes | None, now: datetime
) -> AlarmAccountRow:
    key = draft.key()
    return AlarmAccountRow(
        account=draft.account,
        name=draft.name,
        org_unit_id=unit.id,
        org_path=unit.path,
        point_id=draft.point_id,
        key_sealed=sealed,
        key_notation=None if key is None else str(key[1]),
        require_encryption=draft.require_encryption,
        supervision_s=draft.supervision_s,
        grace_s=draft.grace_s,
        schedule={} if draft.schedule is None else draft.schedule.model_dump(mode="json"),
        contacts=sorted_contacts(draft.contacts),
        action_plans=draft.action_plans.model_dump(mode="json"),
        enabled=draft.enabled,
        created_at=now,
        updated_at=now,
    )


def receiver_key(notation: str | None, key: str | None, require_encryption: bool) -> AccountKey:
    """The codec's view of an account's key (None when it has none)."""
    if key is None:
        return AccountKey(None, require_encryption=require_encryption)
    aes = AesKey.from_hex(key) if notation == KeyNotation.HEX else AesKey.from_text(key)
    return AccountKey(aes, require_encryption=require_encryption)


class AccountService:
    def __init__(self, ctx: AlarmContext) -> None:
        self._ctx = ctx

    async def _covered(
        self, session: AsyncSession, scope: Scope, account_id: int
    ) -> AlarmAccountRow:
        row = await repo.account(session, account_id)
        if row is None or not scope.covers_path(row.org_path):
            raise NotFound(f"alarm account {account_id} not found")
        return row

    async def _view(self, session: AsyncSession, row: AlarmAccountRow) -> Account:
        zones = await repo.zones_of(session, [row.id])
        return account_view(row, zones[row.id])

    async def get(self, scope: Scope, account_id: int) -> Account:
        require(scope, Resource.ALARM_ACCOUNT, Action.READ)
        async with self._ctx.db.session() as session:
            return await self._view(session, await self._covered(session, scope, account_id))

    async def list(
        self,
        scope: Scope,
        page: PageRequest,
        *,
        org_unit_id: int | None = None,
        point_id: int | None = None,
        text: str | None = None,
    ) -> Page[Account]:
        """The caller's accounts, by id; `org_unit_id` keeps that unit's subtree only."""
        require(scope, Resource.ALARM_ACCOUNT, Action.READ)
        async with self._ctx.db.session() as session:
            path = scope.org_path
            if org_unit_id is not None:
                path = (await covered_unit(session, scope, org_unit_id)).path
            rows, total = await repo.accounts(
                session,
                path=path,
                offset=page.offset,
                limit=page.limit,
                point_id=point_id,
                text=text,
            )
            zones = await repo.zones_of(session, [row.id for row in rows])
        return Page(
            items=[account_view(row, zones[row.id]) for row in rows],
            total=total,
            offset=page.offset,
            limit=page.limit,
        )

    async def create(self, scope: Scope, draft: AccountDraft) -> Account:
        require(scope, Resource.ALARM_ACCOUNT, Action.WRITE)
        async with self._ctx.db.write() as session:
            unit = await covered_unit(session, scope, draft.org_unit_id)
            if draft.point_id is not None:
                await point_under(session, scope, draft.point_id, unit)
            await check_cameras(session, scope, draft.zones)
            if await repo.account_by_number(session, draft.account) is not None:
                raise Conflict(f"alarm account {draft.account} already exists")
            row = new_account_row(draft, unit, self._seal(draft.key()), self._ctx.clock.now())
            session.add(row)
            await session.flush()
            zones = zone_rows(row.id, draft.zones)
            session.add_all(zones)
            await session.flush()
            await repo.touch_accounts(session)
            await record(
                self._ctx,
                session,
                scope,
                action="alarm_account.create",
                target=f"alarm_account:{row.id}",
                org_path=row.org_path,
                detail=audit_detail(draft.model_dump(mode="json", exclude={"zones"}))
                | {"zones": len(draft.zones)},
            )
            view = account_view(row, zones)
        await self._publish(row, scope, "created")
        return view

    async def update(self, scope: Scope, account_id: int, patch: AccountPatch) -> Account:
        require(scope, Resource.ALARM_ACCOUNT, Action.WRITE)
        changes = patch.model_dump(mode="json", exclude_unset=True, exclude_none=True)
        async with self._ctx.db.write() as session:
            row = await self._covered(session, scope, account_id)
            unit = await covered_unit(session, scope, patch.org_unit_id or row.org_unit_id)
            row.org_unit_id, row.org_path = unit.id, unit.path
            if patch.clear_point:
                row.point_id = None
            if patch.point_id is not None:
                row.point_id = patch.point_id
            if row.point_id is not None and (
                patch.point_id is not None or patch.org_unit_id is not None
            ):
                await point_under(session, scope, row.point_id, unit)
            self._apply(row, patch)
            if row.require_encryption and row.key_sealed is None:
                raise ValidationFailed(
                    "require_encryption needs key_hex or key_text", field="require_encryption"
                )
            row.updated_at = self._ctx.clock.now()
            await repo.touch_accounts(session)
            await record(
                self._ctx,
                session,
                scope,
                action="alarm_account.update",
                target=f"alarm_account:{row.id}",
                org_path=row.org_path,
                detail=audit_detail(changes),
            )
            view = await self._view(session, row)
        await self._publish(row, scope, "updated")
        return view

    def _apply(self, row: AlarmAccountRow, patch: AccountPatch) -> None:
        key = patch.key()
        if patch.clear_key:
            row.key_sealed, row.key_notation = None, None
        elif key is not None:
            row.key_sealed, row.key_notation = self._seal(key), str(key[1])
        if patch.clear_supervision:
            row.supervision_s = None
        elif patch.supervision_s is not None:
            row.supervision_s = patch.supervision_s
        if patch.clear_schedule:
            row.schedule = {}
        elif patch.schedule is not None:
            row.schedule = patch.schedule.model_dump(mode="json")
        if patch.contacts is not None:
            row.contacts = sorted_contacts(patch.contacts)
        if patch.action_plans is not None:
            row.action_plans = patch.action_plans.model_dump(mode="json")
        for field in ("name", "require_encryption", "grace_s", "enabled"):
            value = getattr(patch, field)
            if value is not None:
                setattr(row, field, value)

    async def set_zones(self, scope: Scope, account_id: int, zones: Sequence[ZoneDraft]) -> Account:
        """Replace the account's zones with `zones` (numbers unique)."""
        require(scope, Resource.ALARM_ACCOUNT, Action.WRITE)
        numbers = [zone.number for zone in zones]
        if len(set(numbers)) != len(numbers):
            raise ValidationFailed("a zone number is listed twice", field="zones")
        async with self._ctx.db.write() as session:
            row = await self._covered(session, scope, account_id)
            await check_cameras(session, scope, zones)
            await repo.delete_zones(session, row.id)
            await session.flush()
            fresh = zone_rows(row.id, zones)
            session.add_all(fresh)
            row.updated_at = self._ctx.clock.now()
            await repo.touch_accounts(session)
            await session.flush()
            await record(
                self._ctx,
                session,
                scope,
                action="alarm_account.zones",
                target=f"alarm_account:{row.id}",
                org_path=row.org_path,
                detail={"zones": [zone.model_dump(mode="json") for zone in zones]},
            )
            view = account_view(row, fresh)
        await self._publish(row, scope, "updated")
        return view

    async def delete(self, scope: Scope, account_id: int) -> None:
        """Delete an account and its zones; refused while alarms refer to it."""
        require(scope, Resource.ALARM_ACCOUNT, Action.WRITE)
        async with self._ctx.db.write() as session:
            row = await self._covered(session, scope, account_id)
            if await repo.has_alarms(session, row.id):
                raise Conflict(
                    f"alarm account {row.account} has alarms on record; disable it instead"
                )
            await repo.delete_account(session, row.id)
            await repo.touch_accounts(session)
            await record(
                self._ctx,
                session,
                scope,
                action="alarm_account.delete",
                target=f"alarm_account:{row.id}",
                org_path=row.org_path,
                detail={"account": row.account, "name": row.name},
            )
        await self._publish(row, scope, "deleted")

    async def receiver_keys(self) -> dict[str, AccountKey]:
        """Every enabled account's key, unsealed, by account number: the DC-09 receiver's cache.

        A system read with no caller scope; never expose the result through the API.
        """
        async with self._ctx.db.session() as session:
            rows = await repo.enabled_accounts(session)
        return {
            row.account: receiver_key(
                row.key_notation,
                None if row.key_sealed is None else self._ctx.sealer.open(row.key_sealed),
                row.require_encryption,
            )
            for row in rows
        }

    def _seal(self, key: tuple[str, KeyNotation] | None) -> bytes | None:
        return None if key is None else self._ctx.sealer.seal(key[0])

    async def _publish(self, row: AlarmAccountRow, scope: Scope, change: Change) -> None:
        await self._ctx.bus.publish(
            AlarmAccountChanged(
                at=self._ctx.clock.now(),
                org_path=row.org_path,
                actor=scope.username,
                account_id=row.id,
                account=row.account,
                change=change,
            )
        )
