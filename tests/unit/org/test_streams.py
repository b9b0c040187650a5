"""Credentials go into a camera's stream URL only where the URL has none of its own."""

from __future__ import annotations

import pytest

from safecity.org.streams import with_credentials


@pytest.mark.parametrize(
    ("url", "username", "password", "expected"),
    [
        ("rtsp://10.0.0.5/cam/1", "admin", "s3cret", "rtsp://admin:s3cret@10.0.0.5/cam/1"),
        ("rtsp://10.0.0.5:554/h264", "op", None, "rtsp://op@10.0.0.5:554/h264"),
        ("rtsp://10.0.0.5/x", "a@b", "p:w/d", "rtsp://a%40b:p%3Aw%2Fd@10.0.0.5/x"),
        ("rtsp://own:pw@10.0.0.5/x", "admin", "s3cret", "rtsp://own:pw@10.0.0.5/x"),
        ("rtsp://10.0.0.5/x", None, "s3cret", "rtsp://10.0.0.5/x"),
    ],
)
def test_credentials_join_the_url_percent_encoded_unless_it_has_its_own(
    url: str, username: str | None, password: str | None, expected: str
) -> None:
    assert with_credentials(url, username, password) == expected
