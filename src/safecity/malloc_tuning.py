"""Heap settings for the long-running commands, `serve` and `demo`, on Linux with glibc.

Why: each camera keeps its last 30 s of packets in memory for pre-alarm clips, about 1.5 GB
at 200 cameras, so every packet lands in memory last touched 30 s before. With the malloc
heap in 4 KiB pages that reuse is slow in a virtual machine (here a third of recording's CPU
was the kernel copying segment writes out of such memory). In 2 MiB transparent huge pages it
is not: 200 cameras recorded for 18 % less CPU (see docs/PERFORMANCE.md).

glibc asks the kernel for huge pages only when told to (`glibc.malloc.hugetlb=1`), only for
the main arena's heap (hence one arena), and reads its tunables only when a process starts.
So these commands restart themselves once, first thing, with `GLIBC_TUNABLES` set: same
process id, same arguments; the ingest workers and the DC-09 receiver inherit it. Setting
`GLIBC_TUNABLES` yourself, even to nothing, keeps whatever you chose.

Standard library only: it runs before anything else is imported.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

LONG_RUNNING: Final = frozenset({"serve", "demo"})
TUNABLES: Final = ":".join(
    (
        "glibc.malloc.hugetlb=1",  # madvise(MADV_HUGEPAGE) the heap as it grows
        "glibc.malloc.arena_max=1",  # glibc madvises only the main arena, so use only it
        "glibc.malloc.mmap_threshold=33554432",  # packets and frames from the heap, not mmap
        "glibc.malloc.top_pad=268435456",  # grow the heap in steps huge pages can fill
        "glibc.malloc.trim_threshold=4294967296",  # never hand back (and split) huge pages
    )
)
HUGE_PAGES_SINCE: Final = (2, 35)  # the glibc that brought glibc.malloc.hugetlb
THP_MODES: Final = Path("/sys/kernel/mm/transparent_hugepage/enabled")


def glibc_version() -> tuple[int, int] | None:
    """(major, minor) of the C library this process runs on, None if it is not glibc."""
    try:
        name, _, version = (os.confstr("CS_GNU_LIBC_VERSION") or "").partition(" ")
    except (ValueError, OSError, AttributeError):
        return None
    major, _, minor = version.partition(".")
    if name != "glibc" or not major.isdigit():
        return None
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


def huge_pages_on_request(modes: str) -> bool:
    """Whether the kernel's transparent huge page setting (`always [madvise] never`, the
    bracket marking the one in force) grants them to memory that asks."""
    return "[always]" in modes or "[madvise]" in modes


def tunables_wanted(
    command: Sequence[str], environ: Mapping[str, str], glibc: tuple[int, int] | None, thp: str
) -> bool:
    """Whether `safecity COMMAND` should restart with `TUNABLES`: a long-running command, on a
    glibc that knows them and a kernel that grants huge pages, with no choice made already."""
    return (
        bool(command)
        and command[0] in LONG_RUNNING
        and "GLIBC_TUNABLES" not in environ
        and glibc is not None
        and glibc >= HUGE_PAGES_SINCE
        and huge_pages_on_request(thp)
    )


def thp_modes() -> str:
    """The kernel's transparent huge page setting, empty where it has none."""
    try:
        return THP_MODES.read_text()
    except OSError:
        return ""


def restart_with_malloc_tunables(command: Sequence[str]) -> None:
    """Exec this very command line again with `GLIBC_TUNABLES` set when `tunables_wanted`;
    otherwise, or if the exec fails, return and run as started."""
    if not sys.platform.startswith("linux") or not sys.executable:
        return
    if not tunables_wanted(command, os.environ, glibc_version(), thp_modes()):
        return
    environ = {**os.environ, "GLIBC_TUNABLES": TUNABLES}
    try:
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], environ)  # noqa: S606
    except OSError:
        return
