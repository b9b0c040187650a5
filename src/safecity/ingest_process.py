"""An ingest worker process (`media.ingest_workers` >= 1), a composition root like `app` and
`receiver_process`: it builds the engines for its shard of the cameras (`media.engine`: the
native pull loop, `adapters.rtsp.pull_loop`, on one selector thread, PyAV recorder threads, the
segment writers) and hands them to `media.ingest_worker`, which runs them and talks to the
platform over the two pipes it was given. The platform side is `media.worker_pool`.

It touches neither the store nor the bus: what it needs from the store comes in its shard, and
what it finds goes up as reports. It dies with the platform (the parent-death signal, or the
pipe closing) and is started again by the platform if it dies alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from safecity.adapters.rtsp.pull_loop import PullOptions, RtspPullLoop
from safecity.core.clock import SystemClock
from safecity.media.engine import IngestHost, RecordingOptions
from safecity.media.ingest_worker import WorkerShard, serve
from safecity.process_setup import freeze_startup_heap, start_child
from safecity.settings import LogSettings


@dataclass(frozen=True)
class IngestJob:
    """What every ingest worker is given (pickled to it), besides its shard."""

    root: Path  # the recordings root the segment files go under
    options: RecordingOptions
    pull: PullOptions
    log: LogSettings


def ingest_main(job: IngestJob, shard: WorkerShard, down: Connection, up: Connection) -> None:
    """An ingest worker process's entry point."""
    start_child(job.log)
    host = IngestHost(job.root, SystemClock(), job.options, pull=RtspPullLoop(job.pull))
    freeze_startup_heap()
    serve(host, shard, down, up)
