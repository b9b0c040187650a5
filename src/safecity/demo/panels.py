"""The demo's alarm panels: simulated DC-09 panels for the seeded accounts, against the
platform's own receiver, so operators see a live alarm queue from the first minute."""

from __future__ import annotations

import asyncio
from typing import Final

import structlog

from safecity.protocols.dc09 import AesKey
from safecity.sim.panels import PanelFleet, SimConfig, demo_panels

_log = structlog.get_logger(__name__)

UDP_SHARE: Final = 0.2  # some panels report over UDP, as cheaper IP communicators do


def demo_fleet(
    accounts: list[tuple[str, str | None]],
    *,
    host: str,
    tcp_port: int,
    udp_port: int | None,
    rate: float,
) -> PanelFleet:
    """Panels for the seeded accounts (key hex or None), `rate` new messages per second in all,
    retransmitting until ACKed as real panels do, for as long as the demo runs."""
    config = SimConfig(
        host=host,
        port=tcp_port,
        udp_port=udp_port,
        rate=rate,
        ack_timeout_s=5.0,
        retries=None,
        seed=7,
    )
    panels = [(number, AesKey.from_hex(key) if key else None) for number, key in accounts]
    return PanelFleet(config, demo_panels(panels, udp_share=UDP_SHARE if udp_port else 0.0))


async def run_fleet(fleet: PanelFleet) -> None:
    """Run until cancelled; a failure is logged, never allowed to stop the demo."""
    try:
        await fleet.run()
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 (the demo's panels are a garnish; the platform goes on)
        _log.exception("demo.panels_failed")
