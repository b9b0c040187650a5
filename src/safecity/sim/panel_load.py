"""A lean DC-09 load generator for benchmarks: frames built before the clock starts, one
`asyncio.Protocol` per panel connection, a few microseconds of work per message.

`sim.panels` behaves like real panels (a traffic mix by time of day, retransmission until ACKed,
clock correction from a NAK, UDP) and spends about a hundred microseconds of CPU per message;
on a two-core machine that cost, not the receiver's, would decide a throughput benchmark. Here
each panel gets its frames up front (the same realistic mix, from `sim.panel_traffic`) and only
writes its next frame: in a closed loop as soon as the last one is answered, or at an offered
rate on its own schedule (a frame that falls due while the panel waits for an ACK goes right
after it, as a real panel's queue would). Nothing is retransmitted: a frame unanswered after
`ack_timeout_s` counts as timed out and the panel moves on. Latency runs from the frame's write
to the end of its reply.

Encrypted frames carry the time they were built, so such a run must finish inside the
receiver's timestamp window (40 s by default): `MAX_RUN_S`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, cast

from safecity.protocols.dc09 import Dc09Message, Dc09Panel
from safecity.sim.panel_traffic import traffic_for
from safecity.sim.panels import PanelSpec

MAX_RUN_S: Final = 30.0
SWEEP_S: Final = 0.25
ACK: Final = b'ACK"'  # "ACK" or, encrypted, "*ACK"
END: Final = b"\r"


@dataclass(frozen=True)
class LoadPlan:
    host: str
    port: int
    duration_s: float
    rate: float | None = None  # new messages per second over all panels; None: closed loop
    ack_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.duration_s <= MAX_RUN_S:
            raise ValueError(f"a load run lasts 0 to {MAX_RUN_S:g} s (its frames' timestamps)")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("the offered rate is positive (None: closed loop)")


@dataclass
class LoadReport:
    sent: int = 0
    acknowledged: int = 0
    refused: int = 0  # answered with anything but an ACK (NAK, DUH)
    timed_out: int = 0
    exhausted: int = 0  # panels that ran out of frames before the end
    elapsed_s: float = 0.0
    latencies: list[float] = field(default_factory=list)


def build_frames(
    spec: PanelSpec, count: int, now: datetime, seed: int = 1, first_sequence: int = 1
) -> list[bytes]:
    """`count` frames of `spec`'s panel (sequence `first_sequence`, then up, wrapping after 9999),
    no NULL polls. A receiver takes frames equal to ones it has stored as retransmissions, so
    runs against the same store need other sequence numbers or seeds. Encrypted frames
    are stamped `now` (DC-09 requires it); plain ones carry no timestamp (it is optional), so a
    plain run is not bound to a receiver's window."""
    if not 1 <= count <= 9999 or not 1 <= first_sequence <= 9999:
        raise ValueError("a panel has 1..9999 frames (its sequence numbers) per run")
    traffic = traffic_for(spec.account, seed, include_polls=False)
    if spec.key is None:
        events = (traffic.next_event(now) for _ in range(count))
        return [
            Dc09Message(
                token=e.token,
                sequence=(first_sequence + n - 1) % 9999 + 1,
                account=spec.account,
                data=e.data,
            ).encode()
            for n, e in enumerate(events)
        ]
    rng = random.Random(f"{seed}:{spec.account}")  # noqa: S311 (the IVs of a load test)
    panel = Dc09Panel(spec.account, key=spec.key, rng=rng, first_sequence=first_sequence)
    frames = []
    for _ in range(count):
        event = traffic.next_event(now)
        _, frame = panel.message(event.token, event.data, now)
        frames.append(frame)
    return frames


async def run_load(
    plan: LoadPlan, frames: Sequence[list[bytes]], on_start: Callable[[], None] | None = None
) -> LoadReport:
    """One TCP connection per entry of `frames`; send them per `plan`; report. `on_start` is
    called once every connection is open, just before the first frame goes out."""
    return await _Run(plan, frames, on_start).run()


class _Run:
    def __init__(
        self,
        plan: LoadPlan,
        frames: Sequence[list[bytes]],
        on_start: Callable[[], None] | None,
    ) -> None:
        self.plan = plan
        self.on_start = on_start
        self.loop = asyncio.get_running_loop()
        self.report = LoadReport()
        self.panels = [_Panel(self, panel_frames) for panel_frames in frames]
        self.sending = False
        self.settled = asyncio.Event()

    async def run(self) -> LoadReport:
        await asyncio.gather(*(self._connect(panel) for panel in self.panels))
        plan = self.plan
        if self.on_start is not None:
            self.on_start()
        start = self.loop.time()
        self.sending = True
        interval = len(self.panels) / plan.rate if plan.rate is not None else 0.0
        for index, panel in enumerate(self.panels):
            if plan.rate is None:
                panel.send_next()
            else:  # spread the first frames over one interval
                panel.schedule(start + interval * index / len(self.panels), interval)
        sweeper = asyncio.create_task(self._sweep())
        await asyncio.sleep(plan.duration_s)
        self.sending = False
        self.report.elapsed_s = self.loop.time() - start
        if any(panel.waiting for panel in self.panels):
            self.settled.clear()
            await asyncio.wait_for(self.settled.wait(), plan.ack_timeout_s + 2 * SWEEP_S)
        sweeper.cancel()
        for panel in self.panels:
            panel.close()
        self.report.exhausted = sum(panel.exhausted for panel in self.panels)
        return self.report

    async def _connect(self, panel: _Panel) -> None:
        await self.loop.create_connection(lambda: panel, self.plan.host, self.plan.port)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_S)
            overdue = time.perf_counter() - self.plan.ack_timeout_s
            for panel in self.panels:
                if panel.waiting and panel.sent_at < overdue:
                    self.report.timed_out += 1
                    panel.answered()
            self.check_settled()

    def check_settled(self) -> None:
        if not self.sending and not any(panel.waiting for panel in self.panels):
            self.settled.set()


class _Panel(asyncio.Protocol):
    def __init__(self, run: _Run, frames: list[bytes]) -> None:
        self.run = run
        self.frames = frames
        self.next = 0
        self.sent_at = 0.0
        self.waiting = False
        self.owed = False  # a frame fell due while waiting: send it on the answer
        self.exhausted = False
        self.interval = 0.0
        self.due = 0.0
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the API without subclassing asyncio.Transport
        self.transport = cast(asyncio.Transport, transport)

    def send_next(self) -> None:
        if not self.run.sending or self.transport is None or self.transport.is_closing():
            return
        if self.next >= len(self.frames):
            self.exhausted = True
            return
        frame = self.frames[self.next]
        self.next += 1
        self.waiting = True
        self.run.report.sent += 1
        self.sent_at = time.perf_counter()
        self.transport.write(frame)

    def schedule(self, due: float, interval: float) -> None:
        self.due, self.interval = due, interval
        self.run.loop.call_at(due, self._fall_due)

    def _fall_due(self) -> None:
        if not self.run.sending:
            return
        if self.waiting:
            self.owed = True
        else:
            self.send_next()
        self.due += self.interval
        self.run.loop.call_at(self.due, self._fall_due)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        while END in buffer:
            reply, buffer = buffer.split(END, 1)
            if not self.waiting:
                continue  # a late answer to a frame already counted as timed out
            report = self.run.report
            if ACK in reply:
                report.acknowledged += 1
                report.latencies.append(time.perf_counter() - self.sent_at)
            else:
                report.refused += 1
            self.answered()
        self.buffer = buffer

    def answered(self) -> None:
        self.waiting = False
        if self.run.plan.rate is None or self.owed:
            self.owed = False
            self.send_next()
        if not self.run.sending:
            self.run.check_settled()

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: ARG002 (asyncio API)
        if self.waiting:
            self.run.report.timed_out += 1
            self.waiting = False
            self.run.check_settled()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
