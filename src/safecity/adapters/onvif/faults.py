"""The one place where onvif-zeep-async, zeep and aiohttp exceptions become safecity errors.

- no answer (refused, reset, DNS, timeout, HTTP 5xx without a SOAP body) -> `DeviceUnavailable`
  (retry with backoff);
- `ter:NotAuthorized` faults, and HTTP 401/403 -> `DeviceAuthFailed` (stop and alert);
- any other SOAP fault, unreadable XML, a service the camera lacks -> `RemoteProtocolError`.

Messages name the camera by address only: never a password.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

import aiohttp
import zeep.exceptions

from safecity.adapters.onvif.library import ONVIFAuthError, ONVIFError, ONVIFTimeoutError
from safecity.core.errors import DeviceAuthFailed, DeviceUnavailable, RemoteProtocolError

NOT_AUTHORIZED: Final = "NotAuthorized"
_AUTH_STATUS: Final = frozenset({401, 403})


def fault_subcodes(fault: zeep.exceptions.Fault) -> list[str]:
    """The fault's subcode values (`ter:NotAuthorized`, ...), as text."""
    subcodes = fault.subcodes
    if subcodes is None:
        return []
    items = subcodes if isinstance(subcodes, list) else [subcodes]
    return [str(getattr(code, "text", code)) for code in items]


def is_auth_fault(fault: zeep.exceptions.Fault) -> bool:
    """ONVIF Core §5.11.2.4 says `ter:NotAuthorized`; some firmware only says so in words."""
    if any(code.endswith(NOT_AUTHORIZED) for code in fault_subcodes(fault)):
        return True
    reason = str(fault.message or "").lower()
    return "authoriz" in reason or "authentica" in reason


def translate(exc: BaseException, address: str, action: str) -> Exception | None:  # noqa: PLR0911 - one return per family of error
    """The safecity error for a third-party exception, or None when it is not one of theirs."""
    where = f"{action} at {address}"
    if isinstance(exc, zeep.exceptions.Fault):
        if is_auth_fault(exc):
            return DeviceAuthFailed(f"{where}: the camera refused our credentials")
        return RemoteProtocolError(f"{where}: fault {exc.message} {fault_subcodes(exc)}")
    if isinstance(exc, zeep.exceptions.TransportError):
        if exc.status_code in _AUTH_STATUS:
            return DeviceAuthFailed(f"{where}: HTTP {exc.status_code}")
        if exc.status_code >= 500 or exc.status_code == 0:
            return DeviceUnavailable(f"{where}: HTTP {exc.status_code}")
        return RemoteProtocolError(f"{where}: HTTP {exc.status_code}")
    if isinstance(exc, ONVIFAuthError):
        return DeviceAuthFailed(f"{where}: the camera refused our credentials")
    if isinstance(exc, TimeoutError | ONVIFTimeoutError):
        return DeviceUnavailable(f"{where}: no answer in time")
    if isinstance(exc, aiohttp.ClientError | ConnectionError):
        return DeviceUnavailable(f"{where}: {type(exc).__name__}")
    if isinstance(exc, zeep.exceptions.Error):  # XMLSyntaxError, XMLParseError, ValidationError
        return RemoteProtocolError(f"{where}: unreadable answer ({type(exc).__name__})")
    if isinstance(exc, ONVIFError):
        cause = exc.__cause__
        if cause is not None and (mapped := translate(cause, address, action)) is not None:
            return mapped
        return RemoteProtocolError(f"{where}: {exc}")
    return None


@asynccontextmanager
async def onvif_errors(address: str, action: str) -> AsyncIterator[None]:
    """`async with onvif_errors(address, "GetProfiles"): ...` raises only safecity errors
    for what the libraries raise (programming errors pass through untouched)."""
    try:
        yield
    except (
        zeep.exceptions.Error,
        ONVIFError,
        aiohttp.ClientError,
        ConnectionError,
        TimeoutError,
    ) as exc:
        mapped = translate(exc, address, action)
        if mapped is None:  # pragma: no cover - every caught type maps
            raise
        raise mapped from exc
