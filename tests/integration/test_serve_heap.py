"""`safecity serve` restarts itself, first thing and once, with glibc's heap tunables (see
`safecity.malloc_tuning`); its child processes inherit them; a choice the operator made is
kept. Real processes, read through /proc."""

from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path

import pytest

from safecity.malloc_tuning import TUNABLES, glibc_version, thp_modes, tunables_wanted
from tests.integration.serve_process import children, serving

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux")
    or not tunables_wanted(["serve"], {}, glibc_version(), thp_modes()),
    reason="the heap tunables apply only on Linux with glibc 2.35+ and transparent huge pages",
)


def _tunables(pid: int) -> str | None:
    """GLIBC_TUNABLES as process `pid` started with it. Read from /proc, where glibc, as it
    parses the variable, has turned each `:` between tunables into a NUL."""
    entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    for at, entry in enumerate(entries):
        if entry.startswith(b"GLIBC_TUNABLES="):
            parts = [entry.removeprefix(b"GLIBC_TUNABLES=")]
            parts += itertools.takewhile(lambda part: part.startswith(b"glibc."), entries[at + 1 :])
            return b":".join(part for part in parts if part).decode()
    return None


def _without_tunables() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name != "GLIBC_TUNABLES"}


def test_serve_and_its_receiver_process_run_with_the_heap_tunables(tmp_path: Path) -> None:
    with serving(tmp_path, _without_tunables()) as serve:
        pid = serve.pid
        assert _tunables(pid) == TUNABLES  # the same pid, restarted
        found = children(pid)
        give_up = time.monotonic() + 30  # the receiver starts beside the API, maybe after it
        while not found and time.monotonic() < give_up:
            time.sleep(0.2)
            found = children(pid)
        assert found, "the receiver should run in a process of its own"
        for child in found:
            assert _tunables(child) == TUNABLES


@pytest.mark.parametrize("chosen", ["", "glibc.malloc.arena_max=2"])
def test_serve_keeps_the_tunables_the_operator_chose(tmp_path: Path, chosen: str) -> None:
    with serving(tmp_path, {**_without_tunables(), "GLIBC_TUNABLES": chosen}) as serve:
        assert _tunables(serve.pid) == chosen
