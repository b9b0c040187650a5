"""Retention: delete the oldest recordings by age, by disk quota (all cameras, and per group of
cameras) and when free disk runs low, never a segment that overlaps a live evidence lock.

Checked continuously: `run` sweeps every `interval_s`, and at once when `wake` is called (the
recording service calls it when a writer reports low free disk), so a full disk never stops
recording for long.

Order of deletion, for crash safety: **file first, then row**, both inside one write
transaction per batch. A crash after the unlink and before the commit leaves rows whose files are
gone; the next sweep picks the same rows (still the oldest), finds the files missing, which
counts as deleted, and removes the rows: the index heals itself. Row first would instead leave,
after a crash, files no row names, which no index-driven sweep ever finds again: disk leaks
silently until full. The cost of file-first is that a timeline may briefly list a segment whose
file is gone, which playback must answer as not found. Doing the select, unlinks and delete in
one write transaction also means that, on SQLite, a lock being added cannot slip in between
choosing a segment and deleting it (PostgreSQL leaves that window to the length of one batch).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Final

import structlog

from safecity.core.clock import Clock
from safecity.core.errors import StoreUnavailable
from safecity.media.segment_writer import disk_free
from safecity.store.media_tables import RecordingSegmentRow
from safecity.store.repositories import recordings as repo
from safecity.store.repositories.port import Transactions

_log = structlog.get_logger(__name__)

BATCH: Final = 200


@dataclass(frozen=True, slots=True)
class GroupQuota:
    name: str
    cameras: frozenset[int]
    quota_bytes: int


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    max_age: timedelta | None = None
    quota_bytes: int | None = None
    groups: tuple[GroupQuota, ...] = ()
    min_free_bytes: int = 0


@dataclass(frozen=True, slots=True)
class SweepResult:
    deleted: int = 0
    freed_bytes: int = 0
    failed: int = 0  # files that could not be removed (kept, with their rows)
    short_bytes: int = 0  # what a quota or free-space target still lacks: the rest is locked

    def __add__(self, other: SweepResult) -> SweepResult:
        return SweepResult(
            self.deleted + other.deleted,
            self.freed_bytes + other.freed_bytes,
            self.failed + other.failed,
            self.short_bytes + other.short_bytes,
        )


def remove_file(path: Path, root: Path) -> bool:
    """Unlink a segment file (already gone counts as removed) and prune emptied folders up to
    the root. False when the file is still there."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        return False
    parent = path.parent
    while parent != root and root in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent
    return True


class Retention:
    """Keeps the recordings inside their age and space limits."""

    def __init__(
        self,
        db: Transactions,
        root: Path,
        clock: Clock,
        policy: RetentionPolicy,
        *,
        free_bytes: Callable[[Path], int] = disk_free,
        remove: Callable[[Path, Path], bool] = remove_file,
        batch: int = BATCH,
    ) -> None:
        self.db = db
        self.root = root
        self.clock = clock
        self.policy = policy
        self._free_bytes = free_bytes
        self._remove = remove
        self._batch = batch
        self._wake = asyncio.Event()
        self._swept = asyncio.Condition()
        self._last = SweepResult()

    def wake(self) -> None:
        """Sweep now (from the event loop's thread)."""
        self._wake.set()

    async def run(self, interval_s: float) -> None:
        """Sweep every `interval_s` and whenever woken, until cancelled."""
        while True:
            self._wake.clear()
            try:
                result = await self.sweep()
            except StoreUnavailable as exc:
                _log.warning("retention.store_unavailable", error=str(exc))
                result = SweepResult()
            async with self._swept:
                self._last = result
                self._swept.notify_all()
            try:
                async with asyncio.timeout(interval_s):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def next_sweep(self) -> SweepResult:
        """Wait for the running loop to finish its next sweep; its result."""
        async with self._swept:
            await self._swept.wait()
            return self._last

    async def sweep(self) -> SweepResult:
        """One pass: age, then each group's quota, the global quota, then free disk."""
        policy = self.policy
        now = self.clock.now()
        result = SweepResult()
        if policy.max_age is not None:
            cutoff = now - policy.max_age
            result += await self._delete_oldest(None, None, ended_before=cutoff)
            async with self.db.write() as session:
                await repo.delete_gaps_before(session, cutoff)
        for group in policy.groups:
            async with self.db.session() as session:
                used = await repo.total_bytes(session, group.cameras)
            if used > group.quota_bytes:
                result += await self._delete_oldest(group.cameras, used - group.quota_bytes)
        if policy.quota_bytes is not None:
            async with self.db.session() as session:
                used = await repo.total_bytes(session)
            if used > policy.quota_bytes:
                result += await self._delete_oldest(None, used - policy.quota_bytes)
        if policy.min_free_bytes:
            free = await asyncio.to_thread(self._free_bytes, self.root)
            if free < policy.min_free_bytes:
                result += await self._delete_oldest(None, policy.min_free_bytes - free)
        if result.deleted or result.short_bytes:
            _log.info(
                "retention.swept",
                deleted=result.deleted,
                freed_bytes=result.freed_bytes,
                failed=result.failed,
                short_bytes=result.short_bytes,
            )
        return result

    async def _delete_oldest(
        self,
        cameras: Collection[int] | None,
        need: int | None,
        *,
        ended_before: datetime | None = None,
    ) -> SweepResult:
        """Delete unlocked segments oldest first until `need` bytes are freed (None: every
        candidate, i.e. all ended before `ended_before`)."""
        deleted = freed = failed = 0
        after: tuple[datetime, int] | None = None
        while need is None or freed < need:
            async with self.db.write() as session:
                rows = await repo.deletable_segments(
                    session,
                    now=self.clock.now(),
                    limit=self._batch,
                    cameras=cameras,
                    ended_before=ended_before,
                    after_id=after,
                )
                if not rows:
                    break
                remaining = None if need is None else need - freed
                chosen = _enough(rows, remaining)
                gone = await asyncio.to_thread(self._unlink_all, chosen)
                await repo.delete_segments(session, [row.id for row in gone])
            deleted += len(gone)
            freed += sum(row.bytes for row in gone)
            failed += len(chosen) - len(gone)
            after = (chosen[-1].ended_at, chosen[-1].id)
        short = 0 if need is None else max(0, need - freed)
        if short:
            _log.warning("retention.short", cameras=cameras, short_bytes=short)
        return SweepResult(deleted, freed, failed, short)

    def _unlink_all(self, rows: Sequence[RecordingSegmentRow]) -> list[RecordingSegmentRow]:
        gone: list[RecordingSegmentRow] = []
        for row in rows:
            relative = PurePosixPath(row.path)
            if relative.is_absolute() or ".." in relative.parts:
                _log.error("retention.bad_path", path=row.path, segment=row.id)
                continue
            if self._remove(self.root / relative, self.root):
                gone.append(row)
            else:
                _log.warning("retention.unlink_failed", path=row.path, segment=row.id)
        return gone


def _enough(rows: Sequence[RecordingSegmentRow], need: int | None) -> list[RecordingSegmentRow]:
    """The oldest rows whose bytes reach `need` (all of them for None)."""
    if need is None:
        return list(rows)
    chosen: list[RecordingSegmentRow] = []
    total = 0
    for row in rows:
        if total >= need:
            break
        chosen.append(row)
        total += row.bytes
    return chosen
