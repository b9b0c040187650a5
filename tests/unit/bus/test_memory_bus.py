"""The in-process bus: delivery order, pattern filtering, back-pressure, close, and the JSON form
every event takes on a networked bus."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from safecity.bus.memory import MemoryBus
from safecity.bus.port import Delivery, EventBus, Subscription
from safecity.core.events import (
    AlarmAccountChanged,
    AlarmChanged,
    AlarmRaised,
    CameraCameOnline,
    CameraMotionDetected,
    CameraTamperDetected,
    CameraWentOffline,
    DeviceChanged,
    Event,
    GrantChanged,
    OrgUnitChanged,
    PointChanged,
    PointsImported,
    RecordingGapFound,
    SegmentRecorded,
    UserChanged,
    UserSignedIn,
    decode_event,
)

AT = datetime(2026, 1, 1, 8, 30, tzinfo=UTC)

# One sample of every concrete event type; a new type must be added here to be round-tripped.
SAMPLES: list[Event] = [
    OrgUnitChanged(at=AT, org_path="/1/", actor="root", org_unit_id=1, change="created"),
    PointChanged(at=AT, org_path="/1/2/", actor="alice", point_id=7, change="updated"),
    DeviceChanged(at=AT, org_path="/1/2/", device_id=3, point_id=7, change="deleted"),
    PointsImported(at=AT, org_path="/1/", actor="bob", count=120),
    UserSignedIn(at=AT, org_path="/1/", username="alice", source="10.0.0.8"),
    UserChanged(at=AT, org_path="/1/2/", actor="root", user_id=4, username="bob", change="created"),
    GrantChanged(
        at=AT, org_path="/1/2/", grant_id=2, department="traffic", point_id=7, change="deleted"
    ),
    AlarmAccountChanged(at=AT, org_path="/1/2/", account_id=5, account="1234", change="updated"),
    AlarmRaised(
        at=AT,
        org_path="/1/2/",
        alarm_id=9,
        account="1234",
        point_id=7,
        source="panel",
        code="130",
        category="burglary",
        priority=2,
        title_en="Burglary",
        title_zh="盗警",
        partition=1,
        zone=15,
        cameras=[3, 4],
    ),
    AlarmChanged(
        at=AT,
        org_path="/1/2/",
        alarm_id=9,
        point_id=7,
        change="acknowledged",
        state="acknowledged",
        priority=2,
    ),
    CameraWentOffline(at=AT, org_path="/1/2/", camera_id=3, since=AT, reason="no packets"),
    CameraCameOnline(at=AT, org_path="/1/2/", camera_id=3),
    CameraMotionDetected(
        at=AT, org_path="/1/2/", camera_id=3, point_id=7, active=True, source="VideoSource_1"
    ),
    CameraTamperDetected(at=AT, org_path="/1/2/", camera_id=3, point_id=7, active=False),
    RecordingGapFound(at=AT, org_path="/1/2/", camera_id=3, start=AT, end=AT, cause="source_lost"),
    SegmentRecorded(
        at=AT,
        org_path="/1/2/",
        camera_id=3,
        segment_id=11,
        start=AT,
        end=AT,
        bytes=1_000_000,
        path="3/2026/01/01/20260101T000000.000Z.mp4",
    ),
]


def unit_event(unit_id: int, change: str = "created") -> OrgUnitChanged:
    return OrgUnitChanged.model_validate(
        {"at": AT, "org_path": "/1/", "org_unit_id": unit_id, "change": change}
    )


async def take(subscription: Subscription, count: int) -> list[Delivery]:
    """The next `count` deliveries; fails instead of hanging when fewer come."""
    iterator = aiter(subscription)
    return [await asyncio.wait_for(anext(iterator), 1.0) for _ in range(count)]


async def drain(subscription: Subscription) -> list[Delivery]:
    return [delivery async for delivery in subscription]


def test_memory_bus_implements_the_event_bus_port() -> None:
    bus: EventBus = MemoryBus()
    subscription: Subscription = bus.subscribe(">")

    assert subscription.dropped == 0


async def test_subscriber_receives_events_in_publish_order() -> None:
    bus = MemoryBus()
    subscription = bus.subscribe(">")

    for unit_id in range(1, 6):
        await bus.publish(unit_event(unit_id))

    deliveries = await take(subscription, 5)
    assert [d.event for d in deliveries] == [unit_event(i) for i in range(1, 6)]
    assert [d.sequence for d in deliveries] == [1, 2, 3, 4, 5]
    assert {d.subject for d in deliveries} == {"org.unit.created"}
    assert not any(d.redelivered for d in deliveries)


async def test_every_matching_subscriber_gets_its_own_copy() -> None:
    bus = MemoryBus()
    first, second = bus.subscribe("org.>"), bus.subscribe("org.unit.*")

    await bus.publish(unit_event(1))

    assert [d.event for d in await take(first, 1)] == [unit_event(1)]
    assert [d.event for d in await take(second, 1)] == [unit_event(1)]


async def test_subscriber_receives_only_subjects_matching_its_pattern() -> None:
    bus = MemoryBus()
    deletions = bus.subscribe("org.*.deleted")
    point = PointChanged(at=AT, org_path="/1/", point_id=2, change="deleted")

    await bus.publish(unit_event(1, "created"))
    await bus.publish(point)
    await bus.publish(unit_event(3, "deleted"))
    await bus.publish(UserSignedIn(at=AT, org_path="/1/", username="alice"))
    await bus.publish(unit_event(4, "deleted"))

    deliveries = await take(deletions, 3)
    assert [d.event for d in deliveries] == [
        point,
        unit_event(3, "deleted"),
        unit_event(4, "deleted"),
    ]
    assert [d.subject for d in deliveries] == [
        "org.point.deleted",
        "org.unit.deleted",
        "org.unit.deleted",
    ]


async def test_subscriber_sees_only_events_published_after_it_subscribed() -> None:
    bus = MemoryBus()
    await bus.publish(unit_event(1))
    subscription = bus.subscribe(">")

    await bus.publish(unit_event(2))

    assert [d.event for d in await take(subscription, 1)] == [unit_event(2)]


async def test_publish_without_subscribers_returns() -> None:
    await MemoryBus().publish(unit_event(1))


async def test_full_queue_delays_the_publisher_no_longer_than_the_timeout() -> None:
    timeout = 0.01
    bus = MemoryBus(publish_timeout=timeout)
    bus.subscribe(">", buffer=1)
    loop = asyncio.get_running_loop()
    await bus.publish(unit_event(1))

    started = loop.time()
    for unit_id in range(2, 7):
        await bus.publish(unit_event(unit_id))
    elapsed = loop.time() - started

    assert elapsed < 5 * timeout + 0.5


async def test_overrun_subscriber_counts_dropped_and_keeps_the_newest_events() -> None:
    bus = MemoryBus(publish_timeout=0.001)
    subscription = bus.subscribe(">", buffer=2)

    for unit_id in range(1, 6):
        await bus.publish(unit_event(unit_id))

    assert subscription.dropped == 3
    deliveries = await take(subscription, 2)
    assert [d.event for d in deliveries] == [unit_event(4), unit_event(5)]
    assert [d.sequence for d in deliveries] == [4, 5]  # the gap shows the overrun


async def test_a_slow_subscriber_does_not_hold_back_a_fast_one() -> None:
    bus = MemoryBus(publish_timeout=0.001)
    slow = bus.subscribe(">", buffer=1)
    fast = bus.subscribe(">", buffer=10)

    for unit_id in range(1, 4):
        await bus.publish(unit_event(unit_id))

    assert (slow.dropped, fast.dropped) == (2, 0)
    assert [d.event for d in await take(fast, 3)] == [unit_event(i) for i in range(1, 4)]


async def test_publisher_waiting_on_a_full_queue_delivers_once_the_reader_catches_up() -> None:
    bus = MemoryBus(publish_timeout=5.0)
    subscription = bus.subscribe(">", buffer=1)
    await bus.publish(unit_event(1))

    publishing = asyncio.ensure_future(bus.publish(unit_event(2)))
    first = await take(subscription, 1)
    await asyncio.wait_for(publishing, 1.0)

    assert [d.event for d in first] == [unit_event(1)]
    assert [d.event for d in await take(subscription, 1)] == [unit_event(2)]
    assert subscription.dropped == 0


async def test_close_ends_a_waiting_iteration() -> None:
    bus = MemoryBus()
    subscription = bus.subscribe(">")
    received: list[Event] = []

    async def consume() -> None:
        async for delivery in subscription:
            received.append(delivery.event)
            await subscription.ack(delivery)

    async def produce_then_close() -> None:
        await bus.publish(unit_event(1))
        await asyncio.sleep(0.01)
        await subscription.close()

    await asyncio.wait_for(asyncio.gather(consume(), produce_then_close()), 1.0)

    assert received == [unit_event(1)]


async def test_close_ends_iteration_even_while_a_publisher_waits_on_the_full_queue() -> None:
    bus = MemoryBus(publish_timeout=0.02)
    subscription = bus.subscribe(">", buffer=1)
    await bus.publish(unit_event(1))
    publishing = asyncio.ensure_future(bus.publish(unit_event(2)))
    await asyncio.sleep(0)  # the publisher now waits for room

    await subscription.close()
    await publishing

    remaining = await asyncio.wait_for(drain(subscription), 1.0)
    assert remaining == []


async def test_closed_subscription_receives_nothing_more() -> None:
    bus = MemoryBus()
    subscription = bus.subscribe(">")
    await subscription.close()

    await bus.publish(unit_event(1))

    assert await asyncio.wait_for(drain(subscription), 1.0) == []


async def test_closing_twice_is_harmless() -> None:
    subscription = MemoryBus().subscribe(">")

    await subscription.close()
    await subscription.close()

    assert await asyncio.wait_for(drain(subscription), 1.0) == []


def test_subscribe_rejects_an_empty_buffer() -> None:
    with pytest.raises(ValueError, match="buffer must be at least 1"):
        MemoryBus().subscribe(">", buffer=0)


# The JSON form a networked bus carries


def test_samples_cover_every_concrete_event_type() -> None:
    assert {type(e) for e in SAMPLES} == set(Event.__subclasses__())


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_event_round_trips_through_json(event: Event) -> None:
    decoded = decode_event(event.model_dump_json().encode())

    assert type(decoded) is type(event)
    assert decoded == event
    assert decoded.subject == event.subject


def test_event_subject_names_the_change() -> None:
    assert [e.subject for e in SAMPLES] == [
        "org.unit.created",
        "org.point.updated",
        "org.device.deleted",
        "org.import.points",
        "access.signin",
        "access.user.created",
        "access.grant.deleted",
        "alarms.account.updated",
        "alarms.raised",
        "alarms.changed.acknowledged",
        "media.camera.offline",
        "media.camera.online",
        "media.camera.motion",
        "media.camera.tamper",
        "media.gap",
        "media.segment",
    ]


def test_decoding_an_unknown_kind_fails() -> None:
    with pytest.raises(ValueError, match="kind"):
        decode_event(b'{"kind": "nothing_happened", "at": "2026-01-01T00:00:00Z", "org_path": "/"}')
