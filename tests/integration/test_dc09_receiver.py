"""The DC-09 receiver end to end in one process: real sockets, the real SQLite inbox, simulated
panels. ACK only after the row is committed; retransmissions stored once; DUH for unknown
accounts; NAK for stale encrypted messages; nothing at all when the store cannot commit."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from safecity.adapters.dc09 import Dc09Server
from safecity.alarms.account_models import AccountDraft
from safecity.app import Platform, open_platform
from safecity.core.paging import PageRequest
from safecity.demo.seed import SEED_SCOPE, seed_demo_accounts, seed_demo_city
from safecity.protocols.dc09 import AesKey, Dc09Message, Dc09Panel, Token, format_contact_id
from safecity.settings import load_settings
from safecity.sim.panels import PanelSpec, SimConfig, demo_panels, run_panels
from safecity.store.alarm_tables import AlarmRow, AlarmSignalRow
from safecity.store.repositories.spool import spool_path
from safecity.store.secretbox import SecretBox

pytestmark = pytest.mark.slow


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    settings = load_settings(
        None,
        store={"url": f"sqlite:///{tmp_path / 'arc.db'}"},
        receiver={"host": "127.0.0.1", "tcp_port": 0, "udp_port": 0, "own_process": False},
        security={"master_key": SecretBox.new_key()},
        log={"level": "error"},
    )
    async with open_platform(settings) as platform:
        await seed_demo_city(platform.services)
        jobs = [asyncio.ensure_future(job()) for job in platform.background_jobs().values()]
        try:
            assert platform.receiver is not None
            await asyncio.wait_for(platform.receiver.listening.wait(), 10)
            yield platform
        finally:
            for job in jobs:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)


def _receiver(platform: Platform) -> Dc09Server:
    assert isinstance(platform.receiver, Dc09Server)  # in-process: own_process is off here
    return platform.receiver


def _ports(platform: Platform) -> tuple[int, int]:
    tcp, udp = _receiver(platform).tcp_address, _receiver(platform).udp_address
    assert tcp is not None
    assert udp is not None
    return tcp[1], udp[1]


async def _signals(platform: Platform) -> list[AlarmSignalRow]:
    """What reached `alarm_signals`: ACKed messages are in the spool first, then the processor
    copies them (here at once rather than at its next wake-up)."""
    await platform.alarm_processor.process_pending()
    async with platform.db.session() as session:
        return list((await session.scalars(select(AlarmSignalRow))).all())


async def _exchange(port: int, frame: bytes, *, reads: int = 1) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(frame)
        await writer.drain()
        return await asyncio.wait_for(reader.read(4096), 5) if reads else b""
    finally:
        writer.close()


async def _seed(platform: Platform, count: int) -> list[tuple[str, str | None]]:
    """Demo accounts, once the receiver's cache (reloaded on the bus event) knows them all."""
    accounts = await seed_demo_accounts(platform.services, count=count)
    await _known(platform, accounts[-1][0])
    return accounts


async def _known(platform: Platform, account: str) -> None:
    for _ in range(100):
        if _receiver(platform).accounts(account) is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the receiver never learnt account {account}")


def _panel(account: str, key: AesKey | None = None) -> Dc09Panel:
    return Dc09Panel(account, key=key, rng=random.Random(7))


def _burglary(panel: Dc09Panel, sequence: int, at: datetime) -> bytes:
    message = Dc09Message(
        token=Token.ADM_CID,
        sequence=sequence,
        account=panel.account,
        data=format_contact_id(1, "130", 1, 3),
        timestamp=at,
        encrypted=panel.key is not None,
    )
    return message.encode(panel.key, panel.rng)


async def test_panels_over_tcp_and_udp_are_stored_once_and_become_alarms(
    platform: Platform,
) -> None:
    accounts = await _seed(platform, 8)
    panels = demo_panels(
        [(n, AesKey.from_hex(k) if k else None) for n, k in accounts], udp_share=0.25
    )
    tcp, udp = _ports(platform)

    report = await run_panels(
        SimConfig(
            host="127.0.0.1",
            port=tcp,
            udp_port=udp,
            rate=200,
            messages=160,
            ack_timeout_s=5,
            include_polls=False,
        ),
        panels,
    )

    assert report.acknowledged == 160
    assert report.unacknowledged == report.refused == 0
    stored = {
        (s.account, s.sequence, s.sent_at.replace(tzinfo=UTC) if s.sent_at else None, s.data)
        for s in await _signals(platform)
    }
    assert {(a, q, t, d) for a, q, t, d in report.acked} <= stored
    assert len(await _signals(platform)) == 160
    assert {s.transport for s in await _signals(platform)} == {"tcp", "udp"}
    await platform.alarm_processor.process_pending()
    async with platform.db.session() as session:
        alarms = await session.scalar(select(func.count()).select_from(AlarmRow))
    assert alarms is not None
    assert alarms > 0


async def test_a_retransmission_is_acked_again_and_stored_once(platform: Platform) -> None:
    ((account, key_hex),) = await _seed(platform, 1)
    panel = _panel(account, AesKey.from_hex(key_hex) if key_hex else None)
    frame = _burglary(panel, 42, datetime.now(UTC))
    tcp, _ = _ports(platform)

    first = await _exchange(tcp, frame)
    second = await _exchange(tcp, frame)

    assert b'ACK"0042' in first
    assert b'ACK"0042' in second
    assert len(await _signals(platform)) == 1
    await platform.alarm_processor.process_pending()
    async with platform.db.session() as session:
        alarms = (await session.scalars(select(AlarmRow))).all()
    assert [(a.account, a.code, a.zone) for a in alarms] == [(account, "130", 3)]


async def test_an_unknown_account_gets_duh_and_nothing_is_stored(platform: Platform) -> None:
    frame = _burglary(_panel("BEEF99"), 7, datetime.now(UTC))
    tcp, _ = _ports(platform)

    reply = await _exchange(tcp, frame)

    assert b'"DUH"' in reply
    assert await _signals(platform) == []
    assert _receiver(platform).stats.rejected["unknown_account"] == 1


async def test_a_stale_encrypted_message_gets_nak_with_our_time(platform: Platform) -> None:
    ((account, key_hex),) = await _seed(platform, 1)
    assert key_hex is not None
    panel = _panel(account, AesKey.from_hex(key_hex))
    frame = _burglary(panel, 9, datetime.now(UTC) - timedelta(minutes=5))
    tcp, _ = _ports(platform)

    reply = await _exchange(tcp, frame)

    assert b'"NAK"0000' in reply
    assert f"_{datetime.now(UTC):%H}".encode() in reply
    assert await _signals(platform) == []


async def test_a_garbled_frame_gets_no_reply(platform: Platform) -> None:
    ((account, _),) = await _seed(platform, 1)
    frame = bytearray(_burglary(_panel(account), 3, datetime.now(UTC)))
    frame[10] ^= 0x01  # breaks the CRC
    tcp, _ = _ports(platform)

    reader, writer = await asyncio.open_connection("127.0.0.1", tcp)
    writer.write(bytes(frame))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(4096), 0.5)
    writer.close()
    assert await _signals(platform) == []
    assert _receiver(platform).stats.rejected["bad_crc"] == 1


async def test_nothing_is_sent_while_the_store_cannot_commit(platform: Platform) -> None:
    ((account, _),) = await _seed(platform, 1)
    frame = _burglary(_panel(account), 5, datetime.now(UTC))
    tcp, _ = _ports(platform)
    assert platform.db.sqlite_path is not None
    spool = sqlite3.connect(spool_path(platform.db.sqlite_path), isolation_level=None)
    spool.execute("ALTER TABLE inbox RENAME TO inbox_away")  # the inbox is gone: commits fail

    reader, writer = await asyncio.open_connection("127.0.0.1", tcp)
    writer.write(frame)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(4096), 1.0)
    writer.close()
    assert _receiver(platform).stats.unstored == 1

    spool.execute("ALTER TABLE inbox_away RENAME TO inbox")  # back: the panel's retry is ACKed
    spool.close()
    assert b'ACK"0005' in await _exchange(tcp, frame)
    assert len(await _signals(platform)) == 1


async def test_a_new_account_is_accepted_without_a_restart(platform: Platform) -> None:
    points = (await platform.services.points.list(SEED_SCOPE, PageRequest(limit=1))).items
    tcp, _ = _ports(platform)
    frame = _burglary(_panel("C0FFEE"), 1, datetime.now(UTC))
    assert b'"DUH"' in await _exchange(tcp, frame)

    await platform.services.alarm_accounts.create(
        SEED_SCOPE,
        AccountDraft.model_validate(
            {
                "account": "C0FFEE",
                "name": "kiosk",
                "org_unit_id": points[0].org_unit_id,
                "point_id": points[0].id,
            }
        ),
    )
    await _known(platform, "C0FFEE")  # the cache reloads on the bus event

    assert b'ACK"0001' in await _exchange(tcp, frame)


async def test_udp_panels_get_their_ack_as_a_datagram(platform: Platform) -> None:
    accounts = await _seed(platform, 2)
    _, udp = _ports(platform)
    panels = [PanelSpec(n, AesKey.from_hex(k) if k else None, "udp") for n, k in accounts]

    report = await run_panels(
        SimConfig(host="127.0.0.1", port=udp, rate=50, messages=20, ack_timeout_s=5), panels
    )

    assert report.acknowledged == 20
    assert len(await _signals(platform)) == 20
