"""What every long-running process does once it has started."""

from __future__ import annotations

import gc

from safecity.process_setup import freeze_startup_heap


def test_the_startup_heap_leaves_the_collectors_generations() -> None:
    kept = [[n] for n in range(1000)]  # tracked containers alive at "start-up"
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()
