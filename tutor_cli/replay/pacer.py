"""Where a replay is in the lesson, as a function of real time: pausable, its speed changeable,
seekable. Pure: every method takes `now` (seconds on any monotonic clock), so the headless
loop drives it with `time.monotonic` and `time.sleep`, the call screen with its own clock and
asyncio, and the tests with numbers.

A pacer starts *held*: the position stays put until `release`, so reading the log up to the
first record shown (or, after a seek, up to the target) costs no lesson time.
"""

from __future__ import annotations

import math


class Pacer:
    """The lesson position (seconds into the lesson) at any real time `now`."""

    def __init__(self, position: float = 0.0, *, speed: float = 1.0, paused: bool = False) -> None:
        if not speed > 0:
            raise ValueError("speed must be more than 0")
        self._base = position  # the position at real time `_since` (None while held)
        self._since: float | None = None
        self.speed = speed
        self.paused = paused

    @property
    def held(self) -> bool:
        return self._since is None

    def position(self, now: float) -> float:
        if self._since is None or self.paused:
            return self._base
        return self._base + (now - self._since) * self.speed

    def delay(self, at: float, now: float) -> float:
        """Real seconds until the position reaches `at`: 0 when it has, infinity while paused
        or held (nothing moves until the learner resumes or the replay releases it)."""
        ahead = at - self.position(now)
        if ahead <= 0:
            return 0.0
        if self.paused or self._since is None:
            return math.inf
        return ahead / self.speed

    def _rebase(self, now: float) -> None:
        self._base = self.position(now)
        if self._since is not None:
            self._since = now

    def release(self, now: float) -> None:
        """Start moving from where it is held (a no-op once moving)."""
        if self._since is None:
            self._since = now

    def pause(self, now: float) -> None:
        self._rebase(now)
        self.paused = True

    def resume(self, now: float) -> None:
        self._rebase(now)
        self.paused = False

    def set_speed(self, speed: float, now: float) -> None:
        if not speed > 0:
            raise ValueError("speed must be more than 0")
        self._rebase(now)
        self.speed = speed

    def seek(self, position: float) -> None:
        """Jump to `position` and hold there until the next `release`."""
        self._base, self._since = max(0.0, position), None
