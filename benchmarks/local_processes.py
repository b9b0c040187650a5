"""What the benchmarks need to run peers as local processes: a free port, waiting until
something listens on it, and the CPU a process has used (from /proc, Linux)."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_port(port: int, within_s: float = 60) -> None:
    """Return once 127.0.0.1:`port` accepts a connection; exit the benchmark if it never does."""
    give_up = time.monotonic() + within_s
    while time.monotonic() < give_up:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            time.sleep(0.2)
        else:
            return
    raise SystemExit(f"nothing listens on {port}")


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    """`cpu_s` of a process and of its running children (a receiver in its own process)."""
    total = cpu_s(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            total += cpu_s(int(stat.parent.name))
    return total
