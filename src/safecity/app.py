"""Composition root: builds every component from Settings and runs them together.

The only module (with __main__) that imports concrete implementations.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
import uvicorn

from safecity.access.audit import AuditService
from safecity.access.context import AccessContext, SignInLimits
from safecity.access.grants import GrantService
from safecity.access.signin import SignInService
from safecity.access.tokens import TokenService
from safecity.access.users import UserService
from safecity.api.app import create_api
from safecity.api.deps import Services
from safecity.bus.memory import MemoryBus
from safecity.core.clock import Clock, SystemClock
from safecity.org.devices import DeviceService
from safecity.org.exporter import PointExporter
from safecity.org.importer import PointImporter
from safecity.org.journal import RegistryContext
from safecity.org.points import PointService
from safecity.org.units import OrgUnitService
from safecity.settings import LogSettings, Settings
from safecity.store.db import Database
from safecity.store.secretbox import SecretBox


@dataclass(frozen=True)
class Platform:
    settings: Settings
    db: Database
    bus: MemoryBus
    clock: Clock
    services: Services
    importer: PointImporter


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


@asynccontextmanager
async def open_platform(
    settings: Settings, *, clock: Clock | None = None
) -> AsyncIterator[Platform]:
    """Open the store (migrated to head), the bus and every service; close them on exit."""
    clock = clock or SystemClock()
    box = SecretBox(settings.security.master_key.get_secret_value())
    async with Database(settings.store.url, echo=settings.store.echo) as db:
        await db.migrate()
        bus = MemoryBus()
        registry = RegistryContext(db=db, bus=bus, clock=clock, sealer=box)
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
        services = Services(
            units=OrgUnitService(registry),
            points=PointService(registry),
            devices=DeviceService(registry),
            exporter=PointExporter(registry),
            users=UserService(access),
            signin=SignInService(access),
            tokens=TokenService(access),
            grants=GrantService(access),
            audit=AuditService(access),
            bus=bus,
            page_size_max=settings.api.page_size_max,
        )
        yield Platform(
            settings=settings,
            db=db,
            bus=bus,
            clock=clock,
            services=services,
            importer=PointImporter(registry),
        )


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
    )
    server = uvicorn.Server(config)
    server_task = asyncio.create_task(server.serve())
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
        await asyncio.shield(server_task)
