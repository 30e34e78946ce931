"""Start-up pauses the collector and freezes what it built, then turns the collector back on."""

from __future__ import annotations

import gc

from deephaven_mcp.serving.process import collector_paused


def test_the_collector_is_off_inside_and_back_on_after() -> None:
    frozen = gc.get_freeze_count()
    assert gc.isenabled()
    try:
        with collector_paused():
            assert not gc.isenabled()
            built = [{"schema": [index]} for index in range(1_000)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(built)
    finally:
        gc.unfreeze()


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()
