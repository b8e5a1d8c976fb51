"""``limited_call``: one connector call in a limiter slot, retried when throttled (issue 16), in virtual time."""

from __future__ import annotations

import pytest

from bot.adapters.ratelimit import RateLimiter, limited_call


class Answered(Exception):
    def __init__(self, status: int, retry_after: str | None = None) -> None:
        super().__init__(status)
        self.status, self.retry_after = status, retry_after


def status_of(error: Exception) -> int | None:
    return error.status if isinstance(error, Answered) else None


def retry_after_of(error: Exception) -> str | None:
    return error.retry_after if isinstance(error, Answered) else None


class Script:
    """A call that fails with the given answers first, then returns ``"ok"``; sleeps are recorded."""

    def __init__(self, *failures: Answered) -> None:
        self.failures = list(failures)
        self.tries = 0
        self.slept: list[float] = []

    async def __call__(self) -> str:
        self.tries += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


async def run(script: Script, **options: object) -> str:
    return await limited_call(RateLimiter(), "tenant", "conversation", script, status_of=status_of,
                              retry_after_of=retry_after_of, sleep=script.sleep, **options)  # type: ignore[arg-type]


async def test_throttled_calls_are_retried_honouring_retry_after():
    script = Script(Answered(429, "2"), Answered(503), Answered(412))
    with pytest.raises(Answered) as raised:  # 503 is not one of Teams' throttling answers: raised at once
        await run(script)
    assert raised.value.status == 503 and script.tries == 2
    assert 2.0 <= script.slept[0] <= 2.2  # Retry-After, plus up to 10 %

    script = Script(Answered(429, "1"), Answered(502), Answered(504))
    assert await run(script) == "ok" and script.tries == 4
    assert 1.0 <= script.slept[0] <= 1.1 and 0.5 <= script.slept[1] <= 1.0 and 1.0 <= script.slept[2] <= 2.0


async def test_retries_are_bounded_by_attempts_by_wait_and_by_budget():
    script = Script(*[Answered(429, "0")] * 5)
    with pytest.raises(Answered):
        await run(script, max_attempts=4)
    assert script.tries == 4

    script = Script(Answered(429, "30"))  # longer than max_wait: the outbox's own retry waits instead
    with pytest.raises(Answered):
        await run(script)
    assert script.tries == 1 and script.slept == []

    script = Script(Answered(429, "3"))  # would end after the budget (someone waits for the answer)
    with pytest.raises(Answered):
        await run(script, budget=2.0)
    assert script.tries == 1

    script = Script(Answered(412))
    with pytest.raises(Answered):
        await run(script, retry_on=frozenset({429}))  # e.g. a new card's POST after a 502: maybe applied
    assert script.tries == 1


async def test_an_error_that_is_no_connector_answer_is_raised_at_once():
    async def broken() -> str:
        raise OSError("connection refused")

    with pytest.raises(OSError):
        await limited_call(None, "tenant", None, broken, status_of=status_of, retry_after_of=retry_after_of)
