"""The audit trail: scoped listing, records for features outside the registry (views, exports),
and verification of the whole hash chain."""

from __future__ import annotations

from typing import Any

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
        *,
        action: str,
        target: str,
        org_path: str,
        detail: dict[str, Any] | None = None,
    ) -> int:
        entry = audit.AuditEntry(
            actor=scope.username,
            action=action,
            target=target,
            org_path=org_path,
            at=self._ctx.clock.now(),
            source=scope.source,
            detail=detail or {},
        )
        async with self._ctx.db.write() as session:
            return await audit.append(session, entry)

    async def verify(self) -> VerifyReport:
        """Walk the chain in order; report the first record that is missing, altered or moved."""
        checked = 0
        expected_seq = 1
        prev_hash = audit.GENESIS_HASH
        async with self._ctx.db.session() as session:
            async for row in audit.iterate(session):
                if row.seq != expected_seq:
                    return _bad(checked, expected_seq, f"record {expected_seq} missing (removed)")
                if row.prev_hash != prev_hash:
                    return _bad(
                        checked,
                        row.seq,
                        f"record {row.seq}: does not follow record {row.seq - 1} (reordered"
                        " or its predecessor was replaced)",
                    )
                if audit.chain_hash(prev_hash, row.seq, audit.entry_of(row)) != row.hash:
                    return _bad(
                        checked,
                        row.seq,
                        f"record {row.seq}: content does not match its hash (altered)",
                    )
                prev_hash = row.hash
                expected_seq += 1
                checked += 1
            head_seq, head_hash = await audit.head(session)
        if head_seq != checked or head_hash != prev_hash:
            missing = checked + 1
            return _bad(
                checked,
                missing,
                f"record {missing} missing: the chain head says "
                f"{head_seq} records but {checked} remain (removed from the end)",
            )
        return VerifyReport(ok=True, checked=checked)


def _bad(checked: int, seq: int, problem: str) -> VerifyReport:
    return VerifyReport(ok=False, checked=checked, first_bad_seq=seq, problem=problem)
