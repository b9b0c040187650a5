"""`safecity demo` as a newcomer runs it: a real process that serves the seeded city, whose
simulated panels raise alarms through the platform's own DC-09 receiver and whose simulated
cameras it records."""

from __future__ import annotations

import contextlib
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def _read_banner(process: subprocess.Popen[str], within_s: float) -> tuple[str, str]:
    """The URL and the admin password the demo prints once it is ready."""
    assert process.stdout is not None
    url = password = None
    give_up = time.monotonic() + within_s
    while (url is None or password is None) and time.monotonic() < give_up:
        line = process.stdout.readline()
        if not line:
            break
        if found := re.search(r"running at (http://\S+)", line):
            url = found.group(1)
        if found := re.match(r"\s+admin\s+(\S+)\s+admin\s", line):
            password = found.group(1)
    assert url is not None, "the demo printed no URL"
    assert password is not None, "the demo printed no admin login"
    return url, password


def test_demo_serves_the_city_and_its_panels_raise_alarms(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "safecity", "demo", "--port", "0", "--panel-port", "0"]
    command += ["--panels", "20", "--panel-rate", "20", "--data-dir", str(tmp_path)]
    command += ["--camera-port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        _check_demo(process, tmp_path)


def _segments_within(store: Path, seconds: float) -> int:
    give_up = time.monotonic() + seconds
    count = 0
    while count == 0 and time.monotonic() < give_up:
        with contextlib.closing(sqlite3.connect(store)) as db:
            count = db.execute("select count(*) from recording_segments").fetchone()[0]
        time.sleep(0.5)
    return int(count)


def _check_demo(process: subprocess.Popen[str], data_dir: Path) -> None:
    try:
        url, password = _read_banner(process, 90)
        with httpx.Client(base_url=url, timeout=10) as client:
            login = client.post("/api/auth/login", json={"username": "admin", "password": password})
            token = login.json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            points = client.get("/api/points", params={"limit": 100}, headers=headers).json()
            assert len(points["items"]) >= 30
            alarms: list[object] = []
            give_up = time.monotonic() + 60
            while not alarms and time.monotonic() < give_up:
                alarms = client.get("/api/alarms", headers=headers).json()["items"]
                time.sleep(0.5)
        assert alarms, "no alarm reached the store from the demo's panels within 60 s"
        assert _segments_within(data_dir / "demo.db", 60) > 0, "the demo recorded no segment"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) in (0, 130)
    finally:
        process.kill()
        process.wait()
