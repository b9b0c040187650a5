"""The ONVIF camera simulator's parts without sockets: the UsernameToken digest check, the
PTZ head on a fake clock, and the PullPoint subscriptions."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta

import pytest

from safecity.sim.onvif_events import EventService, SimNotification, SimTopic
from safecity.sim.onvif_ptz import Position, PtzHead, duration_s
from safecity.sim.onvif_soap import (
    PASSWORD_DIGEST,
    WSSE,
    WSU,
    SoapFault,
    TokenChecker,
    parse_request,
    password_digest,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CREATED = "2026-05-01T11:59:58Z"
NONCE = b"0123456789abcdef"


def request(username: str, password: str, *, nonce: bytes = NONCE, created: str = CREATED) -> bytes:
    digest = password_digest(nonce, created, password)
    return f"""<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
        xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}">
      <s:Header><wsse:Security><wsse:UsernameToken>
        <wsse:Username>{username}</wsse:Username>
        <wsse:Password Type="{PASSWORD_DIGEST}">{digest}</wsse:Password>
        <wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce>
        <wsu:Created>{created}</wsu:Created>
      </wsse:UsernameToken></wsse:Security></s:Header>
      <s:Body><GetProfiles xmlns="http://www.onvif.org/ver10/media/wsdl"/></s:Body>
    </s:Envelope>""".encode()


def test_a_correct_digest_passes_once_and_its_replay_is_refused() -> None:
    checker = TokenChecker("admin", "pw")
    parsed = parse_request(request("admin", "pw"))
    assert parsed.name == "GetProfiles"
    checker.check(parsed, NOW)
    with pytest.raises(SoapFault, match="not Authorized"):
        checker.check(parsed, NOW)  # the same nonce again


@pytest.mark.parametrize(
    "data",
    [
        request("admin", "wrong"),
        request("root", "pw"),
        request("admin", "pw", created="2026-05-01T11:40:00Z"),  # 20 minutes old
        request("admin", "pw", created="yesterday"),
        b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><X/></s:Body>'
        b"</s:Envelope>",  # no token at all
    ],
)
def test_wrong_stale_or_missing_tokens_get_not_authorized(data: bytes) -> None:
    with pytest.raises(SoapFault) as raised:
        TokenChecker("admin", "pw").check(parse_request(data), NOW)
    assert raised.value.subcode == "ter:NotAuthorized"
    assert raised.value.status == 400


def test_a_document_with_a_dtd_is_refused_before_parsing() -> None:
    with pytest.raises(SoapFault) as raised:
        parse_request(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    assert raised.value.subcode == "ter:WellFormed"


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_continuous_move_integrates_the_velocity_until_stop_and_stays_in_bounds() -> None:
    clock = FakeMonotonic()
    head = PtzHead(clock)
    head.continuous_move(Position(0.5, -0.25, 0.1), None)
    clock.now += 1.0
    assert head.position() == Position(0.5, -0.25, 0.1)
    assert head.moving
    clock.now += 10.0
    assert head.position() == Position(1.0, -1.0, 1.0)  # clamped at the limits
    assert not head.moving
    head.stop()
    head.continuous_move(Position(-0.5), 1.0)  # with a timeout of one second
    clock.now += 3.0
    assert head.position().pan == pytest.approx(0.5)
    assert not head.moving


def test_presets_store_and_recall_positions() -> None:
    clock = FakeMonotonic()
    head = PtzHead(clock)
    head.move_to(Position(0.3, 0.2, 0.5))
    token = head.set_preset("gate", None)
    head.move_by(Position(-0.5, 0.0, 0.0))
    assert head.position().pan == pytest.approx(-0.2)
    head.goto_preset(token)
    assert head.position() == Position(0.3, 0.2, 0.5)
    with pytest.raises(SoapFault, match="no preset"):
        head.goto_preset("nope")


@pytest.mark.parametrize(
    ("text", "seconds"), [("PT5S", 5.0), ("PT1M30S", 90.0), ("PT0.5S", 0.5), ("P", 0.0)]
)
def test_durations_are_read(text: str, seconds: float) -> None:
    assert duration_s(text) == seconds


async def test_a_pull_waits_for_a_published_notification_and_renew_extends_the_term() -> None:
    service = EventService()
    subscription = service.create(NOW, "PT10S")
    assert subscription.terminates == NOW + timedelta(seconds=10)
    pull = asyncio.create_task(service.pull(subscription.number, NOW, timeout_s=2.0, limit=5))
    await asyncio.sleep(0)
    service.publish(SimNotification(SimTopic.TAMPER, state=True, at=NOW))
    (notification,) = await pull
    assert notification.topic is SimTopic.TAMPER
    assert 'Name="IsTamper" Value="true"' in notification.xml()
    assert await service.pull(subscription.number, NOW, timeout_s=0.01, limit=5) == []
    service.renew(subscription.number, NOW, "PT60S")
    assert service.subscriptions[subscription.number].terminates == NOW + timedelta(seconds=60)


def test_an_expired_subscription_is_gone() -> None:
    service = EventService()
    subscription = service.create(NOW, "PT10S")
    with pytest.raises(SoapFault, match="no subscription"):
        service.get(subscription.number, NOW + timedelta(seconds=11))
