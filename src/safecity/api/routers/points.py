"""Points (surveillance and alarm sites) and their exports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from fastapi.responses import PlainTextResponse

from safecity.api.deps import CallerScope, Paging, RowId, Svc, scoped
from safecity.core.paging import Page
from safecity.core.policy import Action, Resource
from safecity.org.models import Point, PointDraft, PointPatch, PointTag

router = APIRouter(prefix="/api/points", tags=["points"])
READ = scoped(Resource.POINT, Action.READ)
WRITE = scoped(Resource.POINT, Action.WRITE)


@router.get("", **READ)
async def list_points(
    scope: CallerScope,
    svc: Svc,
    page: Paging,
    org_unit_id: Annotated[
        int | None, Query(ge=1, le=2**62, description="Only this unit's points")
    ] = None,
    tag: Annotated[PointTag | None, Query(description="Only points with this tag")] = None,
    q: Annotated[str | None, Query(max_length=100, description="Name or address contains")] = None,
) -> Page[Point]:
    return await svc.points.list(scope, page, org_unit_id=org_unit_id, tag=tag, text=q)


@router.get("/export.csv", response_class=PlainTextResponse, **READ)
async def export_points_csv(scope: CallerScope, svc: Svc) -> PlainTextResponse:
    """The caller's points in the import format."""
    body = await svc.exporter.csv(scope)
    return PlainTextResponse(body, media_type="text/csv; charset=utf-8")


@router.get("/export.geojson", **READ)
async def export_points_geojson(scope: CallerScope, svc: Svc) -> dict[str, Any]:
    """The caller's points with their devices (no credentials)."""
    return await svc.exporter.geojson(scope)


@router.get("/public.geojson", **READ)
async def export_public_points(scope: CallerScope, svc: Svc) -> dict[str, Any]:
    """Points with public signage only, without device or owner details, for publishing."""
    return await svc.exporter.public_geojson(scope)


@router.get("/{point_id}", **READ)
async def get_point(point_id: RowId, scope: CallerScope, svc: Svc) -> Point:
    return await svc.points.get(scope, point_id)


@router.post("", status_code=status.HTTP_201_CREATED, **WRITE)
async def create_point(draft: PointDraft, scope: CallerScope, svc: Svc) -> Point:
    return await svc.points.create(scope, draft)


@router.patch("/{point_id}", **WRITE)
async def update_point(point_id: RowId, patch: PointPatch, scope: CallerScope, svc: Svc) -> Point:
    return await svc.points.update(scope, point_id, patch)


@router.delete("/{point_id}", status_code=status.HTTP_204_NO_CONTENT, **WRITE)
async def delete_point(point_id: RowId, scope: CallerScope, svc: Svc) -> None:
    await svc.points.delete(scope, point_id)
