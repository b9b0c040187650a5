"""The audit chain's storage: append under the head lock, read in order.

Each record's hash is SHA-256 over the previous record's hash and the record's canonical JSON
(sorted keys, UTC ISO timestamps). The head row holds the last sequence and hash, so a removed
tail is as visible as a removed middle.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from safecity.core.scope import Scope
from safecity.store.tables import AuditHeadRow, AuditRow

GENESIS_HASH: Final = "0" * 64
_HEAD_ID: Final = 1


@dataclass(frozen=True, slots=True)
class AuditEntry:
    actor: str
    action: str  # dotted verb: "user.signin", "point.update", "video.live", "video.export"
    target: str  # "point:12", "user:alice"
    org_path: str
    at: datetime
    source: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def canonical(seq: int, entry: AuditEntry) -> bytes:
    body = {
        "seq": seq,
        "at": entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "org_path": entry.org_path,
        "source": entry.source,
        "detail": entry.detail,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def chain_hash(prev_hash: str, seq: int, entry: AuditEntry) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(seq, entry)).hexdigest()


def entry_of(row: AuditRow) -> AuditEntry:
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    return AuditEntry(
        actor=row.actor,
        action=row.action,
        target=row.target,
        org_path=row.org_path,
        at=at,
        source=row.source,
        detail=dict(row.detail),
    )


async def append(session: AsyncSession, entry: AuditEntry) -> int:
    """Append one record inside the caller's transaction; returns its sequence number."""
    head = await session.scalar(
        select(AuditHeadRow).where(AuditHeadRow.id == _HEAD_ID).with_for_update()
    )
    if head is None:
        head = AuditHeadRow(id=_HEAD_ID, seq=0, hash=GENESIS_HASH)
        session.add(head)
    seq = head.seq + 1
    digest = chain_hash(head.hash, seq, entry)
    session.add(
        AuditRow(
            seq=seq,
            at=entry.at,
            actor=entry.actor,
            org_path=entry.org_path,
            action=entry.action,
            target=entry.target,
            source=entry.source,
            detail=entry.detail,
            prev_hash=head.hash,
            hash=digest,
        )
    )
    head.seq, head.hash = seq, digest
    await session.flush()
    return seq


async def append_by(
    session: AsyncSession,
    scope: Scope,
    at: datetime,
    *,
    action: str,
    target: str,
    org_path: str,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append a record of what `scope`'s caller did, inside the caller's transaction."""
    entry = AuditEntry(
        actor=scope.username,
        action=action,
        target=target,
        org_path=org_path,
        at=at,
        source=scope.source,
        detail=detail or {},
    )
    return await append(session, entry)


async def head(session: AsyncSession) -> tuple[int, str]:
    row = await session.get(AuditHeadRow, _HEAD_ID)
    return (0, GENESIS_HASH) if row is None else (row.seq, row.hash)


async def iterate(session: AsyncSession, *, batch: int = 2000) -> AsyncIterator[AuditRow]:
    """Every record in sequence order, in batches (the chain can be millions long)."""
    last = 0
    while True:
        rows = (
            await session.scalars(
                select(AuditRow).where(AuditRow.seq > last).order_by(AuditRow.seq).limit(batch)
            )
        ).all()
        if not rows:
            return
        for row in rows:
            yield row
        last = rows[-1].seq


async def page(
    session: AsyncSession,
    *,
    org_path: str,
    offset: int,
    limit: int,
    actor: str | None = None,
    action: str | None = None,
) -> tuple[list[AuditRow], int]:
    where = [AuditRow.org_path.startswith(org_path, autoescape=True)]
    if actor:
        where.append(AuditRow.actor == actor)
    if action:
        where.append(AuditRow.action.startswith(action, autoescape=True))
    total = await session.scalar(select(func.count()).select_from(AuditRow).where(*where))
    rows = await session.scalars(
        select(AuditRow).where(*where).order_by(AuditRow.seq.desc()).offset(offset).limit(limit)
    )
    return list(rows.all()), int(total or 0)
