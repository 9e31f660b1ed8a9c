"""What a relay allows each learner: sessions at once, minutes per session, and how long a
session waits for a client that dropped."""

from __future__ import annotations

from collections import Counter

from tutor_cli.datatypes import datatype
from tutor_cli.relay.feed import MAX_BYTES


@datatype
class Limits:
    """The relay's limits, as `tutor serve --relay` sets them."""

    sessions_per_user: int = 2
    max_minutes: float = 60.0
    grace_s: float = 60.0  # a dropped client may come back this long
    grade_wait_s: float = 15.0  # at the time limit, the longest wait for the grade
    feed_bytes: int = MAX_BYTES  # what a session keeps for its client while it is away
    upstream_retries: int = 5
    upstream_backoff: float = 0.5


class SessionCount:
    """Sessions open per user (a session waiting for its client to come back counts: it
    holds an engine session)."""

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._open: Counter[str] = Counter()

    def admit(self, user: str | None) -> str | None:
        """Count a new session for `user`; why not, when they have all they may. Without
        users (an open relay on loopback) nobody is counted."""
        if user is None:
            return None
        if self._open[user] >= self.per_user:
            lessons = "lesson" if self.per_user == 1 else "lessons"
            return (
                f"you already have {self.per_user} {lessons} open on this relay "
                "(its limit); end one first"
            )
        self._open[user] += 1
        return None

    def release(self, user: str | None) -> None:
        if user is not None and self._open[user] > 0:
            self._open[user] -= 1
