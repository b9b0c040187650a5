"""Third-party exceptions become safecity errors at the ONVIF boundary, once."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
import pytest
import zeep.exceptions

from safecity.adapters.onvif.faults import is_auth_fault, onvif_errors, translate
from safecity.adapters.onvif.library import ONVIFAuthError, ONVIFError
from safecity.core.errors import DeviceAuthFailed, DeviceUnavailable, RemoteProtocolError

ADDRESS = "10.0.0.7:80"


@dataclass(frozen=True)
class Value:
    """What zeep puts in `Fault.subcodes`: `soap:Value` elements, read through `.text`."""

    text: str


def subcode(text: str) -> Value:
    return Value(text)


def fault(message: str, subcodes: object = None) -> zeep.exceptions.Fault:
    return zeep.exceptions.Fault(message, subcodes=subcodes)  # type: ignore[no-untyped-call]  # zeep is untyped


def transport(status: int) -> zeep.exceptions.TransportError:
    return zeep.exceptions.TransportError(status_code=status)  # type: ignore[no-untyped-call]  # zeep is untyped


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (fault("Sender not Authorized", subcodes=[subcode("ter:NotAuthorized")]),
         DeviceAuthFailed),
        (fault("The action requested requires authorization"), DeviceAuthFailed),
        (fault("Invalid argument"), RemoteProtocolError),
        (fault("Unauthorized"), DeviceAuthFailed),
        (fault("no profile", subcodes=[subcode("ter:NoProfile")]),
         RemoteProtocolError),
        (transport(401), DeviceAuthFailed),
        (transport(503), DeviceUnavailable),
        (transport(404), RemoteProtocolError),
        (zeep.exceptions.XMLSyntaxError("bad"), RemoteProtocolError),  # type: ignore[no-untyped-call]
        (ONVIFAuthError("401"), DeviceAuthFailed),
        (TimeoutError(), DeviceUnavailable),
        (aiohttp.ServerDisconnectedError(), DeviceUnavailable),
        (ConnectionRefusedError(), DeviceUnavailable),
        (ONVIFError("Device doesn`t support service: ptz"), RemoteProtocolError),
    ],
)  # fmt: skip
def test_each_family_of_error_maps_to_one_safecity_error(
    exc: Exception, expected: type[Exception]
) -> None:
    mapped = translate(exc, ADDRESS, "GetProfiles")
    assert type(mapped) is expected
    assert ADDRESS in str(mapped)
    assert "GetProfiles" in str(mapped)


def test_an_onvif_error_is_judged_by_its_cause() -> None:
    wrapped = ONVIFError("Unknown error")
    wrapped.__cause__ = aiohttp.ClientConnectionError()
    assert isinstance(translate(wrapped, ADDRESS, "connect"), DeviceUnavailable)


def test_not_authorized_is_recognised_by_its_subcode() -> None:
    assert is_auth_fault(fault("x", subcodes=[subcode("ter:NotAuthorized")]))
    assert not is_auth_fault(fault("x", subcodes=subcode("ter:InvalidArgVal")))


async def test_the_context_manager_raises_from_the_original() -> None:
    original = aiohttp.ClientConnectionError("refused")
    with pytest.raises(DeviceUnavailable) as raised:
        async with onvif_errors(ADDRESS, "GetStatus"):
            raise original
    assert raised.value.__cause__ is original


async def test_programming_errors_pass_through_untouched() -> None:
    with pytest.raises(KeyError):
        async with onvif_errors(ADDRESS, "GetStatus"):
            raise KeyError("bug")
