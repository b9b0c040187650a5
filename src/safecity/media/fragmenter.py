"""One camera's live fragmented MP4: an init segment, then one `moof`+`mdat` per frame, so each
frame can leave for the browser the moment it arrives (no transcoding).

The init segment (`ftyp`+`moov`, with the `avcC`/`hvcC` built from the stream's parameter sets)
is FFmpeg's (`mp4_init`: built from the codec parameters and the first keyframe, so either
ingest engine's `StreamInfo` will do). The fragments are ours (`mp4_boxes.media_fragment`): FFmpeg's
muxer only closes a fragment when the *next* packet arrives (it needs that packet's time for the
last sample's duration), which would hold every frame back one frame interval; here the
duration comes from the packet, or the step between the last two. Annex B samples (RTSP) become
length-prefixed ones as ISO/IEC 14496-15 wants; MP4/Matroska samples already are.

Time: the output runs on its own timeline in the track's timescale, from 0 at the first
keyframe. When the input steps back or jumps by more than `max_jump_s` (a reconnect, a camera
restart) frames are dropped until the next keyframe, which continues the timeline where it
stopped, so a browser's buffer never sees time go backwards. A new stream object (a
reconnect) gives a new init segment at its first keyframe.

Blocking work without asyncio: the recorder thread calls it through the packet tap.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from safecity.media.mp4_boxes import BoxError, Sample, media_fragment, track_info
from safecity.media.mp4_init import InitError, build_init
from safecity.media.ring import RingPacket
from safecity.media.tap import StreamInfo
from safecity.protocols.rtp.codec import VideoCodec, decoder_config, is_parameter_set
from safecity.protocols.rtp.errors import RtpError
from safecity.protocols.rtp.nal import split_annex_b, split_sample

LIVE_MOVFLAGS: Final[dict[str, str]] = {
    "movflags": "empty_moov+default_base_moof+frag_keyframe+frag_every_frame"
}
CODECS: Final = {"h264": VideoCodec.H264, "hevc": VideoCodec.H265}


@dataclass(frozen=True, slots=True)
class InitSegment:
    """`ftyp`+`moov` for a stream, and the MSE codec string (`avc1.64001f`, `hev1.1.6.L93.B0`)."""

    data: bytes
    codec: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class MediaFragment:
    """One frame as `moof`+`mdat`."""

    data: bytes
    sequence: int  # the mfhd sequence number, from 1
    keyframe: bool
    arrived: float  # when its packet left the demuxer (`time.monotonic()`)
    live: bool  # False for frames replayed from the ring buffer (not measured)


LiveItem = InitSegment | MediaFragment


@dataclass
class _Track:
    stream: StreamInfo
    codec: VideoCodec
    annex_b: bool  # samples carry start codes, not lengths
    length_size: int  # of the samples' NAL lengths (0: Annex B)
    parameter_sets: tuple[bytes, ...]  # from the extradata (else take the first keyframe's)
    time_base: Fraction
    timescale: int = 0
    track_id: int = 1


class LiveFragmenter:
    """Packets in, init segments and fragments out."""

    def __init__(self, *, max_jump_s: float = 2.0) -> None:
        self.max_jump_s = max_jump_s
        self._track: _Track | None = None
        self._refused: StreamInfo | None = None  # a stream whose codec cannot go live
        self._ready = False  # an init segment went out for the current track
        self._sequence = 0
        self._shift = 0  # output decode time = input decode time (in ticks) + shift
        self._next_dts: int | None = None  # output time the next frame should have
        self._last_in: int | None = None  # last input dts, in ticks
        self._step = 0  # the last frame's duration, in ticks
        self._waiting = True  # for a keyframe

    def push(
        self, stream: StreamInfo, packet: RingPacket, arrived: float, *, live: bool = True
    ) -> list[LiveItem]:
        """Take one packet of `stream`; what is ready to send (nothing while waiting for a
        keyframe; an init segment before the first fragment of a new stream)."""
        items: list[LiveItem] = []
        track = self._track
        if track is None or track.stream is not stream:
            if stream is self._refused:
                return []
            track = self._use(stream)
            if track is None:
                self._refused = stream
                return []
        if not self._ready:
            if not packet.keyframe:
                return []
            init = self._init(track, packet.data)
            if init is None:
                self._refused = stream
                self._track = None
                return []
            items.append(init)
        ticks = self._ticks(track, packet.dts)
        if self._continues(track, ticks):
            self._waiting = self._waiting and not packet.keyframe
        elif packet.keyframe:
            self._shift = (self._next_dts or 0) - ticks
            self._waiting = False
        else:
            self._waiting = True
        if self._waiting:
            return items  # `_last_in` stays at the last frame sent: the keyframe is compared to it
        self._last_in = ticks
        duration = self._ticks(track, packet.duration) if packet.duration > 0 else self._step
        duration = duration or max(1, track.timescale // 25)
        decode_time = ticks + self._shift
        self._step = duration
        self._next_dts = decode_time + duration
        self._sequence += 1
        sample = Sample(
            data=self._sample_data(track, packet.data),
            decode_time=decode_time,
            duration=duration,
            composition_offset=self._ticks(track, packet.pts) - ticks,
            keyframe=packet.keyframe,
        )
        fragment = media_fragment(self._sequence, track.track_id, sample)
        items.append(MediaFragment(fragment, self._sequence, packet.keyframe, arrived, live))
        return items

    # -- internals ---------------------------------------------------------------------------

    def _use(self, stream: StreamInfo) -> _Track | None:
        self._track = None
        codec = CODECS.get(stream.codec)
        if codec is None:
            return None  # not a codec MSE plays from MP4 here
        try:
            config = decoder_config(codec, stream.extradata)
        except RtpError:
            return None
        self._track = _Track(
            stream=stream,
            codec=codec,
            annex_b=config.length_size == 0,
            length_size=config.length_size,
            parameter_sets=config.nal_units,
            time_base=stream.time_base,
        )
        self._ready = False
        self._waiting = True
        self._last_in = None  # another stream's times: continue the timeline at its keyframe
        return self._track

    def _init(self, track: _Track, keyframe: bytes) -> InitSegment | None:
        try:
            units = split_sample(keyframe, track.length_size)
            sets = track.parameter_sets or tuple(  # none in the SDP: the keyframe has them
                u for u in units if is_parameter_set(track.codec, u)
            )
            built = build_init(
                track.stream.codec,
                sets,
                [u for u in units if not is_parameter_set(track.codec, u)],
                time_base=track.time_base,
                options=LIVE_MOVFLAGS,
            )
            info = track_info(built.data)
        except (InitError, BoxError, RtpError):
            return None
        track.timescale, track.track_id = info.timescale, info.track_id
        self._ready = True
        width = track.stream.width or built.width
        height = track.stream.height or built.height
        return InitSegment(built.data, info.codec, width, height)

    def _ticks(self, track: _Track, value: int) -> int:
        if track.timescale == 0:  # before the init segment: only differences matter
            return value
        if track.time_base == Fraction(1, track.timescale):
            return value
        return round(value * track.time_base * track.timescale)

    def _continues(self, track: _Track, ticks: int) -> bool:
        if self._last_in is None or self._next_dts is None:
            return False
        step = ticks - self._last_in
        return 0 < step <= self.max_jump_s * track.timescale

    @staticmethod
    def _sample_data(track: _Track, data: bytes) -> bytes:
        if not track.annex_b:
            return data
        return b"".join(len(unit).to_bytes(4, "big") + unit for unit in split_annex_b(data))
