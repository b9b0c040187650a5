"""For every API route and every role, a caller scoped to station 1 reads and changes only what
its subtree and grants allow; outside it the answer is 404, never a leak.

The routes come from the app's own route table: a route without a scope rule, or whose rule or
path this file does not know, fails the test, so every new route must be added here.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any, Final

import pytest
from pydantic import SecretStr

from safecity.access.models import ApiKeyDraft, GrantDraft, UserDraft
from safecity.alarms.account_models import AccountDraft
from safecity.core.scope import Department, Right, Role
from safecity.media.records import SegmentRecord
from safecity.org.models import DeviceDraft, DeviceKind, PointDraft

from .alarm_seed import alarm_id
from .conftest import PASSWORD, ROOT, World
from .route_table import routes

STAFF: Final = {Role.ADMIN, Role.SUPERVISOR, Role.OPERATOR, Role.VIEWER}
EVERYONE: Final = set(Role)
MANAGERS: Final = {Role.ADMIN, Role.SUPERVISOR}
ADMIN: Final = {Role.ADMIN}
OPERATORS: Final = {Role.ADMIN, Role.SUPERVISOR, Role.OPERATOR}

# Written independently of safecity.core.policy: what each role may do, as the product states it.
EXPECTED: Final[dict[tuple[str, str], set[Role]]] = {
    ("org_unit", "read"): STAFF,
    ("org_unit", "write"): ADMIN,
    ("point", "read"): EVERYONE,
    ("point", "write"): MANAGERS,
    ("device", "read"): EVERYONE,
    ("device", "write"): MANAGERS,
    ("device_secret", "read"): ADMIN,
    ("user", "read"): ADMIN,
    ("user", "write"): ADMIN,
    ("api_key", "write"): ADMIN,
    ("grant", "read"): MANAGERS,
    ("grant", "write"): MANAGERS,
    ("audit", "read"): MANAGERS,
    ("me", "read"): EVERYONE,
    ("me", "write"): EVERYONE,
    ("alarm_account", "read"): STAFF,
    ("alarm_account", "write"): MANAGERS,
    ("alarm", "read"): EVERYONE,
    ("alarm", "write"): {Role.ADMIN, Role.SUPERVISOR, Role.OPERATOR},
    ("playback", "read"): EVERYONE,  # partners: cameras of points granted "playback"
    ("live", "read"): EVERYONE,  # partners: cameras of points granted "live"
    ("ptz", "read"): OPERATORS,  # steering moves what every viewer sees: never viewers, partners
    ("ptz", "write"): OPERATORS,
}

Request = tuple[str, dict[str, Any] | list[Any] | None]
Builder = Callable[[World, Role, bool], Awaitable[Request]]


async def fresh_point(world: World, unit: str) -> int:
    point = await world.platform.services.points.create(
        ROOT, PointDraft(org_unit_id=world.ids[unit], name="fresh", lat=22.5, lon=114.0)
    )
    return point.id


async def fresh_device(world: World, point_id: int) -> int:
    device = await world.platform.services.devices.create(
        ROOT, DeviceDraft(point_id=point_id, kind=DeviceKind.CAMERA, name="fresh")
    )
    return device.id


async def fresh_user(world: World, unit: str) -> int:
    fresh_name = f"fresh{len(world.ids)}"
    world.ids[fresh_name] = 0
    user = await world.platform.services.users.create(
        ROOT,
        UserDraft(
            username=fresh_name,
            display_name="f",
            password=SecretStr(PASSWORD),
            role=Role.VIEWER,
            org_unit_id=world.ids[unit],
        ),
    )
    return user.id


async def fresh_grant(world: World, unit: str) -> int:
    grant = await world.platform.services.grants.create(
        ROOT,
        GrantDraft(
            department=Department.EMERGENCY,
            point_id=await fresh_point(world, unit),
            rights=[Right.PLAYBACK],
            expires_at=None,
        ),
    )
    return grant.id


def unit_key(inside: bool) -> str:
    return "unit_in" if inside else "unit_out"


def target(world: World, kind: str, role: Role, inside: bool) -> int:
    """The id of a `kind` object inside or outside the caller's view (partners: shared ones)."""
    if role is Role.PARTNER and kind in ("point", "device"):
        return world.ids[f"{kind}_shared" if inside else f"{kind}_in"]
    return world.ids[f"{kind}_{'in' if inside else 'out'}"]


def by_id(prefix: str, kind: str, body: dict[str, Any] | None = None, suffix: str = "") -> Builder:
    async def build(world: World, role: Role, inside: bool) -> Request:
        return f"{prefix}/{target(world, kind, role, inside)}{suffix}", body

    return build


def fixed(path: str, body: dict[str, Any] | None = None) -> Builder:
    async def build(world: World, role: Role, inside: bool) -> Request:
        return path, body

    return build


async def create_unit(world: World, role: Role, inside: bool) -> Request:
    # A station's 8-digit code is fully specified, so a child under it is refused as invalid
    # (422) inside scope; outside scope the parent is simply not found.
    body = {
        "parent_id": world.ids[unit_key(inside)],
        "name": "n",
        "kind": "other",
        "centre_code": "44030403",
    }
    return "/api/org-units", body


async def create_point(world: World, role: Role, inside: bool) -> Request:
    return "/api/points", {
        "org_unit_id": world.ids[unit_key(inside)],
        "name": "n",
        "lat": 22.5,
        "lon": 114.0,
    }


async def create_device(world: World, role: Role, inside: bool) -> Request:
    return "/api/devices", {
        "point_id": target(world, "point", role, inside),
        "kind": "camera",
        "name": "n",
    }


async def delete_point(world: World, role: Role, inside: bool) -> Request:
    if not inside:
        return f"/api/points/{target(world, 'point', role, inside)}", None
    return f"/api/points/{await fresh_point(world, 'unit_in')}", None


async def delete_device(world: World, role: Role, inside: bool) -> Request:
    if not inside:
        return f"/api/devices/{target(world, 'device', role, inside)}", None
    return f"/api/devices/{await fresh_device(world, world.ids['point_in'])}", None


async def create_user(world: World, role: Role, inside: bool) -> Request:
    name = f"new{len(world.ids)}"
    world.ids[name] = 0
    return "/api/users", {
        "username": name,
        "display_name": name,
        "password": PASSWORD,
        "role": "viewer",
        "org_unit_id": world.ids[unit_key(inside)],
    }


async def delete_user(world: World, role: Role, inside: bool) -> Request:
    return f"/api/users/{await fresh_user(world, unit_key(inside))}", None


async def create_grant(world: World, role: Role, inside: bool) -> Request:
    return "/api/grants", {
        "department": "law_enforcement",
        "point_id": await fresh_point(world, unit_key(inside)),
        "rights": ["live"],
    }


async def delete_grant(world: World, role: Role, inside: bool) -> Request:
    return f"/api/grants/{await fresh_grant(world, unit_key(inside))}", None


async def create_alarm_account(world: World, role: Role, inside: bool) -> Request:
    number = f"{0xB000 + len(world.ids):X}"
    world.ids[f"account-{number}"] = 0
    return "/api/alarm-accounts", {
        "account": number,
        "name": "n",
        "org_unit_id": world.ids[unit_key(inside)],
    }


async def delete_alarm_account(world: World, role: Role, inside: bool) -> Request:
    if not inside:
        return f"/api/alarm-accounts/{world.ids['account_out']}", None
    _, body = await create_alarm_account(world, role, inside)
    assert isinstance(body, dict)
    account = await world.platform.services.alarm_accounts.create(
        ROOT, AccountDraft.model_validate(body)
    )
    return f"/api/alarm-accounts/{account.id}", None


async def set_alarm_zones(world: World, role: Role, inside: bool) -> Request:
    url = f"/api/alarm-accounts/{target(world, 'account', role, inside)}/zones"
    return url, [{"number": 1, "name": "Front door", "detector": "door_contact"}]


def alarm_route(suffix: str = "", body: dict[str, Any] | None = None) -> Builder:
    """An alarm inside or outside the caller's view; for partners, one at a point granted with
    the alarms right, or one they have no right to."""

    async def build(world: World, role: Role, inside: bool) -> Request:
        if role is Role.PARTNER:
            key = "alarm_shared" if inside else "alarm_in"
        else:
            key = "alarm_in" if inside else "alarm_out"
        return f"/api/alarms/{await alarm_id(world, key)}{suffix}", body

    return build


async def create_api_key(world: World, role: Role, inside: bool) -> Request:
    return "/api/api-keys", {"user_id": world.ids["user_in" if inside else "user_out"], "name": "k"}


async def delete_api_key(world: World, role: Role, inside: bool) -> Request:
    owner = world.ids["user_in" if inside else "user_out"]
    _, key_id = await world.platform.services.tokens.create_api_key(
        ROOT, ApiKeyDraft(user_id=owner, name="k")
    )
    return f"/api/api-keys/{key_id}", None


async def playback_camera(world: World, role: Role, inside: bool) -> int:
    """A camera inside or outside the caller's view; for partners, one at a point granted to
    traffic with the playback right (the shared point has only live), or one not shared."""
    if role is not Role.PARTNER or not inside:
        return target(world, "device", role, inside)
    if "device_playback" not in world.ids:
        point = await fresh_point(world, "unit_out")
        world.ids["device_playback"] = await fresh_device(world, point)
        await world.platform.services.grants.create(
            ROOT,
            GrantDraft(
                department=Department.TRAFFIC,
                point_id=point,
                rights=[Right.PLAYBACK],
                expires_at=None,
            ),
        )
    return world.ids["device_playback"]


async def playback_playlist(world: World, role: Role, inside: bool) -> Request:
    camera = await playback_camera(world, role, inside)
    window = "start=2025-01-01T08:00:00Z&end=2025-01-01T09:00:00Z"
    return f"/api/cameras/{camera}/playback.m3u8?{window}", None


async def recorded_segment(world: World, role: Role, inside: bool) -> Request:
    """A segment recorded by the camera (its file on disk), so only scope decides."""
    camera = await playback_camera(world, role, inside)
    name = f"segment{len(world.ids)}"
    world.ids[name] = 0
    relative = PurePosixPath(str(camera), f"{name}.mp4")
    (world.platform.recordings.root / relative).parent.mkdir(parents=True, exist_ok=True)
    (world.platform.recordings.root / relative).write_bytes(b"\0\0\0\x08free")
    start = datetime(2025, 1, 1, 8, tzinfo=UTC)
    segment_id = await world.platform.recordings.add_segment(
        SegmentRecord(camera, start, start + timedelta(seconds=2), 8, relative, "h264", 50)
    )
    return f"/api/cameras/{camera}/recordings/{segment_id}.mp4", None


async def camera_clip(world: World, role: Role, inside: bool) -> Request:
    return f"/api/cameras/{await playback_camera(world, role, inside)}/clip.mp4", None


async def alarm_clip(world: World, role: Role, inside: bool) -> Request:
    """An alarm and a camera both inside the caller's view (partners: granted alarms, and
    playback on the camera), or both outside it."""
    alarm, _ = await alarm_route()(world, role, inside)
    return f"{alarm}/clip.mp4?camera={await playback_camera(world, role, inside)}", None


BUILDERS: Final[dict[tuple[str, str], Builder]] = {
    ("GET", "/api/org-units"): fixed("/api/org-units"),
    ("GET", "/api/org-units/{unit_id}"): by_id("/api/org-units", "unit"),
    ("POST", "/api/org-units"): create_unit,
    ("PATCH", "/api/org-units/{unit_id}"): by_id("/api/org-units", "unit", {"name": "renamed"}),
    ("DELETE", "/api/org-units/{unit_id}"): by_id("/api/org-units", "unit"),
    ("GET", "/api/points"): fixed("/api/points"),
    ("GET", "/api/points/export.csv"): fixed("/api/points/export.csv"),
    ("GET", "/api/points/export.geojson"): fixed("/api/points/export.geojson"),
    ("GET", "/api/points/public.geojson"): fixed("/api/points/public.geojson"),
    ("GET", "/api/points/{point_id}"): by_id("/api/points", "point"),
    ("POST", "/api/points"): create_point,
    ("PATCH", "/api/points/{point_id}"): by_id("/api/points", "point", {"name": "renamed"}),
    ("DELETE", "/api/points/{point_id}"): delete_point,
    ("GET", "/api/devices"): fixed("/api/devices"),
    ("GET", "/api/devices/{device_id}"): by_id("/api/devices", "device"),
    ("GET", "/api/devices/{device_id}/credentials"): by_id(
        "/api/devices", "device", suffix="/credentials"
    ),
    ("POST", "/api/devices"): create_device,
    ("PATCH", "/api/devices/{device_id}"): by_id("/api/devices", "device", {"name": "renamed"}),
    ("DELETE", "/api/devices/{device_id}"): delete_device,
    ("GET", "/api/users"): fixed("/api/users"),
    ("GET", "/api/users/{user_id}"): by_id("/api/users", "user"),
    ("POST", "/api/users"): create_user,
    ("PATCH", "/api/users/{user_id}"): by_id("/api/users", "user", {"display_name": "renamed"}),
    ("DELETE", "/api/users/{user_id}"): delete_user,
    ("GET", "/api/grants"): fixed("/api/grants"),
    ("POST", "/api/grants"): create_grant,
    ("DELETE", "/api/grants/{grant_id}"): delete_grant,
    ("GET", "/api/audit"): fixed("/api/audit"),
    ("GET", "/api/auth/me"): fixed("/api/auth/me"),
    ("POST", "/api/api-keys"): create_api_key,
    ("DELETE", "/api/api-keys/{key_id}"): delete_api_key,
    ("GET", "/api/alarm-accounts"): fixed("/api/alarm-accounts"),
    ("GET", "/api/alarm-accounts/{account_id}"): by_id("/api/alarm-accounts", "account"),
    ("POST", "/api/alarm-accounts"): create_alarm_account,
    ("PATCH", "/api/alarm-accounts/{account_id}"): by_id(
        "/api/alarm-accounts", "account", {"name": "renamed"}
    ),
    ("PUT", "/api/alarm-accounts/{account_id}/zones"): set_alarm_zones,
    ("DELETE", "/api/alarm-accounts/{account_id}"): delete_alarm_account,
    ("GET", "/api/alarms"): fixed("/api/alarms"),
    ("GET", "/api/alarms/report/handling-times"): fixed("/api/alarms/report/handling-times"),
    ("GET", "/api/alarms/{alarm_id}"): alarm_route(),
    ("POST", "/api/alarms/{alarm_id}/acknowledge"): alarm_route("/acknowledge"),
    ("POST", "/api/alarms/{alarm_id}/dispatch"): alarm_route("/dispatch", {"unit": "P-1"}),
    ("POST", "/api/alarms/{alarm_id}/on-scene"): alarm_route("/on-scene"),
    ("POST", "/api/alarms/{alarm_id}/resolve"): alarm_route("/resolve", {"disposition": "test"}),
    ("POST", "/api/alarms/{alarm_id}/notes"): alarm_route("/notes", {"text": "n"}),
    ("GET", "/api/alarms/{alarm_id}/clip.mp4"): alarm_clip,
    ("GET", "/api/cameras/{camera_id}/clip.mp4"): camera_clip,
    ("GET", "/api/cameras/{camera_id}/playback.m3u8"): playback_playlist,
    ("GET", "/api/cameras/{camera_id}/recordings/{segment_id}.mp4"): recorded_segment,
    ("GET", "/api/cameras/{camera_id}/snapshot.jpg"): by_id(
        "/api/cameras", "device", suffix="/snapshot.jpg"
    ),
    # The world's cameras have no ONVIF address: past the scope check, PTZ says so (409).
    ("POST", "/api/cameras/{camera_id}/ptz/move"): by_id(
        "/api/cameras", "device", {"pan": 0.5}, suffix="/ptz/move"
    ),
    ("POST", "/api/cameras/{camera_id}/ptz/stop"): by_id(
        "/api/cameras", "device", suffix="/ptz/stop"
    ),
    ("GET", "/api/cameras/{camera_id}/ptz/presets"): by_id(
        "/api/cameras", "device", suffix="/ptz/presets"
    ),
    ("POST", "/api/cameras/{camera_id}/ptz/presets"): by_id(
        "/api/cameras", "device", {"name": "gate"}, suffix="/ptz/presets"
    ),
    ("POST", "/api/cameras/{camera_id}/ptz/presets/{token}/goto"): by_id(
        "/api/cameras", "device", suffix="/ptz/presets/1/goto"
    ),
}
SELF_ONLY: Final = {("POST", "/api/auth/logout")}  # acts on the caller's own token only
PUBLIC: Final = {
    ("POST", "/api/auth/login"),
    ("GET", "/live/{camera_id}"),  # a static page; the WebSocket it opens checks the caller
    ("GET", "/playback/{camera_id}"),  # a static page; the playlist it reads checks the caller
}
# The world records no cameras: past the scope check, these say "no video yet" (503).
NO_VIDEO: Final = {("GET", "/api/cameras/{camera_id}/snapshot.jpg")}
# And these 404 with the reason (nothing in memory), unlike the 404 outside scope.
NO_CLIP: Final = {
    ("GET", "/api/cameras/{camera_id}/clip.mp4"),
    ("GET", "/api/alarms/{alarm_id}/clip.mp4"),
}


ROUTES: Final = routes()


def test_every_route_has_a_scope_rule_and_a_matrix_entry() -> None:
    assert len(ROUTES) >= 30, "the route table was not read"
    for method, path, rule in ROUTES:
        assert rule, f"{method} {path} declares no scope rule (use deps.scoped or deps.PUBLIC)"
        key = (method, path)
        if rule["resource"] == "public":
            assert key in PUBLIC, f"{method} {path} is public but not listed as such here"
            continue
        assert (rule["resource"], rule["action"]) in EXPECTED, f"{key}: unknown rule {rule}"
        assert key in BUILDERS or key in SELF_ONLY, f"{method} {path} has no scope matrix entry"


def _denied_status(status: int) -> bool:
    return status == 403


def _allowed_status(status: int) -> bool:
    return status < 500 and status not in (401, 403, 404)


MATRIX: Final = [
    (method, path, rule) for method, path, rule in ROUTES if (method, path) in BUILDERS
]


@pytest.mark.parametrize(("method", "path", "rule"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
async def test_route_respects_role_and_scope(
    world: World, method: str, path: str, rule: dict[str, str]
) -> None:
    allowed_roles = EXPECTED[(rule["resource"], rule["action"])]
    builder = BUILDERS[(method, path)]
    is_collection = "{" not in path and method == "GET"
    for role in Role:
        for inside in (False, True):
            url, body = await builder(world, role, inside)
            response = await world.client.request(method, url, json=body, headers=world.auth(role))
            where = f"{role} {method} {url} ({'inside' if inside else 'outside'} scope)"
            if role not in allowed_roles:
                assert _denied_status(response.status_code), f"{where}: {response.status_code}"
            elif inside or is_collection:
                status = response.status_code
                if (method, path) in NO_VIDEO and status == 503:
                    continue
                if (method, path) in NO_CLIP and status == 404:
                    assert "no video in memory" in response.json()["detail"], where
                    continue
                assert _allowed_status(status), f"{where}: {response.text}"
            else:
                assert response.status_code == 404, f"{where}: {response.status_code}"
                assert "in memory" not in response.text, f"{where}: {response.text}"
            if role in allowed_roles and is_collection:
                _assert_nothing_outside(world, role, response.text, where)


def _assert_nothing_outside(world: World, role: Role, text: str, where: str) -> None:
    hidden = ["unit_out", "user_out", "point_out", "device_out", "account_out"]
    if role is Role.PARTNER:
        hidden += ["point_in", "device_in"]
    for name in hidden:
        assert f'"{name}"' not in text, f"{where} leaks {name}"
        assert f",{name}," not in text, f"{where} leaks {name}"
    for key in ("point_out", "device_out", "user_out", "grant_out"):
        kind = key.removesuffix("_out")
        assert f'"target":"{kind}:{world.ids[key]}"' not in text.replace(" ", ""), where
    if role is Role.PARTNER and '"items"' in text:
        items = json.loads(text)["items"]
        assert all(item.get("org_path") != "" for item in items)


async def test_partner_sees_only_points_shared_with_its_department(world: World) -> None:
    response = await world.client.get("/api/points", headers=world.auth(Role.PARTNER))
    assert response.status_code == 200
    assert {p["id"] for p in response.json()["items"]} == {world.ids["point_shared"]}


async def test_out_of_scope_and_missing_objects_look_the_same(world: World) -> None:
    headers = world.auth(Role.ADMIN)
    outside = await world.client.get(f"/api/points/{world.ids['point_out']}", headers=headers)
    missing = await world.client.get("/api/points/999999", headers=headers)
    assert outside.status_code == missing.status_code == 404
    assert outside.json()["title"] == missing.json()["title"]
    assert outside.headers["content-type"] == "application/problem+json"


async def test_requests_without_a_token_are_refused_on_every_scoped_route(world: World) -> None:
    for method, path, rule in ROUTES:
        if rule and rule.get("resource") == "public":
            continue
        url = path.format(
            unit_id=1,
            point_id=1,
            device_id=1,
            user_id=1,
            grant_id=1,
            key_id=1,
            account_id=1,
            alarm_id=1,
            camera_id=1,
            segment_id=1,
            token="1",
        )
        response = await world.client.request(method, url, json={})
        assert response.status_code == 401, f"{method} {url}: {response.status_code}"
