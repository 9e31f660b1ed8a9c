"""A clock the test moves by hand, so what a test sees is the same on every run."""

from __future__ import annotations


class FakeClock:
    """Read it (`clock()`, `clock.monotonic()`) or sleep on it: sleeping (`sleep`, or `asleep`
    where asyncio code awaits) moves it on at once and is noted in `slept`."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
