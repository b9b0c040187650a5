"""Capped exponential backoff."""

from __future__ import annotations

import pytest

from safecity.core.backoff import Backoff


def test_waits_double_up_to_the_cap() -> None:
    backoff = Backoff(initial_s=0.25, max_s=2.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    assert backoff.delay(10_000) == 2.0  # no overflow far past the cap


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(initial_s=5.0, max_s=1.0)
