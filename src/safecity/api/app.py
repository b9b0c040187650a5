"""The FastAPI app factory."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from prometheus_client import CollectorRegistry

import safecity
from safecity.api.deps import Services
from safecity.api.errors import install_error_handlers
from safecity.api.metrics import install_metrics
from safecity.api.routers import (
    alarm_accounts,
    alarms,
    audit,
    auth,
    cameras,
    clips,
    devices,
    grants,
    org_units,
    playback,
    points,
    ptz,
    users,
)
from safecity.api.ws import router as ws_router


def create_api(services: Services, *, registry: CollectorRegistry | None = None) -> FastAPI:
    # Swagger UI assets come from the fastapi-offline wheel: police networks have no CDN.
    app = FastAPIOffline(
        title="safecity",
        version=safecity.__version__,
        summary="City surveillance and alarm networking platform",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        static_url="/api/docs-assets",
    )
    app.state.services = services
    install_error_handlers(app)
    install_metrics(app, registry or CollectorRegistry())
    for module in (auth, org_units, points, devices, users, grants, audit, alarm_accounts, alarms):
        app.include_router(module.router)
    app.include_router(ws_router)
    app.include_router(cameras.router)
    app.include_router(ptz.router)
    app.include_router(playback.router)
    app.include_router(clips.router)
    app.include_router(cameras.pages)
    # The browser pages' scripts and styles ship in the package (no CDN on a police network).
    app.mount("/ui/static", StaticFiles(packages=[("safecity.ui", "static")]), name="ui-static")

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/api/docs")

    @app.get("/healthz", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
