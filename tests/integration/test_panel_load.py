"""The lean load generator against our real DC-09 server (with an in-memory sink): every frame it
sends is a valid message, it counts ACKs, refusals and silence, and keeps an offered rate."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest

from safecity.adapters.dc09 import Dc09Server, ListenOptions
from safecity.core.clock import SystemClock
from safecity.core.errors import StoreUnavailable
from safecity.protocols.dc09 import AccountKey, AesKey, Dc09Message, Dc09Receiver
from safecity.sim.panel_load import LoadPlan, build_frames, run_load
from safecity.sim.panels import PanelSpec, numbered_accounts

KEY = AesKey.from_text("BenchK3yAES128!!")


class _Sink:
    """Stores in a list; answers at once, or never when `silent`."""

    def __init__(self) -> None:
        self.messages: list[Dc09Message] = []
        self.silent = False

    def submit(
        self,
        message: Dc09Message,
        *,
        received_at: datetime,
        transport: str,
        peer: str,
        done: Callable[[StoreUnavailable | None], None],
    ) -> None:
        self.messages.append(message)
        if not self.silent:
            asyncio.get_running_loop().call_soon(done, None)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Dc09Server, _Sink]]:
    sink = _Sink()
    known = {account: AccountKey(KEY) for account in numbered_accounts(4)}
    server = Dc09Server(
        sink, known.get, SystemClock(), ListenOptions(host="127.0.0.1", tcp_port=0, udp_port=None)
    )
    await server.start()
    yield server, sink
    await server.close()


def _frames(panels: int, count: int, key: AesKey | None = KEY) -> list[list[bytes]]:
    now = datetime.now(UTC)
    return [build_frames(PanelSpec(a, key), count, now) for a in numbered_accounts(panels)]


def test_built_frames_are_distinct_valid_messages_of_the_panel() -> None:
    frames = _frames(1, 50)[0]
    receiver = Dc09Receiver(lambda _: AccountKey(KEY), rng=random.Random(1))
    events = [e for f in frames for e in receiver.receive_data(f, datetime.now(UTC))]
    messages = [e.message for e in events if hasattr(e, "message")]
    assert len(messages) == 50
    assert [m.sequence for m in messages] == list(range(1, 51))
    assert {m.account for m in messages} == {"100001"}
    assert all(m.encrypted and m.data for m in messages)


async def test_a_closed_loop_gets_every_frame_acked_and_stored(
    receiver: tuple[Dc09Server, _Sink],
) -> None:
    server, sink = receiver
    host, port = server.tcp_address or ("", 0)
    report = await run_load(LoadPlan(host, port, duration_s=0.5), _frames(4, 9999))
    assert report.sent > 20
    assert report.acknowledged == report.sent == len(sink.messages)
    assert len(report.latencies) == report.acknowledged
    assert report.refused == report.timed_out == report.exhausted == 0


async def test_an_offered_rate_is_kept_and_frames_run_out_visibly(
    receiver: tuple[Dc09Server, _Sink],
) -> None:
    server, sink = receiver
    host, port = server.tcp_address or ("", 0)
    report = await run_load(LoadPlan(host, port, duration_s=1.0, rate=40.0), _frames(4, 30))
    assert 30 <= report.sent <= 48  # 40/s for a second, give or take the first and last
    assert report.acknowledged == report.sent == len(sink.messages)
    assert report.exhausted == 0
    short = await run_load(LoadPlan(host, port, duration_s=0.5), _frames(2, 3))
    assert short.sent == 6
    assert short.exhausted == 2


async def test_unknown_accounts_are_refused_and_silence_times_out(
    receiver: tuple[Dc09Server, _Sink],
) -> None:
    server, sink = receiver
    host, port = server.tcp_address or ("", 0)
    strangers = [build_frames(PanelSpec("ABCDEF", KEY), 5, datetime.now(UTC))]
    refused = await run_load(LoadPlan(host, port, duration_s=0.3), strangers)
    assert refused.refused == refused.sent == 5  # DUH each time
    assert refused.acknowledged == 0
    sink.silent = True
    silent = await run_load(LoadPlan(host, port, duration_s=0.3, ack_timeout_s=0.2), _frames(2, 9))
    assert silent.acknowledged == 0
    assert silent.timed_out == silent.sent >= 2


def test_plain_frames_carry_no_timestamp_so_they_never_go_stale() -> None:
    receiver = Dc09Receiver(lambda _: AccountKey(None), rng=random.Random(1))
    frames = _frames(1, 5, key=None)[0]
    events = [e for f in frames for e in receiver.receive_data(f, datetime.now(UTC))]
    messages = [e.message for e in events if hasattr(e, "message")]
    assert [m.sequence for m in messages] == [1, 2, 3, 4, 5]
    assert all(m.timestamp is None and not m.encrypted for m in messages)
