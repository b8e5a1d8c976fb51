"""Once started, what start-up made is out of the garbage collector's view (issue 16)."""

import gc

from bot.bootstrap import settle_heap


def test_settle_heap_freezes_what_exists_and_new_objects_are_still_collected():
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    threshold = gc.get_threshold()
    try:
        settle_heap()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (*threshold[:2], 100)  # full collections rarer, young ones as they were
        frozen = gc.get_freeze_count()
        Cycle()  # garbage made after start-up is still found by the collector
        assert gc.collect() >= 1
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
