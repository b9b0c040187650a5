"""A simulated ONVIF camera (Profile S with PTZ and PullPoint events) over HTTP/SOAP 1.2.

One `OnvifCameraSimulator` is one camera on one HTTP port, because ONVIF clients build the
device service address as `http://host:port/onvif/device_service`. It answers the device,
media, PTZ and event services well enough for real clients (onvif-zeep-async among them):

- device: GetDeviceInformation, GetSystemDateAndTime (the one call allowed before
  authentication), GetServices, GetCapabilities, GetScopes;
- media: GetProfiles, GetProfile, GetStreamUri (each profile's RTSP URL, e.g. our RTSP camera
  simulator's `rtsp://.../cam/1` main stream and a smaller sub-stream);
- PTZ: ContinuousMove, Stop, AbsoluteMove, RelativeMove, GetStatus, GetPresets, SetPreset,
  GotoPreset, RemovePreset (a simulated head, `onvif_ptz`);
- events: CreatePullPointSubscription, PullMessages, Renew, Unsubscribe,
  SetSynchronizationPoint (`onvif_events`); `trigger_motion` and `trigger_tamper` raise events.

Every other call needs a valid WS-Security UsernameToken digest (`onvif_soap`); a wrong password
gets the NotAuthorized fault. `stop()` and `start()` again (same port) act as a reboot: state
stays, subscriptions are lost. `OnvifFleet` runs N cameras and one WS-Discovery responder.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Final, Self

import structlog
from aiohttp import web

from safecity.core.clock import Clock, SystemClock
from safecity.sim import onvif_device as device
from safecity.sim.onvif_device import DeviceIdentity, StreamProfile
from safecity.sim.onvif_events import EventService, SimNotification, SimTopic
from safecity.sim.onvif_events import subscription_times_xml as times_xml
from safecity.sim.onvif_ptz import (
    Position,
    PtzHead,
    duration_s,
    presets_xml,
    status_xml,
    vector,
)
from safecity.sim.onvif_soap import (
    SoapFault,
    SoapRequest,
    TokenChecker,
    child,
    envelope,
    fault_envelope,
    parse_request,
    text,
    timestamp,
)

_log = structlog.get_logger(__name__)

SOAP_CONTENT_TYPE: Final = "application/soap+xml"
PRE_AUTH: Final = frozenset({"GetSystemDateAndTime"})
MAX_PULL_TIMEOUT_S: Final = 60.0
SHUTDOWN_TIMEOUT_S: Final = 1.0
SCOPES: Final = (
    "onvif://www.onvif.org/type/video_encoder",
    "onvif://www.onvif.org/type/ptz",
    "onvif://www.onvif.org/Profile/Streaming",
    "onvif://www.onvif.org/hardware/SimCam",
)


@dataclass(frozen=True, slots=True)
class OnvifCameraConfig:
    profiles: tuple[StreamProfile, ...]
    username: str = "admin"
    password: str = "admin"  # noqa: S105 - a simulator's factory default
    identity: DeviceIdentity = field(default_factory=DeviceIdentity)
    name: str = "camera"
    endpoint: str = field(default_factory=lambda: f"urn:uuid:{uuid.uuid4()}")

    @property
    def scopes(self) -> tuple[str, ...]:
        return (*SCOPES, f"onvif://www.onvif.org/name/{self.name}")


@dataclass
class OnvifStats:
    requests: int = 0
    refused: int = 0  # NotAuthorized answers
    faults: int = 0  # other faults
    starts: int = 0


class OnvifCameraSimulator:
    """`async with OnvifCameraSimulator(config, port=0) as camera:` serves until the block ends."""

    def __init__(
        self,
        config: OnvifCameraConfig,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self.host = host
        self.port = port
        self.clock = clock or SystemClock()
        self.stats = OnvifStats()
        self.ptz = PtzHead(self.clock.monotonic)
        self.events = EventService()
        self._tokens = TokenChecker(config.username, config.password)
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Callable[[SoapRequest, datetime], str]] = {
            "GetDeviceInformation": lambda _r, _n: device.device_information(config.identity),
            "GetSystemDateAndTime": lambda _r, now: device.system_date_and_time(now),
            "GetServices": lambda _r, _n: device.services(self.base_url),
            "GetCapabilities": lambda _r, _n: device.capabilities(self.base_url),
            "GetScopes": lambda _r, _n: device.scopes(config.scopes),
            "GetProfiles": lambda _r, _n: device.profiles(config.profiles),
            "GetProfile": lambda r, _n: device.profile(config.profiles, _token(r)),
            "GetStreamUri": lambda r, _n: device.stream_uri(
                config.profiles, _token(r), text(r.operation, "Protocol")
            ),
            "ContinuousMove": self._continuous_move,
            "Stop": self._stop,
            "AbsoluteMove": self._absolute_move,
            "RelativeMove": self._relative_move,
            "GetStatus": self._status,
            "GetPresets": self._presets,
            "SetPreset": self._set_preset,
            "GotoPreset": self._goto_preset,
            "RemovePreset": self._remove_preset,
            "CreatePullPointSubscription": self._create_subscription,
            "SetSynchronizationPoint": lambda _r, _n: "<tev:SetSynchronizationPointResponse/>",
        }

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def device_url(self) -> str:
        return self.base_url + device.DEVICE_PATH

    # -- the handles of tests and the demo

    def trigger_motion(
        self, *, active: bool = True, topic: SimTopic = SimTopic.MOTION_ALARM
    ) -> None:
        self.events.publish(SimNotification(topic, active, self.clock.now()))

    def trigger_tamper(
        self, *, active: bool = True, topic: SimTopic = SimTopic.GLOBAL_SCENE_CHANGE
    ) -> None:
        self.events.publish(SimNotification(topic, active, self.clock.now()))

    # -- lifecycle

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(client_max_size=1 << 20)
        app.router.add_post("/onvif/{service:.+}", self._http)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        address = runner.addresses[0]
        self.port = int(address[1])
        self.stats.starts += 1
        _log.info("onvif_camera_serving", url=self.device_url, name=self.config.name)

    async def stop(self) -> None:
        """Close the port; a later `start()` is a reboot (subscriptions gone)."""
        runner, self._runner = self._runner, None
        self.events.close()
        if runner is not None:
            await runner.cleanup()

    # -- HTTP

    async def _http(self, request: web.Request) -> web.Response:
        self.stats.requests += 1
        path = request.path
        try:
            soap = parse_request(await request.read())
            now = self.clock.now()
            if soap.name not in PRE_AUTH:
                self._tokens.check(soap, now)
            body = await self._dispatch(path, soap, now)
        except SoapFault as fault:
            if fault.subcode == "ter:NotAuthorized":
                self.stats.refused += 1
            else:
                self.stats.faults += 1
            return web.Response(
                body=fault_envelope(fault), status=fault.status, content_type=SOAP_CONTENT_TYPE
            )
        return web.Response(body=envelope(body), content_type=SOAP_CONTENT_TYPE)

    async def _dispatch(self, path: str, request: SoapRequest, now: datetime) -> str:
        if path.startswith(device.SUBSCRIPTION_PATH):
            number = path.removeprefix(device.SUBSCRIPTION_PATH)
            if not number.isdigit():
                raise SoapFault("no such subscription", subcode="ter:InvalidArgVal")
            return await self._subscription_call(int(number), request, now)
        handler = self._handlers.get(request.name)
        if handler is None:
            raise SoapFault(
                f"{request.name} is not supported",
                subcode="ter:ActionNotSupported",
                code="s:Receiver",
                status=500,
            )
        return handler(request, now)

    # -- PTZ

    def _check_ptz_profile(self, request: SoapRequest) -> None:
        device.find_profile(self.config.profiles, _token(request))

    def _continuous_move(self, request: SoapRequest, _now: datetime) -> str:
        self._check_ptz_profile(request)
        velocity = vector(child(request.operation, "Velocity"))
        timeout_text = text(request.operation, "Timeout")
        timeout = duration_s(timeout_text) if timeout_text else None
        self.ptz.continuous_move(velocity, timeout)
        return "<tptz:ContinuousMoveResponse/>"

    def _stop(self, request: SoapRequest, _now: datetime) -> str:
        self._check_ptz_profile(request)
        self.ptz.stop(
            pan_tilt=text(request.operation, "PanTilt", "true") != "false",
            zoom=text(request.operation, "Zoom", "true") != "false",
        )
        return "<tptz:StopResponse/>"

    def _absolute_move(self, request: SoapRequest, _now: datetime) -> str:
        self._check_ptz_profile(request)
        self.ptz.move_to(vector(child(request.operation, "Position"), self.ptz.position()))
        return "<tptz:AbsoluteMoveResponse/>"

    def _relative_move(self, request: SoapRequest, _now: datetime) -> str:
        self._check_ptz_profile(request)
        self.ptz.move_by(vector(child(request.operation, "Translation"), Position()))
        return "<tptz:RelativeMoveResponse/>"

    def _status(self, request: SoapRequest, now: datetime) -> str:
        self._check_ptz_profile(request)
        return status_xml(self.ptz, now)

    def _presets(self, request: SoapRequest, _now: datetime) -> str:
        self._check_ptz_profile(request)
        return presets_xml(self.ptz)

    def _set_preset(self, request: SoapRequest, _now: datetime) -> str:
        self._check_ptz_profile(request)
        token = self.ptz.set_preset(
            text(request.operation, "PresetName") or None,
            text(request.operation, "PresetToken") or None,
        )
        return (
            "<tptz:SetPresetResponse>"
            f"<tptz:PresetToken>{token}</tptz:PresetToken></tptz:SetPresetResponse>"
        )

    def _goto_preset(self, request: SoapRequest, _now: datetime) -> str:
        self._check_ptz_profile(request)
        self.ptz.goto_preset(text(request.operation, "PresetToken"))
        return "<tptz:GotoPresetResponse/>"

    def _remove_preset(self, request: SoapRequest, _now: datetime) -> str:
        self._check_ptz_profile(request)
        self.ptz.remove_preset(text(request.operation, "PresetToken"))
        return "<tptz:RemovePresetResponse/>"

    # -- events

    def _create_subscription(self, request: SoapRequest, now: datetime) -> str:
        termination = text(request.operation, "InitialTerminationTime") or None
        subscription = self.events.create(now, termination)
        address = f"{self.base_url}{device.SUBSCRIPTION_PATH}{subscription.number}"
        return (
            "<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference>"
            f"<wsa:Address>{address}</wsa:Address></tev:SubscriptionReference>"
            f"{times_xml(subscription, now)}</tev:CreatePullPointSubscriptionResponse>"
        )

    async def _subscription_call(self, number: int, request: SoapRequest, now: datetime) -> str:
        name = request.name
        if name == "PullMessages":
            timeout = duration_s(text(request.operation, "Timeout", "PT5S"))
            limit = text(request.operation, "MessageLimit", "10")
            if timeout is None or not limit.isdigit():
                raise SoapFault("bad Timeout or MessageLimit", subcode="ter:InvalidArgVal")
            notifications = await self.events.pull(
                number, now, timeout_s=min(timeout, MAX_PULL_TIMEOUT_S), limit=max(1, int(limit))
            )
            later = self.clock.now()
            subscription = self.events.subscriptions.get(number)
            terminates = subscription.terminates if subscription is not None else later
            return (
                "<tev:PullMessagesResponse>"
                f"<tev:CurrentTime>{timestamp(later)}</tev:CurrentTime>"
                f"<tev:TerminationTime>{timestamp(terminates)}</tev:TerminationTime>"
                + "".join(n.xml() for n in notifications)
                + "</tev:PullMessagesResponse>"
            )
        if name == "Renew":
            subscription = self.events.renew(
                number, now, text(request.operation, "TerminationTime") or None
            )
            return (
                f"<wsnt:RenewResponse>{times_xml(subscription, now, renew=True)}"
                "</wsnt:RenewResponse>"
            )
        if name == "Unsubscribe":
            self.events.unsubscribe(number, now)
            return "<wsnt:UnsubscribeResponse/>"
        if name == "SetSynchronizationPoint":
            self.events.get(number, now)
            return "<tev:SetSynchronizationPointResponse/>"
        raise SoapFault(
            f"{name} is not supported on a subscription",
            subcode="ter:ActionNotSupported",
            code="s:Receiver",
            status=500,
        )


def _token(request: SoapRequest) -> str:
    return text(request.operation, "ProfileToken")
