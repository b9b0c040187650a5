"""The media side of the composition root (`app`): how recording, retention, the RTSP push
point and the lookups the media features need (a camera, an alarm, within the caller's scope)
are built from the settings. Wiring only: no behaviour of its own.
"""

from __future__ import annotations

from datetime import timedelta

from safecity.adapters.rtsp.pull_loop import PullOptions, RtspPullLoop
from safecity.adapters.rtsp.push_server import PushOptions, PushServer
from safecity.alarms.service import AlarmService
from safecity.bus.memory import MemoryBus
from safecity.core.clock import Clock
from safecity.core.errors import NotFound
from safecity.core.scope import Scope
from safecity.ingest_process import IngestJob, ingest_main
from safecity.media.cameras import CameraLookup, CameraRef
from safecity.media.index import RecordingIndex
from safecity.media.prealarm import AlarmLookup, AlarmRef
from safecity.media.recorder import Backoff
from safecity.media.recording import RecordingOptions, RecordingService
from safecity.media.retention import GroupQuota, Retention, RetentionPolicy
from safecity.media.worker_pool import IngestWorkers
from safecity.org.devices import DeviceService
from safecity.org.models import DeviceKind
from safecity.protocols.rtsp.transport import LowerTransport
from safecity.settings import LogSettings, MediaSettings, Settings
from safecity.store.db import Database


def camera_lookup(devices: DeviceService) -> CameraLookup:
    """A camera the caller may see (NotFound otherwise), as the media features need it."""

    async def lookup(scope: Scope, camera_id: int) -> CameraRef:
        device = await devices.get(scope, camera_id)
        if device.kind is not DeviceKind.CAMERA:
            raise NotFound(f"camera {camera_id} not found")
        return CameraRef(
            id=device.id,
            gb_id=device.gb_id,
            point_id=device.point_id,
            org_path=device.org_path,
            name=device.name,
        )

    return lookup


def alarm_lookup(alarms: AlarmService) -> AlarmLookup:
    """An alarm the caller may see (NotFound otherwise), as pre-alarm clips need it."""

    async def lookup(scope: Scope, alarm_id: int) -> AlarmRef:
        alarm = await alarms.get(scope, alarm_id)
        return AlarmRef(id=alarm.id, raised_at=alarm.raised_at, cameras=tuple(alarm.cameras))

    return lookup


def media_services(
    settings: MediaSettings, db: Database, bus: MemoryBus, clock: Clock, log: LogSettings
) -> tuple[RecordingIndex, RecordingService | None, Retention | None]:
    """The recording index, retention, and the recording service (None with recording off):
    its engines in this process or in `media.ingest_workers` worker processes."""
    index = RecordingIndex(db, settings.root)
    policy = RetentionPolicy(
        max_age=None
        if settings.retention_days is None
        else timedelta(days=settings.retention_days),
        quota_bytes=settings.quota_bytes,
        groups=tuple(
            GroupQuota(name, frozenset(group.cameras), group.quota_bytes)
            for name, group in settings.group_quotas.items()
        ),
        min_free_bytes=settings.min_free_bytes,
    )
    retention = Retention(db, settings.root, clock, policy)
    if not settings.recording:
        return index, None, retention
    options = RecordingOptions(
        segment_s=settings.segment_s,
        max_jump_s=settings.max_jump_s,
        min_free_bytes=settings.min_free_bytes,
        ring_s=settings.ring_s,
        offline_after_s=settings.offline_after_s,
        open_timeout_s=settings.open_timeout_s,
        read_timeout_s=settings.read_timeout_s,
        rtsp_transport=settings.rtsp_transport,
        backoff=Backoff(initial_s=settings.reconnect_min_s, max_s=settings.reconnect_max_s),
        engine=settings.ingest_engine,
    )
    pull_options = PullOptions(
        transport=LowerTransport(settings.rtsp_transport.upper()),
        open_timeout_s=settings.open_timeout_s,
        read_timeout_s=settings.read_timeout_s,
    )
    workers = None
    if settings.ingest_workers:  # the engines in worker processes, each building its own
        job = IngestJob(root=settings.root, options=options, pull=pull_options, log=log)
        workers = IngestWorkers(settings.ingest_workers, ingest_main, job)
    recording = RecordingService(
        index,
        bus,
        clock,
        options,
        retention=retention,
        pull=RtspPullLoop(pull_options),
        workers=workers,
    )
    return index, recording, retention


def push_server(settings: Settings) -> PushServer | None:
    """The RTSP push point (`push.enabled`), or None."""
    push = settings.push
    if not push.enabled:
        return None
    options = PushOptions(
        host=push.host, port=push.port, udp=push.udp, session_timeout_s=push.session_timeout_s
    )
    return PushServer(options)
