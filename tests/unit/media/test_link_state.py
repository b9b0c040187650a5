"""A camera's online state as both ingest engines report it."""

from __future__ import annotations

from safecity.media.link_state import LinkState
from safecity.media.records import CameraOffline, CameraOnline, RecorderReport
from safecity.testing.clock import FakeClock


def test_offline_once_after_the_silence_and_online_at_the_first_video() -> None:
    clock = FakeClock()
    reports: list[RecorderReport] = []
    link = LinkState(7, clock, 10.0, reports.append)
    link.lost()
    lost_at = clock.now()
    clock.advance(9)
    link.check("refused")
    assert reports == []  # a short loss says nothing
    clock.advance(1)
    link.check("refused")
    link.check("refused")
    assert reports == [CameraOffline(7, clock.now(), lost_at, "refused")]
    clock.advance(5)
    assert link.video(clock.now()) is True
    assert link.video(clock.now()) is False  # only the first video after a loss counts
    assert reports[-1] == CameraOnline(7, clock.now())


def test_a_loss_dates_from_its_first_end_and_video_before_any_loss_reports_nothing() -> None:
    clock = FakeClock()
    reports: list[RecorderReport] = []
    link = LinkState(7, clock, 10.0, reports.append)
    assert link.video(clock.now()) is False  # not lost yet: nothing to report
    link.lost()
    clock.advance(6)
    link.lost()  # a second end while lost: the loss still dates from the first
    clock.advance(4)
    link.check("gone")
    (offline,) = reports
    assert isinstance(offline, CameraOffline)
    assert (clock.now() - offline.since).total_seconds() == 10
