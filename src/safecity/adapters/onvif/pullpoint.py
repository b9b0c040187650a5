"""One PullPoint subscription (ONVIF Event Service §9.1, "Real-time Pull-Point Notification
Interface"): CreatePullPointSubscription, then PullMessages (a long poll), Renew before the
termination time, Unsubscribe at the end.

```python
async with PullPointSubscription(camera, termination_s=60) as subscription:
    while True:
        for notification in await subscription.pull(timeout_s=5):
            ...
        if subscription.renew_due(now):
            await subscription.renew()
```
The library keeps one subscription address per camera object (its `xaddrs` table), so one
`OnvifCamera` holds at most one subscription at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Final, Self

import structlog

from safecity.adapters.onvif.camera import OnvifCamera
from safecity.adapters.onvif.events import Notification
from safecity.core.errors import RemoteProtocolError, SafecityError

_log = structlog.get_logger(__name__)

EVENTS_NAMESPACE: Final = "http://www.onvif.org/ver10/events/wsdl"
PULL_POINT_PORT: Final = "PullPointSubscription"
RENEW_AT: Final = 0.5  # renew when half the subscription's time is gone
UNSUBSCRIBE_TIMEOUT_S: Final = 2.0


class PullPointSubscription:
    """See the module docstring. `now` arguments are monotonic seconds (`Clock.monotonic`)."""

    def __init__(
        self, camera: OnvifCamera, *, termination_s: float = 60.0, now: float = 0.0
    ) -> None:
        self.camera = camera
        self.termination_s = termination_s
        self.address: str | None = None
        self._renewed_at = now

    async def __aenter__(self) -> Self:
        answer = await self.camera.call(
            "events",
            "CreatePullPointSubscription",
            {"InitialTerminationTime": _duration(self.termination_s)},
        )
        reference = getattr(answer, "SubscriptionReference", None)
        address = getattr(getattr(reference, "Address", None), "_value_1", None)
        if not address:
            raise RemoteProtocolError(
                f"CreatePullPointSubscription at {self.camera.address} gave no address"
            )
        self.address = str(address)
        self.camera.set_service_address(f"{EVENTS_NAMESPACE}/{PULL_POINT_PORT}", self.address)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Unsubscribe, best effort: the camera may be the reason we leave, and the
        subscription ends on its own at its termination time anyway."""
        if exc_type is not None and not issubclass(exc_type, SafecityError):
            return  # cancelled or a bug: do not wait on the camera
        try:
            await self.camera.call(
                "subscription",
                "Unsubscribe",
                port_type=PULL_POINT_PORT,
                timeout_s=min(UNSUBSCRIBE_TIMEOUT_S, self.camera.timeout_s),
            )
        except SafecityError as error:
            _log.debug("onvif_unsubscribe_failed", camera=self.camera.address, error=str(error))

    async def pull(self, *, timeout_s: float = 5.0, limit: int = 32) -> list[Notification]:
        """Wait up to `timeout_s` on the camera for notifications, at most `limit`."""
        answer = await self.camera.call(
            "pullpoint",
            "PullMessages",
            {"Timeout": timedelta(seconds=timeout_s), "MessageLimit": limit},
            port_type=PULL_POINT_PORT,
            timeout_s=timeout_s + self.camera.timeout_s,
        )
        messages = getattr(answer, "NotificationMessage", None) or []
        return [n for n in (notification_from(m) for m in messages) if n is not None]

    def renew_due(self, now: float) -> bool:
        return now - self._renewed_at >= self.termination_s * RENEW_AT

    async def renew(self, now: float) -> None:
        await self.camera.call(
            "subscription",
            "Renew",
            {"TerminationTime": _duration(self.termination_s)},
            port_type=PULL_POINT_PORT,
        )
        self._renewed_at = now


def _duration(seconds: float) -> str:
    return f"PT{max(1, round(seconds))}S"


def notification_from(message: Any) -> Notification | None:
    """A `wsnt:NotificationMessage` as zeep gives it to a `Notification`; None if it has no
    topic. zeep resolves `tt:Message` into an object; a camera's unknown payload stays an
    lxml element, read the same way."""
    topic = getattr(getattr(message, "Topic", None), "_value_1", None)
    if not topic:
        return None
    payload = getattr(getattr(message, "Message", None), "_value_1", None)
    if payload is None:
        return Notification(str(topic), None, None)
    if hasattr(payload, "tag") and hasattr(payload, "iter"):
        return _from_element(str(topic), payload)
    return Notification(
        topic=str(topic),
        at=getattr(payload, "UtcTime", None),
        operation=_text_or_none(getattr(payload, "PropertyOperation", None)),
        source=_items(getattr(getattr(payload, "Source", None), "SimpleItem", None)),
        data=_items(getattr(getattr(payload, "Data", None), "SimpleItem", None)),
    )


def _items(items: Iterable[Any] | None) -> tuple[tuple[str, str], ...]:
    return tuple(
        (str(item.Name), str(item.Value))
        for item in items or []
        if getattr(item, "Name", None) is not None and getattr(item, "Value", None) is not None
    )


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _from_element(topic: str, element: Any) -> Notification:
    source: list[tuple[str, str]] = []
    data: list[tuple[str, str]] = []
    for part in element.iter():
        local = str(part.tag).rpartition("}")[2]
        if local in {"Source", "Data"}:
            target = source if local == "Source" else data
            target.extend(
                (str(item.get("Name")), str(item.get("Value")))
                for item in part
                if str(item.tag).endswith("SimpleItem") and item.get("Name") is not None
            )
    stamp = element.get("UtcTime")
    at = None
    if stamp:
        try:
            at = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
        except ValueError:
            at = None
    return Notification(topic, at, element.get("PropertyOperation"), tuple(source), tuple(data))
