"""What simulated panels say: a seeded, realistic mix of Contact ID and SIA payloads."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from safecity.protocols.dc09 import Token
from safecity.sim.panel_traffic import EventKind, PanelEvent, PanelTraffic, traffic_for

NOON_BEIJING = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


def _stream(account: str, seed: int, count: int, *, polls: bool = True) -> list[PanelEvent]:
    traffic = traffic_for(account, seed, include_polls=polls)
    return [traffic.next_event(NOON_BEIJING + timedelta(minutes=7 * i)) for i in range(count)]


def _fleet(seed: int, panels: int = 50, count: int = 400) -> list[PanelEvent]:
    return [e for i in range(panels) for e in _stream(f"10{i + 1:04X}", seed, count)]


def test_the_same_seed_gives_the_same_messages() -> None:
    assert _stream("100001", 7, 500) == _stream("100001", 7, 500)


def test_another_seed_or_account_gives_other_messages() -> None:
    assert _stream("100001", 7, 200) != _stream("100001", 8, 200)
    assert _stream("100001", 7, 200) != _stream("100002", 7, 200)


def test_most_messages_are_supervision_polls_and_alarms_are_a_minority() -> None:
    kinds = Counter(e.kind for e in _fleet(seed=1))
    total = sum(kinds.values())
    assert 0.6 < kinds[EventKind.POLL] / total < 0.8
    assert 0.01 < kinds[EventKind.BURGLARY] / total < 0.05
    assert 0.02 < (kinds[EventKind.OPENING] + kinds[EventKind.CLOSING]) / total < 0.12
    assert 0.02 < kinds[EventKind.TEST] / total < 0.06
    assert 0.01 < kinds[EventKind.TROUBLE] / total < 0.05
    assert 0 < kinds[EventKind.FIRE] / total < 0.01
    assert kinds[EventKind.RESTORE] > 0.8 * kinds[EventKind.BURGLARY]


def test_a_fleet_speaks_both_contact_id_and_sia() -> None:
    tokens = Counter(e.token for e in _fleet(seed=2, count=50))
    assert tokens[Token.ADM_CID] > 0
    assert tokens[Token.SIA_DCS] > 0
    assert tokens[Token.NULL] > tokens[Token.ADM_CID]


def test_without_polls_there_is_no_null_message() -> None:
    assert all(e.token is not Token.NULL for e in _stream("100001", 3, 300, polls=False))


def test_every_restore_follows_an_alarm_of_the_same_zone_still_open() -> None:
    for account in ("100001", "100002", "100003", "100004"):
        open_alarms: set[tuple[str | None, int | None, int | None]] = set()
        restores = 0
        for event in _stream(account, 4, 2000):
            key = (event.cid_event, event.partition, event.zone)
            if event.kind in (EventKind.BURGLARY, EventKind.FIRE, EventKind.TROUBLE):
                open_alarms.add(key)
            elif event.kind is EventKind.RESTORE:
                assert key in open_alarms
                open_alarms.remove(key)
                restores += 1
        assert restores > 10


def test_openings_and_closings_alternate_like_a_premises_being_used() -> None:
    events = [
        e for e in _stream("100005", 5, 3000) if e.kind in (EventKind.OPENING, EventKind.CLOSING)
    ]
    assert len(events) > 20
    assert all(a.kind != b.kind for a, b in itertools.pairwise(events))


def test_openings_cluster_in_the_morning_and_are_rare_at_night() -> None:
    def openings(hour_utc: int) -> int:
        traffic = PanelTraffic(rng=random.Random(9), include_polls=False)
        at = datetime(2026, 3, 2, hour_utc, 0, tzinfo=UTC)
        return sum(traffic.next_event(at).kind is EventKind.OPENING for _ in range(5000))

    morning_beijing, night_beijing = 0, 18  # 08:00 and 02:00 at UTC+8
    assert openings(morning_beijing) > 2 * openings(night_beijing)


def test_contact_id_payloads_carry_qualifier_event_partition_and_zone() -> None:
    traffic = PanelTraffic(rng=random.Random(1), message_format=Token.ADM_CID, include_polls=False)
    for _ in range(300):
        event = traffic.next_event(NOON_BEIJING)
        qualifier = "3" if event.kind in (EventKind.RESTORE, EventKind.CLOSING) else "1"
        assert event.data == f"{qualifier}{event.cid_event} {event.partition:02d} {event.zone:03d}"


def test_sia_payloads_carry_the_code_and_zone() -> None:
    traffic = PanelTraffic(rng=random.Random(1), message_format=Token.SIA_DCS, include_polls=False)
    for _ in range(300):
        event = traffic.next_event(NOON_BEIJING)
        assert event.code is not None
        assert event.code in event.data
        assert event.data.startswith("N")
