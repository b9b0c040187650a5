"""The DC-09 receiver in a process of its own (`receiver.own_process`), a composition root like
`app`: it owns the listening sockets, the intake and its inbox writer, and nothing else.

Why: an ACK waits only for its group commit, but in the platform's process every ACK also waits
for whatever else holds the event loop: the alarm processor turning the inbox into alarms, the
API, the recorder's reports. Here the receiver has a core (and, with the SQLite spool, a file)
to itself, and the platform process only processes.

Between the two, over two one-way pipes (`add_reader` makes the end it watches non-blocking, so
each side only ever reads from the end it watches and writes a blocking one): the platform sends
the account keys at start and after every change (`("accounts", keys)`); the receiver sends
`("listening", tcp, udp)` once its sockets are open and `("stored", waiting)` after each group
commit, which wakes the alarm processor and says how many panels are still waiting for an
ACK (`ReceiverProcess.waiting`; processing does not give way to a receiver in its own process,
the kernel's priorities do that, see `app._receiver`); at most one such note per
`NOTE_EVERY_S`, so a busy platform can fall far behind reading them before the receiver would
ever block on the pipe. The receiver dies with the platform (Linux: the parent-death signal;
elsewhere: when the pipe closes); the platform starts a new one if it dies alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Final

import structlog

from safecity.adapters.dc09 import AccountCache, Dc09Server, ListenOptions
from safecity.alarms.intake import SignalIntake
from safecity.core.clock import SystemClock
from safecity.event_loop import loop_factory
from safecity.process_setup import freeze_startup_heap, start_child
from safecity.protocols.dc09 import AccountKey
from safecity.settings import LogSettings
from safecity.store.db import Database, sqlite_pragmas
from safecity.store.repositories.inbox import InboxWriter, SessionInboxWriter, SpoolWriter

_log = structlog.get_logger(__name__)

RESTART_S: Final = 1.0
NOTE_EVERY_S: Final = 0.005


@dataclass(frozen=True)
class ReceiverJob:
    """What the receiver process is given (pickled to it)."""

    listen: ListenOptions
    store_url: str
    store_path: str | None  # the SQLite store's file, when the inbox is its spool
    spool: str | None
    max_batch: int
    log: LogSettings
    priority: int = 0  # nice levels above the platform process


def _raise_priority(steps: int) -> bool:
    """Be `steps` nice levels ahead of the platform process, so an ACK never waits for alarm
    processing that has fallen behind (Linux needs CAP_SYS_NICE or root; systemd: Nice= or
    AmbientCapabilities=CAP_SYS_NICE). False if that was refused."""
    if steps <= 0:
        return True
    try:
        os.nice(-steps)
    except OSError:
        return False
    return True


def receiver_main(job: ReceiverJob, pipe: Connection, up: Connection) -> None:
    """The receiver process's entry point."""
    start_child(job.log)  # dies with the platform; Ctrl-C reaches the platform, which stops us
    if not _raise_priority(job.priority):
        _log.warning("dc09.receiver_process.priority_unchanged", wanted=job.priority)
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        runner.run(_receive(job, pipe, up))


async def _receive(job: ReceiverJob, pipe: Connection, up: Connection) -> None:
    loop = asyncio.get_running_loop()
    keys = _Keys()
    done = asyncio.Event()

    def readable() -> None:
        try:
            while pipe.poll():
                kind, value = pipe.recv()
                if kind == "accounts":
                    keys.table = value
                    keys.loaded.set()
        except (EOFError, OSError):  # the platform is gone
            done.set()

    loop.add_reader(pipe.fileno(), readable)
    database: Database | None = None
    inbox: InboxWriter
    if job.spool is not None and job.store_path is not None:
        inbox = SpoolWriter(job.spool, job.store_path, sqlite_pragmas)
    else:
        database = Database(job.store_url)
        inbox = SessionInboxWriter(database)
    intake: SignalIntake

    notes = _Notes(up)
    intake = SignalIntake(inbox, on_stored=notes.stored, max_batch=job.max_batch)
    notes.intake = intake
    server = Dc09Server(intake, keys.lookup, SystemClock(), job.listen)
    try:
        await keys.loaded.wait()
        await server.start()
        freeze_startup_heap()
        up.send(("listening", server.tcp_address, server.udp_address))
        await done.wait()
    finally:
        loop.remove_reader(pipe.fileno())
        await server.close()
        await intake.aclose()
        await inbox.aclose()
        if database is not None:
            await database.dispose()


class _Notes:
    """`("stored", waiting)` up the pipe after a commit, at most one per `NOTE_EVERY_S`."""

    def __init__(self, up: Connection) -> None:
        self.up = up
        self.intake: SignalIntake | None = None
        self.last = float("-inf")
        self.due: asyncio.TimerHandle | None = None

    def stored(self) -> None:
        if self.due is not None:
            return
        loop = asyncio.get_running_loop()
        wait = self.last + NOTE_EVERY_S - loop.time()
        if wait <= 0:
            self.send()
        else:
            self.due = loop.call_later(wait, self.send)

    def send(self) -> None:
        self.due = None
        self.last = asyncio.get_running_loop().time()
        self.up.send(("stored", self.intake.waiting if self.intake is not None else 0))


class _Keys:
    """The account keys as the platform last sent them."""

    def __init__(self) -> None:
        self.table: dict[str, AccountKey] = {}
        self.loaded = asyncio.Event()

    def lookup(self, account: str) -> AccountKey | None:
        return self.table.get(account)


class ReceiverProcess:
    """The platform's side: starts the receiver process, feeds it keys, restarts it if it dies.
    Offers what the demo and `serve` need of an in-process `Dc09Server`: `listening` and the
    bound addresses."""

    def __init__(self, job: ReceiverJob, cache: AccountCache, on_stored: Any) -> None:
        self.job = job
        self.cache = cache
        self.on_stored = on_stored
        self.listening = asyncio.Event()
        self.tcp_address: tuple[str, int] | None = None
        self.udp_address: tuple[str, int] | None = None
        self.waiting = 0  # panels waiting for an ACK, as the receiver last reported
        self.restarts = 0

    async def serve(self) -> None:
        """Run the receiver process until cancelled, a new one whenever it dies."""
        await self.cache.loaded.wait()
        while True:
            exitcode = await self._run_once()
            self.restarts += 1
            self.listening.clear()
            _log.warning(  # a negative exit code is the signal that ended it (-15: SIGTERM)
                "dc09.receiver_process.died", restarts=self.restarts, exitcode=exitcode
            )
            await asyncio.sleep(RESTART_S)

    async def _run_once(self) -> int | None:
        """One receiver process, from start to death; its exit code."""
        loop = asyncio.get_running_loop()
        context = multiprocessing.get_context("spawn")
        down_theirs, down = context.Pipe(duplex=False)
        ours, up_theirs = context.Pipe(duplex=False)
        process = context.Process(
            target=receiver_main,
            args=(self.job, down_theirs, up_theirs),
            name="safecity-dc09",
            daemon=True,
        )
        process.start()
        down_theirs.close()
        up_theirs.close()
        ended = asyncio.Event()

        def readable() -> None:
            try:
                while ours.poll():
                    self._message(ours.recv())
            except (EOFError, OSError):
                ended.set()

        sent_keys: dict[str, AccountKey] | None = None
        loop.add_reader(ours.fileno(), readable)
        loop.add_reader(process.sentinel, ended.set)
        try:
            while not ended.is_set():
                keys = self.cache.snapshot()
                if keys is not sent_keys:
                    down.send(("accounts", keys))
                    sent_keys = keys
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._until_change(ended), 1.0)
        finally:
            loop.remove_reader(ours.fileno())
            loop.remove_reader(process.sentinel)
            ours.close()
            down.close()  # the receiver sees the pipe close and stops
            await asyncio.to_thread(process.join, 5.0)
            if process.is_alive():
                process.kill()
                await asyncio.to_thread(process.join)
        return process.exitcode

    async def _until_change(self, ended: asyncio.Event) -> None:
        changed = asyncio.create_task(self.cache.changed())
        stopped = asyncio.create_task(ended.wait())
        try:
            await asyncio.wait({changed, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            changed.cancel()
            stopped.cancel()

    def _message(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "stored":
            self.waiting = int(message[1])
            self.on_stored()
        elif kind == "listening":
            self.tcp_address, self.udp_address = message[1], message[2]
            self.listening.set()
