"""Prometheus metrics at /metrics: request counts and latencies by route template."""

from __future__ import annotations

import time

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.types import ASGIApp


class HttpMetrics(BaseHTTPMiddleware):
    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        super().__init__(app)
        self.requests = Counter(
            "safecity_http_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "safecity_http_request_seconds",
            "HTTP request latency by route template",
            ["route", "method"],
            registry=registry,
        )

    @staticmethod
    def _template(request: Request) -> str:
        # The router records the route it matched in the (shared) scope: its template keeps the
        # label set small, whatever the ids in the URL.
        route = request.scope.get("route")
        path = getattr(route, "path", None)
        return path if isinstance(path, str) else "unmatched"

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = self._template(request)
        self.requests.labels(route, request.method, str(response.status_code)).inc()
        self.latency.labels(route, request.method).observe(time.perf_counter() - started)
        return response


def install_metrics(app: FastAPI, registry: CollectorRegistry) -> None:
    app.add_middleware(HttpMetrics, registry=registry)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
