"""Packets of the real footage for the live-view tests, and a reader of what a viewer received."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import av

from safecity.media.fragmenter import InitSegment, LiveFragmenter, LiveItem, MediaFragment
from safecity.media.mp4_boxes import find
from safecity.media.ring import RingPacket
from safecity.media.tap import StreamInfo
from tests.unit.media.conftest import T0


@dataclass
class Footage:
    stream: StreamInfo  # as the recorder hands it to the tap
    packets: list[RingPacket]


@contextmanager
def footage_packets(path: Path) -> Iterator[Footage]:
    """The file's video stream (open while the block runs) and copies of its packets."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [p for p in (RingPacket.of(raw, T0) for raw in container.demux(stream)) if p]
        yield Footage(StreamInfo.of(stream), packets)


def fragment_all(footage: Footage, packets: list[RingPacket] | None = None) -> list[LiveItem]:
    fragmenter = LiveFragmenter()
    items: list[LiveItem] = []
    for packet in footage.packets if packets is None else packets:
        items += fragmenter.push(footage.stream, packet, 0.0)
    return items


def decode_time(fragment: MediaFragment) -> int:
    tfdt = find(fragment.data, ("moof", "traf", "tfdt"))
    assert tfdt is not None
    value: int = struct.unpack_from(">Q", fragment.data, tfdt.payload + 4)[0]
    return value


def decoded_frames(items: list[LiveItem]) -> int:
    """Frames PyAV decodes from the items concatenated, as a browser's buffer would get them."""
    data = b"".join(item.data for item in items)
    with av.open(io.BytesIO(data), "r") as container:
        return sum(1 for _ in container.decode(video=0))


def kinds(items: list[LiveItem]) -> list[str]:
    return [
        "init" if isinstance(i, InitSegment) else "key" if i.keyframe else "frame" for i in items
    ]
