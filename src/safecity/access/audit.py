"""The audit trail: one record per change in the change's own transaction, a scoped listing,
records for features outside the registry (live view, playback, export), and a verification of
the whole hash chain that names the first bad record."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from safecity.access.context import AccessContext
from safecity.access.models import AuditRecord, VerifyReport
from safecity.core.paging import Page, PageRequest
from safecity.core.policy import Action, Resource, require
from safecity.core.scope import Scope
from safecity.store.repositories import audit
from safecity.store.tables import AuditRow


def record_view(row: AuditRow) -> AuditRecord:
    entry = audit.entry_of(row)
    return AuditRecord(
        seq=row.seq,
        at=entry.at,
        actor=row.actor,
        action=row.action,
        target=row.target,
        org_path=row.org_path,
        source=row.source,
        detail=entry.detail,
        hash=row.hash,
    )


async def record_change(
    ctx: AccessContext,
    session: AsyncSession,
    scope: Scope,
    *,
    action: str,
    target: str,
    org_path: str,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one audit record inside the caller's write transaction; returns its seq."""
    return await audit.append_by(
        session,
        scope,
        ctx.clock.now(),
        action=action,
        target=target,
        org_path=org_path,
        detail=detail,
    )


class AuditService:
    def __init__(self, ctx: AccessContext) -> None:
        self._ctx = ctx

    async def list(
        self,
        scope: Scope,
        page: PageRequest,
        *,
        actor: str | None = None,
        action: str | None = None,
    ) -> Page[AuditRecord]:
        """Records in the caller's subtree, newest first; `action` matches a prefix."""
        require(scope, Resource.AUDIT, Action.READ)
        async with self._ctx.db.session() as session:
            rows, total = await audit.page(
                session,
                org_path=scope.org_path,
                offset=page.offset,
                limit=page.limit,
                actor=actor,
                action=action,
            )
        return Page(
            items=[record_view(r) for r in rows], total=total, offset=page.offset, limit=page.limit
        )

    async def record(
        self,
        scope: Scope,
        action: str,
        target: str,
        org_path: str,
        detail: dict[str, Any] | None = None,
    ) -> int:
        """Record what a caller did outside a registry change (watched live video, played back,
        exported evidence); returns the record's seq. The caller has already checked the scope."""
        async with self._ctx.db.write() as session:
            return await record_change(
                self._ctx,
                session,
                scope,
                action=action,
                target=target,
                org_path=org_path,
                detail=detail,
            )

    async def verify(self) -> VerifyReport:
        """Walk the whole chain in seq order; report the first record that is missing, altered
        or out of place, then compare the end of the chain with the head row."""
        checked = 0
        prev_hash = audit.GENESIS_HASH
        async with self._ctx.db.session() as session:
            async for row in audit.iterate(session):
                problem = _record_problem(row, checked + 1, prev_hash)
                if problem is not None:
                    seq, text = problem
                    return VerifyReport(ok=False, checked=checked, first_bad_seq=seq, problem=text)
                prev_hash = row.hash
                checked += 1
            head_seq, head_hash = await audit.head(session)
        return _head_report(checked, prev_hash, head_seq, head_hash)


def _record_problem(row: AuditRow, expected_seq: int, prev_hash: str) -> tuple[int, str] | None:
    """What is wrong with the record found where `expected_seq` should be, if anything."""
    if row.seq != expected_seq:
        return expected_seq, f"record {expected_seq} missing (removed)"
    if row.prev_hash != prev_hash:
        return row.seq, (
            f"record {row.seq}: does not follow record {row.seq - 1} "
            "(moved, or a record before it was replaced)"
        )
    if audit.chain_hash(prev_hash, row.seq, audit.entry_of(row)) != row.hash:
        return row.seq, f"record {row.seq}: content does not match its hash (altered)"
    return None


def _head_report(checked: int, last_hash: str, head_seq: int, head_hash: str) -> VerifyReport:
    """Compare the end of a sound chain with the head row: a removed tail shows here."""
    if head_seq > checked:
        missing = checked + 1
        problem = (
            f"record {missing} missing (removed from the end): the chain head says "
            f"{head_seq} records, {checked} remain"
        )
        return VerifyReport(ok=False, checked=checked, first_bad_seq=missing, problem=problem)
    if head_seq < checked:
        extra = head_seq + 1
        problem = f"record {extra}: beyond the chain head at {head_seq} (added outside the trail)"
        return VerifyReport(ok=False, checked=head_seq, first_bad_seq=extra, problem=problem)
    if head_hash != last_hash:
        problem = f"record {checked}: does not match the chain head (replaced)"
        return VerifyReport(
            ok=False, checked=max(checked - 1, 0), first_bad_seq=max(checked, 1), problem=problem
        )
    return VerifyReport(ok=True, checked=checked)
