"""SIA DC-09 over TCP and UDP: the alarm receiving centre's listeners (ACK after storing)."""

from safecity.adapters.dc09.accounts import AccountCache, RateLimitedWarning
from safecity.adapters.dc09.server import Dc09Server, ListenOptions, ReceiverStats, SignalSink

__all__ = [
    "AccountCache",
    "Dc09Server",
    "ListenOptions",
    "RateLimitedWarning",
    "ReceiverStats",
    "SignalSink",
]
