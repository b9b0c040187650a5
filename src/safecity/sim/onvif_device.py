"""What the simulated camera says about itself: the device management service (ONVIF Core
§8, ver10 device WSDL) and the media service (ONVIF Media Service Specification, ver10 media
WSDL): identity, clock, services, capabilities, media profiles and their RTSP stream URIs.

Every function returns the SOAP Body content for one operation; `onvif.py` wraps and sends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from safecity.sim.onvif_soap import NAMESPACES, SoapFault

DEVICE_PATH: Final = "/onvif/device_service"
MEDIA_PATH: Final = "/onvif/media_service"
PTZ_PATH: Final = "/onvif/ptz_service"
EVENTS_PATH: Final = "/onvif/event_service"
SUBSCRIPTION_PATH: Final = "/onvif/subscription/"
PTZ_CONFIGURATION: Final = "PtzConfig_1"
PTZ_NODE: Final = "PtzNode_1"
VIDEO_SOURCE: Final = "VideoSource_1"


@dataclass(frozen=True, slots=True)
class StreamProfile:
    """One media profile: an encoder configuration and the RTSP URL that serves it."""

    token: str
    name: str
    url: str
    width: int
    height: int
    fps: float
    bitrate_kbps: int
    encoding: str = "H264"  # Media ver10 knows JPEG, MPEG4 and H264
    gov_length: int = 50


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    manufacturer: str = "safecity"
    model: str = "SimCam PTZ"
    firmware: str = "1.0.0"
    serial: str = "SIM0001"
    hardware: str = "sim"


def _e(value: object) -> str:
    return escape(str(value))


def device_information(identity: DeviceIdentity) -> str:
    return (
        "<tds:GetDeviceInformationResponse>"
        f"<tds:Manufacturer>{_e(identity.manufacturer)}</tds:Manufacturer>"
        f"<tds:Model>{_e(identity.model)}</tds:Model>"
        f"<tds:FirmwareVersion>{_e(identity.firmware)}</tds:FirmwareVersion>"
        f"<tds:SerialNumber>{_e(identity.serial)}</tds:SerialNumber>"
        f"<tds:HardwareId>{_e(identity.hardware)}</tds:HardwareId>"
        "</tds:GetDeviceInformationResponse>"
    )


def system_date_and_time(now: datetime) -> str:
    return (
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
        "<tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
        "<tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone><tt:UTCDateTime>"
        f"<tt:Time><tt:Hour>{now.hour}</tt:Hour><tt:Minute>{now.minute}</tt:Minute>"
        f"<tt:Second>{now.second}</tt:Second></tt:Time>"
        f"<tt:Date><tt:Year>{now.year}</tt:Year><tt:Month>{now.month}</tt:Month>"
        f"<tt:Day>{now.day}</tt:Day></tt:Date>"
        "</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
    )


def services(base: str) -> str:
    entries = [
        (NAMESPACES["tds"], DEVICE_PATH, 2, 60),
        (NAMESPACES["trt"], MEDIA_PATH, 2, 60),
        (NAMESPACES["tptz"], PTZ_PATH, 2, 60),
        (NAMESPACES["tev"], EVENTS_PATH, 2, 60),
    ]
    return (
        "<tds:GetServicesResponse>"
        + "".join(
            f"<tds:Service><tds:Namespace>{namespace}</tds:Namespace>"
            f"<tds:XAddr>{_e(base + path)}</tds:XAddr>"
            f"<tds:Version><tt:Major>{major}</tt:Major><tt:Minor>{minor}</tt:Minor></tds:Version>"
            "</tds:Service>"
            for namespace, path, major, minor in entries
        )
        + "</tds:GetServicesResponse>"
    )


def capabilities(base: str) -> str:
    return (
        "<tds:GetCapabilitiesResponse><tds:Capabilities>"
        f"<tt:Device><tt:XAddr>{_e(base + DEVICE_PATH)}</tt:XAddr></tt:Device>"
        f"<tt:Events><tt:XAddr>{_e(base + EVENTS_PATH)}</tt:XAddr>"
        "<tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport>"
        "<tt:WSPullPointSupport>true</tt:WSPullPointSupport>"
        "<tt:WSPausableSubscriptionManagerInterfaceSupport>false"
        "</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events>"
        f"<tt:Media><tt:XAddr>{_e(base + MEDIA_PATH)}</tt:XAddr>"
        "<tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast>"
        "<tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP>"
        "</tt:StreamingCapabilities></tt:Media>"
        f"<tt:PTZ><tt:XAddr>{_e(base + PTZ_PATH)}</tt:XAddr></tt:PTZ>"
        "</tds:Capabilities></tds:GetCapabilitiesResponse>"
    )


def scopes(values: tuple[str, ...]) -> str:
    return (
        "<tds:GetScopesResponse>"
        + "".join(
            f"<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>{_e(scope)}</tt:ScopeItem>"
            "</tds:Scopes>"
            for scope in values
        )
        + "</tds:GetScopesResponse>"
    )


def profile_xml(profile: StreamProfile, tag: str = "trt:Profiles") -> str:
    max_width = max(profile.width, 1)
    return (
        f'<{tag} token={quoteattr(profile.token)} fixed="true">'
        f"<tt:Name>{_e(profile.name)}</tt:Name>"
        f'<tt:VideoSourceConfiguration token="VideoSourceConfig_1">'
        "<tt:Name>VideoSourceConfig</tt:Name><tt:UseCount>2</tt:UseCount>"
        f"<tt:SourceToken>{VIDEO_SOURCE}</tt:SourceToken>"
        f'<tt:Bounds x="0" y="0" width="{max_width}" height="{profile.height}"/>'
        "</tt:VideoSourceConfiguration>"
        f"<tt:VideoEncoderConfiguration token={quoteattr('Encoder_' + profile.token)}>"
        f"<tt:Name>{_e(profile.name)}</tt:Name><tt:UseCount>1</tt:UseCount>"
        f"<tt:Encoding>{_e(profile.encoding)}</tt:Encoding>"
        f"<tt:Resolution><tt:Width>{profile.width}</tt:Width>"
        f"<tt:Height>{profile.height}</tt:Height></tt:Resolution>"
        "<tt:Quality>5</tt:Quality>"
        f"<tt:RateControl><tt:FrameRateLimit>{round(profile.fps)}</tt:FrameRateLimit>"
        "<tt:EncodingInterval>1</tt:EncodingInterval>"
        f"<tt:BitrateLimit>{profile.bitrate_kbps}</tt:BitrateLimit></tt:RateControl>"
        f"<tt:H264><tt:GovLength>{profile.gov_length}</tt:GovLength>"
        "<tt:H264Profile>Main</tt:H264Profile></tt:H264>"
        "<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address>"
        "</tt:Address><tt:Port>0</tt:Port><tt:TTL>1</tt:TTL><tt:AutoStart>false</tt:AutoStart>"
        "</tt:Multicast><tt:SessionTimeout>PT60S</tt:SessionTimeout>"
        "</tt:VideoEncoderConfiguration>"
        f'<tt:PTZConfiguration token="{PTZ_CONFIGURATION}">'
        f"<tt:Name>PTZ</tt:Name><tt:UseCount>2</tt:UseCount><tt:NodeToken>{PTZ_NODE}</tt:NodeToken>"
        "<tt:DefaultPTZTimeout>PT5S</tt:DefaultPTZTimeout>"
        "</tt:PTZConfiguration>"
        f"</{tag}>"
    )


def profiles(values: tuple[StreamProfile, ...]) -> str:
    return (
        "<trt:GetProfilesResponse>"
        + "".join(profile_xml(p) for p in values)
        + "</trt:GetProfilesResponse>"
    )


def find_profile(values: tuple[StreamProfile, ...], token: str) -> StreamProfile:
    for profile in values:
        if profile.token == token:
            return profile
    raise SoapFault(f"no profile {token!r}", subcode="ter:NoProfile")


def profile(values: tuple[StreamProfile, ...], token: str) -> str:
    chosen = find_profile(values, token)
    return f"<trt:GetProfileResponse>{profile_xml(chosen, 'trt:Profile')}</trt:GetProfileResponse>"


def stream_uri(values: tuple[StreamProfile, ...], token: str, protocol: str) -> str:
    if protocol not in {"RTSP", "TCP", ""}:
        raise SoapFault(
            f"stream transport {protocol} not offered",
            subcode="ter:InvalidStreamSetup",
        )
    chosen = find_profile(values, token)
    return (
        "<trt:GetStreamUriResponse><trt:MediaUri>"
        f"<tt:Uri>{_e(chosen.url)}</tt:Uri>"
        "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>"
        "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
        "<tt:Timeout>PT0S</tt:Timeout>"
        "</trt:MediaUri></trt:GetStreamUriResponse>"
    )
