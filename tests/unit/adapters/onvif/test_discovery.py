"""What a discovered camera's ProbeMatch says about where to reach it; the adapter's import."""

from __future__ import annotations

import subprocess
import sys

from safecity.adapters.onvif import DiscoveredCamera
from safecity.protocols.wsdiscovery import NETWORK_VIDEO_TRANSMITTER


def test_a_discovered_camera_gives_host_and_port_of_its_first_http_address() -> None:
    def camera(*xaddrs: str) -> DiscoveredCamera:
        return DiscoveredCamera("urn:x", xaddrs, (), (NETWORK_VIDEO_TRANSMITTER,), "10.0.0.7")

    assert camera("http://10.0.0.7/onvif/device_service").host_port == ("10.0.0.7", 80)
    assert camera("https://cam.local/onvif").host_port == ("cam.local", 443)
    assert camera("soap.udp://x:1", "http://[fe80::1]:8080/onvif").host_port == ("fe80::1", 8080)
    assert camera("http://10.0.0.7:99999/onvif").host_port is None
    assert camera().host_port is None


def test_importing_the_adapter_leaves_the_root_logger_alone() -> None:
    script = (
        "import logging; root = logging.getLogger(); before = (root.level, list(root.handlers))\n"
        "import safecity.adapters.onvif\n"
        "assert (root.level, list(root.handlers)) == before, (root.level, root.handlers)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
