"""Composition root: builds every component from Settings and runs them together.

The only modules that import concrete implementations are this one, its parts `app_media` and
`app_onvif`, and `cli`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import structlog
import uvicorn

from safecity.access.audit import AuditService
from safecity.access.context import AccessContext, SignInLimits
from safecity.access.grants import GrantService
from safecity.access.signin import SignInService
from safecity.access.tokens import TokenService
from safecity.access.users import UserService
from safecity.adapters.dc09 import AccountCache, Dc09Server, ListenOptions
from safecity.adapters.onvif.relay import CameraEventRelay
from safecity.adapters.rtsp.push_server import PushServer
from safecity.alarms.account_import import AccountImporter
from safecity.alarms.accounts import AccountService
from safecity.alarms.context import AlarmContext
from safecity.alarms.escalation import Escalation
from safecity.alarms.intake import SignalIntake
from safecity.alarms.processor import AlarmProcessor
from safecity.alarms.service import AlarmService
from safecity.alarms.supervision import Supervision
from safecity.api.app import create_api
from safecity.api.deps import Services
from safecity.app_media import alarm_lookup, camera_lookup, media_services, push_server
from safecity.app_onvif import event_relay, ptz_service, recording_restart, stream_resolver
from safecity.bus.memory import MemoryBus
from safecity.core.clock import Clock, SystemClock
from safecity.media.alarm_clips import AlarmClips, ClipWindow
from safecity.media.evidence import signing_key
from safecity.media.evidence_desk import EvidenceDesk
from safecity.media.index import RecordingIndex
from safecity.media.live import LiveService
from safecity.media.playback import PlaybackDesk, PlaybackLimits
from safecity.media.prealarm import ClipOptions, PreAlarmClips
from safecity.media.recording import CameraFeed, RecordingService
from safecity.media.retention import Retention
from safecity.media.root_lock import MediaRootLock, hold
from safecity.org.devices import DeviceService
from safecity.org.exporter import PointExporter
from safecity.org.importer import PointImporter
from safecity.org.journal import RegistryContext
from safecity.org.points import PointService
from safecity.org.streams import CameraStreams
from safecity.org.units import OrgUnitService
from safecity.receiver_process import ReceiverJob, ReceiverProcess
from safecity.settings import ReceiverSettings, Settings
from safecity.store.db import Database, sqlite_pragmas
from safecity.store.repositories.inbox import InboxWriter, SessionInboxWriter, SpoolWriter
from safecity.store.repositories.spool import open_spool, spool_path
from safecity.store.secretbox import SecretBox


@dataclass(frozen=True)
class Platform:
    settings: Settings
    db: Database
    bus: MemoryBus
    clock: Clock
    services: Services
    importer: PointImporter
    account_importer: AccountImporter
    alarm_processor: AlarmProcessor
    escalation: Escalation
    supervision: Supervision
    intake: SignalIntake
    account_cache: AccountCache
    receiver: Dc09Server | ReceiverProcess | None
    streams: CameraStreams
    recordings: RecordingIndex
    recording: RecordingService | None
    retention: Retention | None
    evidence: EvidenceDesk
    alarm_clips: AlarmClips
    playback: PlaybackDesk
    push: PushServer | None = None  # the RTSP push ingest point, when enabled
    onvif_events: CameraEventRelay | None = None  # cameras' motion and tamper, to the bus

    def background_jobs(self) -> dict[str, Callable[[], Awaitable[None]]]:
        """The loops `serve` runs beside the HTTP server until shutdown."""
        jobs: dict[str, Callable[[], Awaitable[None]]] = {
            "alarm-processor": self.alarm_processor.run,
            "alarm-escalation": self.escalation.run,
            "alarm-supervision": self.supervision.run,
        }
        if self.receiver is not None:
            jobs["dc09-accounts"] = lambda: self.account_cache.follow(self.bus)
            jobs["dc09-receiver"] = self._receive
        if self.recording is not None:
            jobs["media-recording"] = self._record
            jobs["media-alarm-clips"] = self.alarm_clips.run
        if self.push is not None:
            jobs["rtsp-push"] = self.push.serve
        if self.onvif_events is not None:
            jobs["onvif-events"] = self.onvif_events.run
        if self.retention is not None:
            retention, every = self.retention, self.settings.media.retention_check_s
            jobs["media-retention"] = lambda: retention.run(every)
        return jobs

    async def _record(self) -> None:
        """Record the registry's cameras; start over when a device changes (a camera added,
        removed, re-addressed or disabled), after a second's quiet so a bulk import restarts
        the recorders once, or when an ONVIF camera left out because it did not answer gives
        its stream at last (`app_onvif.recording_restart`). Only one platform records into a
        media root (`media.root_lock`)."""
        assert self.recording is not None
        lock = MediaRootLock(self.settings.media.root)
        await hold(lock)  # another platform recording into this root: wait, a standby
        changes = self.bus.subscribe("org.device.>")
        try:
            while True:
                sources = await self.streams.sources()
                feeds = [CameraFeed(s.device_id, s.url, s.org_path) for s in sources]
                recording = asyncio.create_task(self.recording.run(feeds), name="recording")
                try:  # a device change, or a camera the job started without answers
                    await recording_restart(
                        changes, self.streams, self.bus, self.clock, self.settings.onvif
                    )
                finally:
                    recording.cancel()
                    await asyncio.gather(recording, return_exceptions=True)
        finally:
            await changes.close()
            lock.release()

    async def _receive(self) -> None:
        """Listen for panels once the account keys are loaded: before that every account would
        look unknown and get DUH, which a panel takes as final."""
        assert self.receiver is not None
        await self.account_cache.loaded.wait()
        await self.receiver.serve()


def _listen_options(settings: ReceiverSettings) -> ListenOptions:
    return ListenOptions(
        host=settings.host,
        tcp_port=settings.tcp_port,
        udp_port=settings.udp_port,
        window_past=timedelta(seconds=settings.window_past_s),
        window_future=timedelta(seconds=settings.window_future_s),
    )


def _receiver(
    settings: Settings,
    db: Database,
    intake: SignalIntake,
    cache: AccountCache,
    clock: Clock,
    processor: AlarmProcessor,
    spool: str | None,
) -> Dc09Server | ReceiverProcess | None:
    """The DC-09 receiver in this process, or in one of its own (`receiver.own_process`). In
    this process, the alarm processor gives way to it while panels wait for ACKs (they share one
    event loop); in its own, the receiver runs `receiver.priority` nice levels above us, the
    kernel gives it the CPU it needs, and processing takes full batches without waiting (short
    ones only add a transaction per few alarms, and the alarms reach the screen later)."""
    config = settings.receiver
    if not config.enabled:
        return None
    if config.own_process:
        job = ReceiverJob(
            listen=_listen_options(config),
            store_url=settings.store.url,
            store_path=db.sqlite_path,
            spool=spool,
            max_batch=config.max_batch,
            log=settings.log,
            priority=config.priority,
        )
        return ReceiverProcess(job, cache, processor.notify)
    processor.defer_to(
        lambda: intake.waiting, above=config.defer_processing_above, max_s=config.max_defer_s
    )
    return Dc09Server(intake, cache.lookup, clock, _listen_options(config))


@asynccontextmanager
async def open_platform(
    settings: Settings, *, clock: Clock | None = None
) -> AsyncIterator[Platform]:
    """Open the store (migrated to head), the bus and every service; close them on exit."""
    clock = clock or SystemClock()
    box = SecretBox(settings.security.master_key.get_secret_value())
    async with Database(settings.store.url, echo=settings.store.echo) as db:
        await db.migrate()
        spool = spool_path(db.sqlite_path) if db.sqlite_path is not None else None
        if spool is not None and db.sqlite_path is not None:
            await asyncio.to_thread(open_spool, spool, db.sqlite_path, sqlite_pragmas)
        bus = MemoryBus()
        registry = RegistryContext(db=db, bus=bus, clock=clock, sealer=box)
        alarms = AlarmContext(db=db, bus=bus, clock=clock, sealer=box)
        security = settings.security
        access = AccessContext(
            db=db,
            bus=bus,
            clock=clock,
            limits=SignInLimits(
                token_ttl_s=security.token_ttl_s,
                lockout_after=security.lockout_after,
                lockout_s=security.lockout_s,
                login_per_minute=security.login_per_minute,
            ),
        )
        recordings, recording, retention = media_services(
            settings.media, db, bus, clock, settings.log
        )
        devices = DeviceService(registry)
        cameras = camera_lookup(devices)  # one lookup for live view, playback and evidence
        audit = AuditService(access)
        streams = CameraStreams(registry, resolve=stream_resolver(settings.onvif))
        alarm_service, media = AlarmService(alarms), settings.media
        services = Services(
            units=OrgUnitService(registry),
            points=PointService(registry),
            devices=devices,
            exporter=PointExporter(registry),
            users=UserService(access),
            signin=SignInService(access),
            tokens=TokenService(access),
            grants=GrantService(access),
            audit=audit,
            alarm_accounts=AccountService(alarms),
            alarms=alarm_service,
            live=LiveService(cameras, audit, recording),
            clips=PreAlarmClips(
                cameras,
                alarm_lookup(alarm_service),
                audit,
                recording,
                clock,
                ClipOptions(media.alarm_pre_s, media.ring_s, media.max_jump_s),
            ),
            playback=PlaybackDesk(
                db,
                recordings,
                clock,
                cameras,
                # a segment closes at the first keyframe after segment_s: allow two
                PlaybackLimits(settle=timedelta(seconds=2 * settings.media.segment_s)),
            ),
            ptz=ptz_service(settings.onvif, devices, streams, audit),
            bus=bus,
            page_size_max=settings.api.page_size_max,
        )
        processor = AlarmProcessor(alarms, spool=spool)
        inbox: InboxWriter = (
            SpoolWriter(spool, db.sqlite_path, sqlite_pragmas)
            if spool is not None and db.sqlite_path is not None
            else SessionInboxWriter(db)
        )
        intake = SignalIntake(
            inbox, on_stored=processor.notify, max_batch=settings.receiver.max_batch
        )
        cache = AccountCache(services.alarm_accounts.receiver_keys)
        try:
            yield Platform(
                settings=settings,
                db=db,
                bus=bus,
                clock=clock,
                services=services,
                importer=PointImporter(registry),
                account_importer=AccountImporter(alarms),
                alarm_processor=processor,
                escalation=Escalation(alarms),
                supervision=Supervision(alarms),
                intake=intake,
                account_cache=cache,
                receiver=_receiver(settings, db, intake, cache, clock, processor, spool),
                streams=streams,
                recordings=recordings,
                recording=recording,
                retention=retention,
                evidence=EvidenceDesk(
                    db,
                    recordings,
                    clock,
                    signing_key(settings.security.master_key.get_secret_value()),
                    cameras,
                ),
                playback=services.playback,
                push=push_server(settings),
                onvif_events=event_relay(settings.onvif, streams, bus, clock),
                alarm_clips=AlarmClips(
                    recordings,
                    bus,
                    ClipWindow(
                        pre_s=settings.media.alarm_pre_s,
                        post_s=settings.media.alarm_post_s,
                        keep_days=settings.media.alarm_keep_days,
                    ),
                ),
            )
        finally:
            services.live.close()
            await intake.aclose()
            await inbox.aclose()


async def serve(platform: Platform, *, on_ready: Callable[[str], None] | None = None) -> None:
    """Run the HTTP server until cancelled (Ctrl-C)."""
    api = create_api(platform.services)
    config = uvicorn.Config(
        api,
        host=platform.settings.api.host,
        port=platform.settings.api.port,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    server_task = asyncio.create_task(server.serve())
    jobs = [
        asyncio.create_task(_keep_running(name, job), name=name)
        for name, job in platform.background_jobs().items()
    ]
    try:
        while not server.started:
            if server_task.done():
                await server_task  # re-raises the start-up failure
                return
            await asyncio.sleep(0.05)
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        if on_ready is not None:
            on_ready(f"http://{host}:{port}")
        await asyncio.shield(server_task)
    finally:
        # Cancelled (Ctrl-C, shutdown): let uvicorn close its connections gracefully.
        server.should_exit = True
        for task in jobs:
            task.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        await asyncio.shield(server_task)


async def _keep_running(name: str, job: Callable[[], Awaitable[None]]) -> None:
    """Run a background loop until cancelled, restarting it (after a pause) if it fails."""
    while True:
        try:
            await job()
        except Exception:  # noqa: BLE001 (log any failure and restart the loop)
            structlog.get_logger(__name__).exception("background job failed", job=name)
            await asyncio.sleep(1.0)
