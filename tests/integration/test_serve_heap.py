"""`safecity serve` restarts itself, first thing and once, with glibc's heap tunables (see
`safecity.malloc_tuning`); its child processes inherit them; a choice the operator made is
kept. Real processes, read through /proc."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from safecity.malloc_tuning import TUNABLES, glibc_version, thp_modes, tunables_wanted
from safecity.store.secretbox import SecretBox

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


def _children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            lines = status.read_text().splitlines()
        except OSError:
            continue  # ended meanwhile
        if f"PPid:\t{pid}" in lines:
            found.append(int(status.parent.name))
    return found


@contextmanager
def _serving(tmp_path: Path, environ: dict[str, str]) -> Iterator[int]:
    """`safecity serve` with its DC-09 receiver in a process of its own, until it listens."""
    config = tmp_path / "safecity.yaml"
    config.write_text(
        f"store:\n  url: sqlite:///{tmp_path / 'store.db'}\n"
        f"security:\n  master_key: {SecretBox.new_key()}\n"
        "api:\n  host: 127.0.0.1\n  port: 0\n"
        "receiver:\n  host: 127.0.0.1\n  tcp_port: 0\n  udp_port: 0\n  own_process: true\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "safecity", "serve", "--config", str(config)]
    with subprocess.Popen(command, cwd=tmp_path, env=environ, stderr=subprocess.PIPE) as serve:
        try:
            assert serve.stderr is not None
            give_up = time.monotonic() + 90
            while b"safecity listening on" not in serve.stderr.readline():
                assert serve.poll() is None, "serve exited before it listened"
                assert time.monotonic() < give_up, "serve did not listen within 90 s"
            yield serve.pid
        finally:
            serve.kill()


def _without_tunables() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name != "GLIBC_TUNABLES"}


def test_serve_and_its_receiver_process_run_with_the_heap_tunables(tmp_path: Path) -> None:
    with _serving(tmp_path, _without_tunables()) as pid:
        assert _tunables(pid) == TUNABLES  # the same pid, restarted
        children = _children(pid)
        give_up = time.monotonic() + 30  # the receiver starts beside the API, maybe after it
        while not children and time.monotonic() < give_up:
            time.sleep(0.2)
            children = _children(pid)
        assert children, "the receiver should run in a process of its own"
        for child in children:
            assert _tunables(child) == TUNABLES


@pytest.mark.parametrize("chosen", ["", "glibc.malloc.arena_max=2"])
def test_serve_keeps_the_tunables_the_operator_chose(tmp_path: Path, chosen: str) -> None:
    with _serving(tmp_path, {**_without_tunables(), "GLIBC_TUNABLES": chosen}) as pid:
        assert _tunables(pid) == chosen
