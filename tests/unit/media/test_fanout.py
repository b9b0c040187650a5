"""One camera's channel shared by its viewers: late joiners start at a keyframe, slow viewers
skip to the next one, everyone gets the same fragments."""

from __future__ import annotations

from pathlib import Path

from safecity.media.fanout import LiveChannel, LiveViewer, ViewerLimits
from safecity.media.fragmenter import InitSegment, LiveItem, MediaFragment
from safecity.media.latency import LatencyStats
from tests.unit.media.live_fixture import decoded_frames, footage_packets, fragment_all, kinds


def channel(limits: ViewerLimits | None = None) -> tuple[LiveChannel, list[LiveChannel]]:
    emptied: list[LiveChannel] = []
    made = LiveChannel(1, limits or ViewerLimits(), LatencyStats(), emptied.append)
    return made, emptied


def drain(viewer: LiveViewer) -> list[LiveItem]:
    items: list[LiveItem] = []
    while len(viewer):
        items.append(viewer._queue.popleft())  # what `next()` would return, without a loop
    return items


def footage_items(footage: Path) -> list[LiveItem]:
    with footage_packets(footage) as clip:
        return fragment_all(clip)


async def test_a_late_viewer_gets_the_init_segment_and_the_current_gop(footage: Path) -> None:
    items = footage_items(footage)
    live, _ = channel(ViewerLimits(max_fragments=len(items)))  # nobody reads: room for all
    first = live.join()
    keys = [i for i, item in enumerate(items) if isinstance(item, MediaFragment) and item.keyframe]
    live.publish(items[: keys[2] + 10])  # ten frames into the third GOP
    late = live.join()
    got = drain(late)
    assert kinds(got)[:2] == ["init", "key"]
    assert got[1] is not items[keys[2]]  # replayed, marked as not live
    assert len(got) == 1 + 10
    assert not any(isinstance(i, MediaFragment) and i.live for i in got)
    live.publish(items[keys[2] + 10 :])
    got += drain(late)
    assert decoded_frames(got) == len(items) - keys[2]
    assert len(drain(first)) == len(items)


async def test_viewers_of_one_camera_share_the_same_fragments(footage: Path) -> None:
    items = footage_items(footage)
    live, _ = channel(ViewerLimits(max_fragments=len(items)))
    one, two = live.join(), live.join()
    live.publish(items)
    assert [id(i) for i in drain(one)] == [id(i) for i in drain(two)] == [id(i) for i in items]


async def test_a_slow_viewer_skips_to_the_next_keyframe_and_others_lose_nothing(
    footage: Path,
) -> None:
    items = footage_items(footage)
    live, _ = channel(ViewerLimits(max_fragments=40))
    slow, fast = live.join(), live.join()
    received: list[LiveItem] = []
    for item in items:
        live.publish([item])
        received += drain(fast)
    assert len(received) == len(items)
    assert slow.skips > 0
    assert len(slow) <= 40
    queued = drain(slow)
    assert isinstance(queued[0], InitSegment)  # the init segment is never dropped
    assert isinstance(queued[1], MediaFragment)
    assert queued[1].keyframe
    assert decoded_frames(queued) == len(queued) - 1


async def test_the_channel_reports_empty_when_its_last_viewer_leaves() -> None:
    live, emptied = channel()
    one, two = live.join(), live.join()
    one.close()
    assert emptied == []
    two.close()
    assert emptied == [live]
    assert live.closed


async def test_a_sent_live_fragment_is_measured_and_a_replayed_one_is_not(footage: Path) -> None:
    items = footage_items(footage)
    stats = LatencyStats()
    live = LiveChannel(1, ViewerLimits(), stats, lambda _: None)
    viewer = live.join()
    live.publish(items[:3])
    late = live.join()
    for item in drain(viewer) + drain(late):
        viewer.sent(item)
    assert stats.count == 2  # the two live fragments; the init and the replays are not timed
