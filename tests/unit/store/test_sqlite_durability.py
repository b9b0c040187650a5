"""The embedded store's settings that the no-loss promise rests on."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from safecity.store.db import Database


async def test_sqlite_commits_reach_the_disk_before_they_return(tmp_path: Path) -> None:
    async with Database(f"sqlite:///{tmp_path / 'store.db'}") as db, db.session() as session:
        journal = (await session.execute(text("PRAGMA journal_mode"))).scalar_one()
        synchronous = (await session.execute(text("PRAGMA synchronous"))).scalar_one()
    assert (journal, synchronous) == ("wal", 2)  # 2 is FULL: fsync on every commit
