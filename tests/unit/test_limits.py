from datetime import UTC, datetime, timedelta

from bot.domain.limits import SlidingWindow

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_at_most_the_limit_in_any_window_then_again_once_it_slides():
    bound = SlidingWindow(3, timedelta(minutes=10))
    assert [bound.allow("a", NOW + timedelta(minutes=i)) for i in range(5)] == [True, True, True, False, False]
    assert bound.allow("b", NOW)  # another person has their own count
    assert not bound.allow("a", NOW + timedelta(minutes=9, seconds=59))
    assert bound.allow("a", NOW + timedelta(minutes=10, seconds=1))  # the first attempt left the window


def test_refused_attempts_do_not_count():
    bound = SlidingWindow(1, timedelta(minutes=1))
    assert bound.allow("a", NOW)
    for second in range(1, 59):
        assert not bound.allow("a", NOW + timedelta(seconds=second))
    assert bound.allow("a", NOW + timedelta(seconds=61))


def test_no_bound_and_a_memory_bound():
    assert all(SlidingWindow(0, timedelta(minutes=1)).allow("a", NOW) for _ in range(100))
    bound = SlidingWindow(1, timedelta(hours=1), max_keys=10)
    for i in range(100):
        bound.allow(f"k{i}", NOW)
    assert len(bound._seen) <= 10
