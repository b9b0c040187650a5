"""Playback playlists over recorded segments of the real footage: byte ranges that address each
file's init and media parts, discontinuities and wall-clock times across files and gaps, the
ENDLIST rules, the target duration, scope, and one audit record per viewing."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import av
import pytest

from safecity.core.errors import NotFound, PermissionDenied, ValidationFailed
from safecity.core.scope import Right, Role, Scope
from safecity.media.cameras import CameraRef
from safecity.media.index import RecordingIndex
from safecity.media.playback import PlaybackDesk, PlaybackLimits
from safecity.media.records import GapCause, GapRecord, SegmentRecord, WriterReport
from safecity.media.segment_writer import SegmentWriter
from safecity.store.db import Database
from safecity.store.repositories import audit as audit_repo
from safecity.testing.clock import FakeClock

from .conftest import T0, record_file

CAMERA = 7
OTHER_CAMERA = 8
RESTART_AT = T0 + timedelta(seconds=60)
OPERATOR = Scope(user_id=1, username="op", role=Role.OPERATOR, org_path="/1/")
OUTSIDER = Scope(user_id=2, username="far", role=Role.ADMIN, org_path="/2/")
UNSHARED_PARTNER = Scope(user_id=4, username="water", role=Role.PARTNER, org_path="/9/")
CAMERAS = {
    CAMERA: CameraRef(
        id=CAMERA, gb_id="44030000001320000007", point_id=70, org_path="/1/", name="a"
    ),
    OTHER_CAMERA: CameraRef(
        id=OTHER_CAMERA, gb_id="44030000001320000008", point_id=80, org_path="/1/", name="b"
    ),
}


def partner(*rights: Right) -> Scope:
    return Scope(
        user_id=3,
        username="traffic",
        role=Role.PARTNER,
        org_path="/9/",
        shared_points=frozenset({70}),
        rights_by_point={70: frozenset(rights)},
    )


async def lookup(scope: Scope, camera_id: int) -> CameraRef:
    camera = CAMERAS.get(camera_id)
    if camera is None or not scope.sees_point(camera.point_id, camera.org_path):
        raise NotFound(f"camera {camera_id} not found")
    return camera


@dataclass(frozen=True)
class Recorded:
    root: Path
    segments: list[SegmentRecord]
    gaps: list[GapRecord]


@pytest.fixture(scope="module")
def recorded(footage: Path, tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """The footage recorded twice by the real segment writer, the second time after a restart
    a minute later: two runs of segments with a `restart` gap between."""
    root = tmp_path_factory.mktemp("recordings")
    first = SegmentWriter(CAMERA, root, segment_s=4)
    reports: list[WriterReport] = record_file(first, footage, at=T0)
    second = SegmentWriter(CAMERA, root, segment_s=4, resume_after=first.last_end)
    reports += record_file(second, footage, at=RESTART_AT)
    segments = [r for r in reports if isinstance(r, SegmentRecord)]
    gaps = [r for r in reports if isinstance(r, GapRecord)]
    assert len(gaps) == 1
    assert gaps[0].cause is GapCause.RESTART
    return Recorded(root, segments, gaps)


LIMITS = PlaybackLimits(settle=timedelta(seconds=10), reaudit_after=timedelta(minutes=5))


@dataclass
class Desk:
    """The recording indexed in a store, and a desk over it whose clock reads `now`."""

    db: Database
    index: RecordingIndex
    ids: list[int]
    clock: FakeClock = field(default_factory=lambda: FakeClock(T0 + timedelta(hours=1)))
    desk: PlaybackDesk = field(init=False)

    def __post_init__(self) -> None:
        self.at(self.clock.now())

    def at(self, now: datetime) -> None:
        self.clock = FakeClock(now)
        self.desk = PlaybackDesk(self.db, self.index, self.clock, lookup, LIMITS)


@pytest.fixture
async def desk(db: Database, recorded: Recorded) -> Desk:
    index = RecordingIndex(db, recorded.root)
    ids = [await index.add_segment(s) for s in recorded.segments]
    for gap in recorded.gaps:
        await index.add_gap(gap)
    return Desk(db, index, ids)


@dataclass
class Entry:
    uri: str
    map_uri: str
    init: tuple[int, int]  # length, offset
    media: tuple[int, int]
    duration: float
    at: datetime
    discontinuity: bool


@dataclass
class Parsed:
    tags: dict[str, str]
    entries: list[Entry]
    ended: bool


def parse(text: str) -> Parsed:
    """Enough of RFC 8216 to read what the desk writes."""
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    tags: dict[str, str] = {}
    entries: list[Entry] = []
    pending: dict[str, str] = {}
    discontinuity = False

    def byte_range(value: str) -> tuple[int, int]:
        length, offset = value.strip('"').split("@")
        return int(length), int(offset)

    for line in lines[1:]:
        name, _, value = line.partition(":")
        if line == "#EXT-X-DISCONTINUITY":
            discontinuity = True
        elif name in ("#EXT-X-MAP", "#EXT-X-PROGRAM-DATE-TIME", "#EXTINF", "#EXT-X-BYTERANGE"):
            pending[name] = value
        elif line.startswith("#"):
            tags[name] = value
        else:
            attributes = dict(a.split("=", 1) for a in pending["#EXT-X-MAP"].split(","))
            entries.append(
                Entry(
                    uri=line,
                    map_uri=attributes["URI"].strip('"'),
                    init=byte_range(attributes["BYTERANGE"]),
                    media=byte_range(pending["#EXT-X-BYTERANGE"]),
                    duration=float(pending["#EXTINF"].rstrip(",")),
                    at=datetime.fromisoformat(pending["#EXT-X-PROGRAM-DATE-TIME"]),
                    discontinuity=discontinuity,
                )
            )
            pending, discontinuity = {}, False
    return Parsed(tags, entries, "#EXT-X-ENDLIST" in tags)


def uri(segment_id: int) -> str:
    return f"recordings/{segment_id}.mp4"


async def playlist(desk: Desk, start: datetime, end: datetime, scope: Scope = OPERATOR) -> Parsed:
    return parse(await desk.desk.playlist(scope, CAMERA, start, end, uri=uri))


async def audit_actions(db: Database) -> list[tuple[str, dict[str, object]]]:
    async with db.session() as session:
        return [(row.action, dict(row.detail)) async for row in audit_repo.iterate(session)]


def decoded_frames(data: bytes) -> int:
    with av.open(io.BytesIO(data), "r") as container:
        return sum(1 for _ in container.decode(video=0))


async def test_every_segment_is_addressed_by_the_byte_ranges_of_its_file(
    desk: Desk, recorded: Recorded
) -> None:
    parsed = await playlist(desk, T0, RESTART_AT + timedelta(seconds=40))

    assert [e.uri for e in parsed.entries] == [uri(i) for i in desk.ids]
    for entry, segment in zip(parsed.entries, recorded.segments, strict=True):
        data = (recorded.root / segment.path).read_bytes()
        (init_length, init_offset), (media_length, media_offset) = entry.init, entry.media
        assert entry.map_uri == entry.uri
        assert init_offset == 0
        assert media_offset == init_length
        assert data[4:8] == b"ftyp"
        assert b"moov" in data[:init_length]
        assert data[media_offset + 4 : media_offset + 8] == b"moof"
        assert media_offset + media_length <= len(data)
        part = data[:init_length] + data[media_offset : media_offset + media_length]
        assert decoded_frames(part) == segment.frames


async def test_files_follow_discontinuities_and_carry_their_wall_clock_start(
    desk: Desk, recorded: Recorded
) -> None:
    parsed = await playlist(desk, T0, RESTART_AT + timedelta(seconds=40))

    assert [e.discontinuity for e in parsed.entries] == [False] + [True] * (len(parsed.entries) - 1)
    assert [e.at for e in parsed.entries] == [
        s.start.replace(microsecond=s.start.microsecond // 1000 * 1000) for s in recorded.segments
    ]
    assert [e.duration for e in parsed.entries] == [
        round(s.duration_s, 3) for s in recorded.segments
    ]
    gap = recorded.gaps[0]
    before = next(e for e in parsed.entries if e.at >= gap.end)
    previous = parsed.entries[parsed.entries.index(before) - 1]
    hole = before.at - (previous.at + timedelta(seconds=previous.duration))
    assert abs(hole.total_seconds() - gap.duration_s) < 0.002


async def test_the_target_duration_is_the_longest_segment_rounded_up(
    desk: Desk, recorded: Recorded
) -> None:
    parsed = await playlist(desk, T0, RESTART_AT + timedelta(seconds=40))

    longest = max(s.duration_s for s in recorded.segments)
    assert int(parsed.tags["#EXT-X-TARGETDURATION"]) == math.ceil(round(longest, 3))
    assert all(
        round(e.duration) <= int(parsed.tags["#EXT-X-TARGETDURATION"]) for e in parsed.entries
    )
    assert parsed.tags["#EXT-X-VERSION"] == "7"


async def test_only_segments_overlapping_the_range_are_listed(
    desk: Desk, recorded: Recorded
) -> None:
    second, third = recorded.segments[1], recorded.segments[2]
    start = second.start + timedelta(seconds=1)

    parsed = await playlist(desk, start, third.start + timedelta(seconds=1))

    assert [e.uri for e in parsed.entries] == [uri(desk.ids[1]), uri(desk.ids[2])]
    assert parsed.tags["#EXT-X-START"] == "TIME-OFFSET=1.000,PRECISE=YES"


async def test_a_range_in_the_past_is_a_finished_playlist(desk: Desk) -> None:
    parsed = await playlist(desk, T0, T0 + timedelta(seconds=20))

    assert parsed.ended
    assert parsed.tags["#EXT-X-PLAYLIST-TYPE"] == "VOD"


async def test_a_range_reaching_now_is_an_event_playlist_without_an_end(desk: Desk) -> None:
    desk.at(RESTART_AT + timedelta(seconds=20))

    parsed = await playlist(desk, T0, RESTART_AT + timedelta(minutes=5))

    assert not parsed.ended
    assert parsed.tags["#EXT-X-PLAYLIST-TYPE"] == "EVENT"
    assert "#EXT-X-START" not in parsed.tags


async def test_a_just_ended_range_stays_open_until_the_recording_reaches_its_end(
    desk: Desk, recorded: Recorded
) -> None:
    last_end = recorded.segments[-1].end
    end = last_end + timedelta(seconds=5)  # not recorded yet: the recorder may still close it
    desk.at(end + timedelta(seconds=1))

    assert not (await playlist(desk, T0, end)).ended
    assert (await playlist(desk, T0, last_end)).ended  # the index already reaches it

    desk.at(end + timedelta(seconds=11))  # settle has passed: nothing more comes
    assert (await playlist(desk, T0, end)).ended


async def test_a_range_without_recording_is_an_empty_playlist(desk: Desk) -> None:
    parsed = await playlist(desk, T0 - timedelta(minutes=10), T0 - timedelta(minutes=5))

    assert parsed.entries == []
    assert parsed.ended
    assert parsed.tags["#EXT-X-TARGETDURATION"] == "1"


async def test_a_segment_whose_file_is_gone_is_left_out(
    desk: Desk, recorded: Recorded, tmp_path: Path
) -> None:
    root = tmp_path / "copy"
    for segment in recorded.segments[:3]:
        target = root / segment.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((recorded.root / segment.path).read_bytes())
    (root / recorded.segments[1].path).unlink()
    desk.index.root = root

    parsed = await playlist(desk, T0, recorded.segments[2].end)

    assert [e.uri for e in parsed.entries] == [uri(desk.ids[0]), uri(desk.ids[2])]


async def test_a_viewing_is_audited_once_with_its_range(desk: Desk, db: Database) -> None:
    start, end = T0, T0 + timedelta(seconds=20)
    await playlist(desk, start, end)
    desk.clock.advance(60)
    await playlist(desk, start, end)  # a player's reload: the same viewing

    actions = await audit_actions(db)
    assert [a for a, _ in actions] == ["playback.view"]
    assert actions[0][1] == {"start": start.isoformat(), "end": end.isoformat(), "segments": 5}

    desk.clock.advance(5 * 60)
    await playlist(desk, start, end)
    await playlist(desk, start, end + timedelta(seconds=1))
    assert [a for a, _ in await audit_actions(db)] == ["playback.view"] * 3


async def test_a_camera_outside_the_scope_is_not_found(desk: Desk, db: Database) -> None:
    with pytest.raises(NotFound):
        await playlist(desk, T0, T0 + timedelta(seconds=20), scope=OUTSIDER)
    with pytest.raises(NotFound):
        await playlist(desk, T0, T0 + timedelta(seconds=20), scope=UNSHARED_PARTNER)
    assert await audit_actions(db) == []


async def test_a_partner_needs_the_playback_right(desk: Desk) -> None:
    with pytest.raises(PermissionDenied):
        await playlist(desk, T0, T0 + timedelta(seconds=20), scope=partner(Right.LIVE))

    parsed = await playlist(desk, T0, T0 + timedelta(seconds=20), scope=partner(Right.PLAYBACK))
    assert len(parsed.entries) == 5


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (T0, T0, "end"),
        (T0, T0 - timedelta(seconds=1), "end"),
        (T0, T0 + timedelta(hours=25), "end"),
        (T0 + timedelta(hours=2), T0 + timedelta(hours=3), "start"),
    ],
)
async def test_a_bad_range_is_refused(
    desk: Desk, start: datetime, end: datetime, field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await playlist(desk, start, end)
    assert refused.value.field == field


async def test_a_segment_resolves_to_its_file_only_for_its_camera(
    desk: Desk, recorded: Recorded
) -> None:
    path = await desk.desk.segment_file(OPERATOR, CAMERA, desk.ids[0])
    assert path == recorded.root / recorded.segments[0].path

    with pytest.raises(NotFound):
        await desk.desk.segment_file(OPERATOR, OTHER_CAMERA, desk.ids[0])
    with pytest.raises(NotFound):
        await desk.desk.segment_file(OPERATOR, CAMERA, 10_000)
    with pytest.raises(NotFound):
        await desk.desk.segment_file(OUTSIDER, CAMERA, desk.ids[0])
    with pytest.raises(PermissionDenied):
        await desk.desk.segment_file(partner(Right.LIVE), CAMERA, desk.ids[0])
