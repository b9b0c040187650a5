"""The native ingest of one camera: what the recording side does with the access units a pull
loop brings (RTSP/RTP depacketised without libavformat, see `adapters.rtsp.pull_loop`), with
the behaviour of `recorder.CameraRecorder` for PyAV sources.

At each connection's first keyframe the init segment is made from the parameter sets (SDP
`sprop-*` or in band, `mp4_init`); its `StreamInfo` heads the segments (`fmp4_segment`), goes
to the tap (live view, snapshots), and a keyframe with other parameter sets (the camera changed
its resolution) starts over with new ones. Every access unit goes to the tap's listeners, then
the ring buffer, then the writer, as one sample shared by all three (no copy). Lost packets
close the segment (`corrupt_stream` gap) until the next keyframe. When a connection ends, the
segment is closed and the hole becomes one `source_lost` gap at the first keyframe back; the
loop reconnects when `due()` says, after the capped backoff; `offline_after_s` without video
reports the camera offline, its first unit online again. A camera the native path cannot read
(another codec, a transport or method refused) is handed with its writer, ring and tap to
`fallback`, which records it with PyAV.

RTP carries presentation times only. Without B-frames they are the decode times too; B-frames
show as small steps back. The first `PROBATION` units of each connection, from its first
keyframe, are held back to tell: a step back among them and the connection's decode times are
made (`protocols.rtp.decode_times`: each picture decodes at the time of the one shown as far
before it as the camera reorders); with none they go on with the times they came at, and the
rest as they come. B-frames that begin only after the probation (a few steps back) hand the
camera over to PyAV, whose parser times them, rather than start decode times in mid-stream.

Called on the pull loop's thread; reports go through `report` as for `CameraRecorder`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from fractions import Fraction
from typing import Final

import structlog

from safecity.core.clock import Clock
from safecity.media.fmp4_segment import Fmp4SegmentFormat
from safecity.media.link_state import LinkState
from safecity.media.mp4_init import InitError, build_init
from safecity.media.recorder import Backoff, redacted
from safecity.media.records import GapCause, RecorderReport
from safecity.media.ring import RingBuffer, RingPacket
from safecity.media.segment_writer import SegmentWriter
from safecity.media.tap import PacketTap, StreamInfo
from safecity.protocols.rtp.access_unit import AccessUnit
from safecity.protocols.rtp.codec import VideoCodec, is_parameter_set, parameter_sets
from safecity.protocols.rtp.decode_times import DecodeTimes
from safecity.protocols.rtsp.track import VideoTrack

_log = structlog.get_logger(__name__)

FFMPEG_NAMES: Final = {VideoCodec.H264: "h264", VideoCodec.H265: "hevc"}
DEFAULT_BACKOFF: Final = Backoff()
REORDER_LIMIT: Final = 3
PROBATION: Final = 5  # a keyframe and four more: I P B B b shows a reordering of 1 or 2
UNUSABLE_LIMIT: Final = 3
NO_PARAMETER_SETS: Final = "no usable parameter sets in the SDP or with the keyframes"
B_FRAMES: Final = "B-frames began in mid-connection: PyAV's parser times them"


class NativeCamera:
    """One camera of a pull loop (a `PulledCamera`)."""

    def __init__(
        self,
        camera_id: int,
        url: str,
        writer: SegmentWriter,
        *,
        report: Callable[[RecorderReport], None],
        clock: Clock,
        backoff: Backoff = DEFAULT_BACKOFF,
        offline_after_s: float = 10.0,
        ring: RingBuffer | None = None,
        tap: PacketTap | None = None,
        fallback: Callable[[NativeCamera, str], None] | None = None,
    ) -> None:
        self.camera_id = camera_id
        self.url = url
        self.writer = writer
        self.ring = ring
        self.tap = tap
        self._report = report
        self._clock = clock
        self._backoff = backoff
        self._fallback = fallback
        self.retired = False
        self._connected = False
        self._next_attempt = clock.monotonic()
        self._link = LinkState(camera_id, clock, offline_after_s, report)
        self._link.lost()  # until its first video
        self._failures = 0
        self._reason = "not connected yet"
        self._track: VideoTrack | None = None
        self._sets: tuple[bytes, ...] = ()
        self._info: StreamInfo | None = None
        self._last: int | None = None  # the last unit's timestamp
        self._step = 0  # and the step before it
        self._reordered = 0  # small steps back in this connection: B-frames
        self._unusable = 0  # keyframes in this connection we could not make an init from
        self._held: list[tuple[AccessUnit, float, datetime]] | None = None  # on probation
        self._decode: DecodeTimes | None = None  # this connection's, if it has B-frames

    # -- what the pull loop calls ------------------------------------------------------------

    def due(self) -> bool:
        if self.retired or self._connected or self._clock.monotonic() < self._next_attempt:
            return False
        self._connected = True
        return True

    def described(self, track: VideoTrack) -> None:
        self._track = track
        self._sets = track.parameter_sets.units()
        self._info = None
        self._last = None
        self._reordered = 0
        self._unusable = 0
        self._held = []
        self._decode = None

    def units(self, units: list[AccessUnit], arrived: float) -> None:
        now = self._clock.now()
        for unit in units:
            if self.retired:
                return  # handed over: the writer, ring and tap are another thread's now
            if self._held is None:
                self._unit(unit, arrived, now)
            else:
                self._hold(unit, arrived, now)

    def ended(self, reason: str, fallback: bool) -> None:
        reason = reason.replace(self.url, redacted(self.url))
        self._connected = False
        self._held = None  # fewer than PROBATION units: never recorded
        if self.tap is not None:
            self.tap.closed()
        self._link.lost()
        self._emit(self.writer.interrupt(GapCause.SOURCE_LOST))
        if self.ring is not None:
            self.ring.clear()
        self._info = None
        _log.info("ingest.source_lost", camera=self.camera_id, reason=reason, fallback=fallback)
        if fallback and self._fallback is not None:
            self.retired = True
            self._fallback(self, reason)
            return
        self._reason = reason
        self._failures += 1
        self._link.check(self._reason)
        self._next_attempt = self._clock.monotonic() + self._backoff.delay(self._failures)

    def tick(self) -> None:
        """Offline after `offline_after_s` without video, connected or not (a camera whose
        RTP brings nothing we can record is as good as gone)."""
        if self._connected and self._link.lost_at is not None:
            self._reason = "connected, but no recordable video"
        self._link.check(self._reason)

    def finish(self) -> None:
        """The loop stopped: close the open segment (no gap; a restart reports one)."""
        self._held = None
        self._emit(self.writer.close())

    # -- units -------------------------------------------------------------------------------

    def _hold(self, unit: AccessUnit, arrived: float, at: datetime) -> None:
        """A unit of the connection's probation: after PROBATION of them, the connection's
        decode times are made if they showed B-frames, and they go on to be recorded."""
        held = self._held
        assert held is not None
        if not held and not unit.keyframe:
            return  # before the first keyframe: `_unit` would drop it too
        held.append((unit, arrived, at))
        if len(held) < PROBATION:
            return
        self._held = None
        track = self._track
        if track is not None:
            step = round(track.clock_rate / track.framerate) if track.framerate else None
            self._decode = DecodeTimes.from_window([item[0].timestamp for item in held], step)
        for item in held:
            self._unit(*item)
            if self.retired:
                return

    def _unit(self, unit: AccessUnit, arrived: float, at: datetime) -> None:
        track = self._track
        if track is None:
            return
        restart = unit.keyframe and (self._info is None or bool(unit.parameter_sets))
        if restart and not self._start(track, unit):
            self._unusable += 1
            if self._unusable >= UNUSABLE_LIMIT:
                self.ended(NO_PARAMETER_SETS, fallback=True)
            return
        info = self._info
        if info is None:
            return  # no keyframe yet on this connection
        if self._link.video(at):
            self._failures = 0
        if unit.after_loss:
            self._emit(self.writer.corrupt())
        timestamp = unit.timestamp
        decode = self._decode
        if decode is not None:
            dts = decode.next(timestamp)
            step = decode.step
        elif self._reordering(timestamp, track.clock_rate):
            self.ended(B_FRAMES, fallback=True)
            return
        else:
            dts = timestamp
            step = self._step
        packet = RingPacket(unit.data, timestamp, dts, step, info.time_base, unit.keyframe, at)
        tap = self.tap if self.tap is not None and self.tap.listeners else None
        if tap is not None:
            tap.packet(info, packet, arrived)  # before the ring: see media.live
        if self.ring is not None:
            self.ring.push(packet)
        self._emit(self.writer.write_sample(unit.data, timestamp, dts, step, unit.keyframe, at))

    def _reordering(self, timestamp: int, clock_rate: int) -> bool:
        """Track the frame step; whether this connection's small steps back say B-frames."""
        last, self._last = self._last, timestamp
        if last is None:
            return False
        if timestamp > last:
            self._step = timestamp - last
        elif _stepped_back(last, timestamp, clock_rate):
            self._reordered += 1
        return self._reordered >= REORDER_LIMIT

    def _start(self, track: VideoTrack, unit: AccessUnit) -> bool:
        """A keyframe: (re)make the init segment if the parameter sets are new."""
        codec = track.codec
        sets = self._sets
        if unit.parameter_sets:
            found = parameter_sets(codec, unit.parameter_sets).units()
            if self._info is not None and found == sets:
                return True  # the same parameter sets repeated in band
            sets = found
        if not sets:
            return False  # none in the SDP and none with this keyframe: wait for another
        pictures = [u for u in unit.nal_units() if not is_parameter_set(codec, u)]
        time_base = Fraction(1, track.clock_rate)
        try:
            init = build_init(FFMPEG_NAMES[codec], sets, pictures, time_base=time_base)
        except InitError as exc:
            _log.warning("ingest.init_failed", camera=self.camera_id, error=str(exc))
            return False
        rate = Fraction(track.framerate).limit_denominator(1001) if track.framerate else None
        info = StreamInfo(
            FFMPEG_NAMES[codec], init.config, init.width, init.height, time_base, rate
        )
        self._sets = sets
        self._info = info
        self._emit(self.writer.use(Fmp4SegmentFormat(info, init.data)))
        if self.tap is not None:
            self.tap.opened(info)
        return True

    def _emit(self, reports: Sequence[RecorderReport]) -> None:
        for item in reports:
            self._report(item)


def _stepped_back(last: int, timestamp: int, clock_rate: int) -> bool:
    """A small step back in presentation time (less than a second): a B-frame's, not a new
    run's."""
    return -clock_rate < timestamp - last <= 0
