"""The error tree. Third-party exceptions are mapped onto it once, at each boundary."""

from __future__ import annotations


class SafecityError(Exception):
    """Root of every error safecity raises on purpose."""


class ConfigError(SafecityError):
    """A permanent configuration problem: fix the file, then restart."""


class ProtocolError(SafecityError):
    """A peer or we broke a wire protocol."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol does not allow."""


class LocalProtocolError(ProtocolError):
    """We were asked to send something the protocol does not allow."""


class DeviceUnavailable(SafecityError):
    """A device did not answer; retry with backoff."""


class DeviceAuthFailed(SafecityError):
    """A device refused our credentials; stop and alert."""


class NotFound(SafecityError):
    """The object does not exist, or lies outside the caller's scope (never say which)."""


class PermissionDenied(SafecityError):
    """The caller sees the object but its role may not do this to it."""


class Conflict(SafecityError):
    """The change clashes with existing data (a duplicate id, a non-empty parent)."""


class ValidationFailed(SafecityError):
    """Input broke a domain rule; the message says which field and why."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class AuthenticationFailed(SafecityError):
    """Wrong credentials, or an unknown, expired or revoked token."""


class AccountLocked(AuthenticationFailed):
    """Too many failed sign-ins; the account is locked until the given time."""


class RateLimited(SafecityError):
    """Too many attempts from one source; try again after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailable(SafecityError):
    """The store did not answer; nothing was committed."""


class EvidenceError(SafecityError):
    """An evidence export could not be made or checked: a recorded file is missing, unreadable
    or cannot be joined into one clip, or an exported file or its manifest cannot be read."""
