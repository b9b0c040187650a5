"""WS-Discovery (April 2005 edition, as ONVIF uses it), sans-IO: the Probe and ProbeMatches
messages of SOAP-over-UDP device discovery, and the rule that decides whether a probe matches."""

from safecity.protocols.wsdiscovery.message import (
    DEVICE,
    MULTICAST_ADDRESS,
    NETWORK_VIDEO_TRANSMITTER,
    PORT,
    Message,
    Probe,
    ProbeMatch,
    ProbeMatches,
    QualifiedName,
    matches,
    parse,
)

__all__ = [
    "DEVICE",
    "MULTICAST_ADDRESS",
    "NETWORK_VIDEO_TRANSMITTER",
    "PORT",
    "Message",
    "Probe",
    "ProbeMatch",
    "ProbeMatches",
    "QualifiedName",
    "matches",
    "parse",
]
