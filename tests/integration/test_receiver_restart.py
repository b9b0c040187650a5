"""The DC-09 receiver in a process of its own dies alone (SIGKILL, as the OOM killer would):
the platform says so, with the signal, and starts another. Real processes, read through /proc."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.serve_process import children, command_line, serving

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the processes from /proc"
)


def _receivers(pid: int) -> list[int]:
    """The platform's spawned children (the receiver; not multiprocessing's resource tracker)."""
    return [child for child in children(pid) if "spawn_main" in command_line(child)]


def _wait_for(probe: Callable[[], list[int]], seconds: float) -> list[int]:
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    return []


def _line_with(serve: subprocess.Popen[bytes], text: bytes, seconds: float) -> bytes | None:
    assert serve.stderr is not None
    give_up = time.monotonic() + seconds
    while (left := give_up - time.monotonic()) > 0:
        ready, _, _ = select.select([serve.stderr], [], [], left)
        if not ready:
            break
        line = serve.stderr.readline()
        if not line:
            break
        if text in line:
            return line
    return None


def test_a_receiver_process_that_dies_alone_is_reported_and_replaced(tmp_path: Path) -> None:
    with serving(tmp_path, dict(os.environ)) as serve:
        first = _wait_for(lambda: _receivers(serve.pid), 30)
        assert first, "the receiver should run in a process of its own"
        (receiver,) = first

        os.kill(receiver, signal.SIGKILL)

        line = _line_with(serve, b"dc09.receiver_process.died", 15)
        assert line is not None, "the platform should say its receiver died"
        assert b"exitcode=-9" in line or b'"exitcode": -9' in line, line
        again = _wait_for(lambda: [p for p in _receivers(serve.pid) if p != receiver], 15)
        assert again, "a new receiver should be started"
        assert serve.poll() is None  # the platform goes on
