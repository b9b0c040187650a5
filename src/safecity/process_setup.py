"""How each process of the platform starts: structured logging, for a child process (the
DC-09 receiver, an ingest worker) dying with its parent and leaving Ctrl-C to it, and for every
long-running one the heap it built while starting kept out of the garbage collector's way.

Kept apart from `app` so a child process does not import the whole composition root (the API,
the store, every service: seconds and a hundred megabytes) just to log like its parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import signal
import sys
from typing import Final

import structlog

from safecity.settings import LogSettings

PR_SET_PDEATHSIG: Final = 1


def configure_logging(settings: LogSettings) -> None:
    level = getattr(logging, settings.level.upper())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if settings.json_lines
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")


def die_with_parent() -> None:
    """Linux: SIGKILL this process when its parent dies (elsewhere the child notices its pipe
    closing instead)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def start_child(log: LogSettings) -> None:
    """What a child process does first: die with the platform, ignore Ctrl-C (it reaches the
    platform, which stops its children), log as the platform does."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging(log)


def freeze_startup_heap() -> None:
    """Call once a process has started (modules imported, services built): move every object
    alive now to the collector's permanent generation. They live as long as the process, and
    without this each full collection walks them all: in `serve`, about a million objects, a
    125 ms pause in the middle of alarm processing at 1,000 alarms/s (measured with
    `gc.callbacks`), which made the p99 of alarm-to-screen. Objects made later are collected as
    usual."""
    gc.collect()
    gc.freeze()
