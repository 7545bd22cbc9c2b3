"""The web process's garbage collector: the start-up objects frozen, the youngest generation rarely run."""

from __future__ import annotations

import gc

from accorria_agent.app import WEB_GC_YOUNG_THRESHOLD, tune_gc_for_requests


def test_the_web_collects_its_youngest_generation_rarely_and_keeps_the_older_thresholds() -> None:
    before = gc.get_threshold()
    try:
        tune_gc_for_requests()
        young, middle, old = gc.get_threshold()
        assert young == WEB_GC_YOUNG_THRESHOLD > before[0]
        assert (middle, old) == before[1:]
    finally:
        gc.set_threshold(*before)
