"""One recording platform per media root.

Two platforms recording into one folder (two nodes given the same share, a second `serve`
started by mistake) would undo each other: camera ids from two stores meet in the same
camera folders, each one's crash salvage indexes the other's open files, and each one's
retention sees a disk filled by both. So the recording job holds an exclusive `flock` on
`.safecity-recording.lock` in the root for as long as it runs; the second is refused with
who holds it (`MediaRootInUse`); `hold` waits for it, saying so once, and so takes over when
the first stops: a standby node on a shared folder. The kernel drops the lock of a process
that dies, and on NFS the server does when the holder's lease runs out (Linux maps `flock` to
NFS locks).

Reading the root (playback, export, the evidence CLI) takes no lock.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Final

import structlog

from safecity.core.errors import Conflict

_log = structlog.get_logger(__name__)

LOCK_NAME: Final = ".safecity-recording.lock"
RETRY_S: Final = 5.0


class MediaRootInUse(Conflict):
    """Another platform records into this media root."""


class MediaRootLock:
    """The lock, held from `acquire` until `release` (or the end of a `with`)."""

    def __init__(self, root: Path) -> None:
        self.path = root / LOCK_NAME
        self._fd = -1

    @property
    def held(self) -> bool:
        return self._fd >= 0

    def acquire(self) -> None:
        """Take the lock, or raise `MediaRootInUse` naming its holder."""
        if self.held:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise MediaRootInUse(
                f"the media root {self.path.parent} is being recorded into by another "
                f"platform ({holder}); give each node its own media.root"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        started = datetime.now(UTC).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {started}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the only descriptor drops the lock
            self._fd = -1

    def __enter__(self) -> MediaRootLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


async def hold(lock: MediaRootLock, *, retry_s: float = RETRY_S) -> None:
    """Acquire `lock`, waiting for as long as another platform holds it."""
    waited = False
    while True:
        try:
            lock.acquire()
        except MediaRootInUse as exc:
            if not waited:
                _log.warning("recording.root_in_use", error=str(exc), retry_s=retry_s)
                waited = True
            await asyncio.sleep(retry_s)
            continue
        if waited:
            _log.info("recording.root_free", root=str(lock.path.parent))
        return
