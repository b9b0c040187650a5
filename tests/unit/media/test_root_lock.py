"""One recording platform per media root: a second is refused with who holds the root, takes
it once the first lets go or dies, and `hold` waits for it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from safecity.media.root_lock import LOCK_NAME, MediaRootInUse, MediaRootLock, hold

HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
os.pwrite(fd, b"pid %d on the other node" % os.getpid(), 0)
print("held", flush=True)
time.sleep(60)
"""


def test_a_second_platform_is_refused_with_who_holds_the_root(tmp_path: Path) -> None:
    root = tmp_path / "recordings"
    first = MediaRootLock(root)
    first.acquire()
    second = MediaRootLock(root)

    with pytest.raises(MediaRootInUse) as refused:
        second.acquire()

    message = str(refused.value)
    assert str(root) in message
    assert f"pid {os.getpid()} on " in message
    assert "media.root" in message
    assert not second.held
    first.release()
    second.acquire()  # the first let go
    assert second.held
    second.release()


def test_the_lock_of_a_process_that_dies_is_dropped(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    other = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / LOCK_NAME)], stdout=subprocess.PIPE
    )
    try:
        assert other.stdout is not None
        assert other.stdout.readline() == b"held\n"
        with pytest.raises(MediaRootInUse, match=f"pid {other.pid} on the other node"):
            MediaRootLock(tmp_path).acquire()
    finally:
        other.kill()
        other.wait()
        if other.stdout is not None:
            other.stdout.close()

    with MediaRootLock(tmp_path) as lock:
        assert lock.held
        assert f"pid {os.getpid()}" in lock.path.read_text()
    assert not lock.held


async def test_hold_waits_until_the_root_is_free(tmp_path: Path) -> None:
    first = MediaRootLock(tmp_path)
    first.acquire()
    second = MediaRootLock(tmp_path)
    waiting = asyncio.ensure_future(hold(second, retry_s=0.02))

    await asyncio.sleep(0.1)
    assert not waiting.done()  # a standby
    first.release()
    await asyncio.wait_for(waiting, 2)

    assert second.held
    second.release()
