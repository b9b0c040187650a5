"""`safecity serve` as a real process for the tests that need one: started on a fresh SQLite
store with its DC-09 receiver in a process of its own, and its child processes read from /proc."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from safecity.store.secretbox import SecretBox


def children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            lines = status.read_text().splitlines()
        except OSError:
            continue  # ended meanwhile
        if f"PPid:\t{pid}" in lines:
            found.append(int(status.parent.name))
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""  # ended meanwhile


@contextmanager
def serving(tmp_path: Path, environ: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`safecity serve` with its DC-09 receiver in a process of its own, until it listens;
    its stderr is left to read."""
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
            yield serve
        finally:
            serve.kill()
