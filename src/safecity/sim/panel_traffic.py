"""What simulated alarm panels say: a realistic, seeded mix of DC-09 payloads.

A real panel mostly sends supervision polls (`NULL`); around business hours the premises open
and close (Contact ID 401, SIA OP/CL); now and then a burglary zone trips (130-134, BA) and is
usually restored a few messages later; fire (110-111, FA) is rare; troubles (tamper 137 / TA,
AC loss 301 / AT, low battery 302 / YT) come with their restores; and a periodic test (602, RP)
goes out on its own. Each panel speaks one format, Contact ID (`ADM-CID`) or SIA DC-03
(`SIA-DCS`), chosen from the seed, as a real panel is configured for one.

Everything is deterministic: the same seed and the same `now` values give the same messages.
Business hours are read from `now` shifted by `utc_offset_hours` (default +8, China time).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from safecity.protocols.dc09 import Token, format_contact_id, format_sia_data


class EventKind(StrEnum):
    POLL = "poll"
    OPENING = "opening"
    CLOSING = "closing"
    BURGLARY = "burglary"
    FIRE = "fire"
    TROUBLE = "trouble"
    RESTORE = "restore"
    TEST = "test"


@dataclass(frozen=True)
class PanelEvent:
    """One message a panel wants to send: the DC-09 token and the data inside the brackets.

    `code` is the SIA DC-03 code of the event and `cid_event` its Contact ID event code (for
    each format, the other is the equivalent); `partition` and `zone` are what the payload
    carries (the zone is the user number for openings and closings).
    """

    kind: EventKind
    token: Token
    data: str
    code: str | None = None
    cid_event: str | None = None
    partition: int | None = None
    zone: int | None = None


@dataclass(frozen=True)
class _Condition:
    """An alarm or trouble in Contact ID and SIA spellings, with its restore."""

    cid: str
    sia_alarm: str
    sia_restore: str


BURGLARIES: Final = (
    _Condition("130", "BA", "BR"),
    _Condition("131", "BA", "BR"),
    _Condition("132", "BA", "BR"),
    _Condition("133", "BA", "BR"),
    _Condition("134", "BA", "BR"),
)
FIRES: Final = (_Condition("110", "FA", "FH"), _Condition("111", "FA", "FH"))
TAMPER: Final = _Condition("137", "TA", "TR")
AC_LOSS: Final = _Condition("301", "AT", "AR")
LOW_BATTERY: Final = _Condition("302", "YT", "YR")
OPEN_CLOSE_CID: Final = "401"
TEST_CID: Final = "602"

POLL_WEIGHT: Final = 0.70
TEST_WEIGHT: Final = 0.04
OPEN_CLOSE_WEIGHT: Final = 0.10
BURGLARY_ARMED_WEIGHT: Final = 0.04
BURGLARY_DISARMED_WEIGHT: Final = 0.01  # 24-hour zones trip while disarmed too
FIRE_WEIGHT: Final = 0.004
TROUBLE_WEIGHT: Final = 0.03
RESTORE_WEIGHT: Final = 0.15  # weight while some alarm is ready to be restored
BURGLARY_RESTORED_SHARE: Final = 0.9  # the rest stay in alarm until someone resets the panel


@dataclass
class _Pending:
    condition: _Condition
    partition: int
    zone: int
    ready_after: int  # restore may go out once this many more messages were sent


@dataclass
class PanelTraffic:
    """The message stream of one panel: call `next_event(now)` for each message it sends."""

    rng: random.Random
    message_format: Token = Token.ADM_CID
    include_polls: bool = True
    partitions: int = 1
    zones: int = 32
    users: int = 20
    utc_offset_hours: int = 8
    armed: bool = True
    _pending: list[_Pending] = field(default_factory=list)

    def next_event(self, now: datetime) -> PanelEvent:
        for pending in self._pending:
            pending.ready_after -= 1
        ready = [p for p in self._pending if p.ready_after <= 0]
        hour = (now + timedelta(hours=self.utc_offset_hours)).hour
        choices: list[tuple[EventKind, float]] = [
            (EventKind.POLL, POLL_WEIGHT if self.include_polls else 0.0),
            (EventKind.TEST, TEST_WEIGHT),
            (EventKind.OPENING, OPEN_CLOSE_WEIGHT * _open_factor(hour) if self.armed else 0.0),
            (EventKind.CLOSING, 0.0 if self.armed else OPEN_CLOSE_WEIGHT * _close_factor(hour)),
            (EventKind.BURGLARY, BURGLARY_ARMED_WEIGHT if self.armed else BURGLARY_DISARMED_WEIGHT),
            (EventKind.FIRE, FIRE_WEIGHT),
            (EventKind.TROUBLE, TROUBLE_WEIGHT),
            (EventKind.RESTORE, RESTORE_WEIGHT if ready else 0.0),
        ]
        kinds = [kind for kind, _ in choices]
        weights = [weight for _, weight in choices]
        kind = self.rng.choices(kinds, weights)[0]
        if kind is EventKind.POLL:
            return PanelEvent(EventKind.POLL, Token.NULL, "")
        if kind is EventKind.TEST:
            return self._event(kind, TEST_CID, "RP", new=True, partition=0, zone=0)
        if kind in (EventKind.OPENING, EventKind.CLOSING):
            self.armed = kind is EventKind.CLOSING
            user = self.rng.randint(1, self.users)
            code = "OP" if kind is EventKind.OPENING else "CL"
            return self._event(kind, OPEN_CLOSE_CID, code, new=not self.armed, zone=user)
        if kind is EventKind.RESTORE:
            pending = self.rng.choice(ready)
            self._pending.remove(pending)
            return self._event(
                kind,
                pending.condition.cid,
                pending.condition.sia_restore,
                new=False,
                partition=pending.partition,
                zone=pending.zone,
            )
        return self._alarm(kind)

    def _alarm(self, kind: EventKind) -> PanelEvent:
        zone = self.rng.randint(1, self.zones)
        partition = self.rng.randint(1, self.partitions)
        if kind is EventKind.BURGLARY:
            condition = self.rng.choice(BURGLARIES)
            restored = self.rng.random() < BURGLARY_RESTORED_SHARE
            delay = self.rng.randint(2, 12)
        elif kind is EventKind.FIRE:
            condition = self.rng.choice(FIRES)
            restored, delay = True, self.rng.randint(3, 15)
        else:
            condition = self.rng.choices((AC_LOSS, LOW_BATTERY, TAMPER), (0.4, 0.35, 0.25))[0]
            restored, delay = True, self.rng.randint(1, 20)
            if condition is not TAMPER:
                partition, zone = 0, 0  # system troubles name no zone
        if restored and not any(
            p.condition == condition and p.zone == zone and p.partition == partition
            for p in self._pending
        ):
            self._pending.append(_Pending(condition, partition, zone, delay))
        return self._event(
            kind, condition.cid, condition.sia_alarm, new=True, partition=partition, zone=zone
        )

    def _event(
        self,
        kind: EventKind,
        cid: str,
        sia: str,
        *,
        new: bool,
        partition: int | None = None,
        zone: int,
    ) -> PanelEvent:
        part = self.rng.randint(1, self.partitions) if partition is None else partition
        if self.message_format is Token.ADM_CID:
            data = format_contact_id(1 if new else 3, cid, part, zone)
            return PanelEvent(kind, Token.ADM_CID, data, sia, cid, part, zone)
        # SIA names no area or zone for system events (partition 0, zone 0 in Contact ID)
        data = format_sia_data(sia, zone or None, part or None)
        return PanelEvent(kind, Token.SIA_DCS, data, sia, cid, part or None, zone or None)


def _open_factor(hour: int) -> float:
    """Openings cluster in the morning; a night opening is rare (and suspicious)."""
    if 7 <= hour < 10:
        return 3.0
    return 1.0 if 10 <= hour < 20 else 0.2


def _close_factor(hour: int) -> float:
    """Closings cluster at the end of the working day."""
    if 17 <= hour < 21:
        return 3.0
    return 1.0 if 9 <= hour < 17 else 0.3


def traffic_for(account: str, seed: int, *, include_polls: bool = True) -> PanelTraffic:
    """The traffic of one account in a seeded fleet: its format, size and state come from
    the seed and the account, so adding panels does not change the others' messages."""
    rng = random.Random(f"traffic/{seed}/{account}")  # noqa: S311 - a seeded simulation
    message_format = Token.ADM_CID if rng.random() < 0.5 else Token.SIA_DCS
    return PanelTraffic(
        rng=rng,
        message_format=message_format,
        include_polls=include_polls,
        partitions=rng.choice((1, 1, 1, 2, 4)),
        zones=rng.choice((8, 16, 32, 64)),
        armed=rng.random() < 0.5,
    )
