"""How a call ends: the grade asked for, within one grade timeout; and what ends it when the
process is told to (Ctrl+C, a kill, a closed terminal)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from tutor_cli.realtime import events
from tutor_cli.realtime.relayed import GRADE_REQUEST

if TYPE_CHECKING:
    from tutor_cli.call.controller import Call


def _wants_grade(call: Call) -> bool:
    return (
        call.connected
        and not call.hurried
        and call.summary.grade is None
        and "grade_lesson" in call.scenario.tools
    )


async def ask_for_the_grade(call: Call) -> None:
    """If the lesson has no grade yet, ask the tutor for one. A reply under way may still
    give it; a reply that does not finish in time is given up on, so the grade request is
    not held behind it. All the waiting together lasts at most the grade timeout."""
    if not _wants_grade(call):
        return
    timeout = call.settings.grade_timeout
    deadline = time.monotonic() + timeout
    await call.wait_idle(timeout)
    if call.conversation.responding and not call.hurried:
        call.conversation.abandon_reply()
    if _wants_grade(call):
        call.notify("asking the tutor for a grade…")
        call.grade_forced = True  # the tutor had not graded yet: the lesson was not over
        if call.link.relayed:  # it may not be told which tool to call: it is asked to
            await call.request_reply(metadata=GRADE_REQUEST)
        else:
            await call.request_reply(tool_choice=events.force_tool("grade_lesson"))
        left = max(0.0, deadline - time.monotonic())
        if not await call.wait_idle(left) or call.summary.grade is None:
            call.notify("no grade arrived in time", "warning")


# Ctrl+C, a kill, a closed terminal (or tab): each ends the call the same way.
ENDING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def ending_signals(first: Callable[[int], None], second: Callable[[int], None]) -> Iterator[None]:
    """While inside: the first of `ENDING_SIGNALS` calls `first` (ask for the grade, then
    end), any later one `second` (end at once; the log and the progress row are still
    closed). Runs on the event loop, so both may touch the call."""
    loop = asyncio.get_running_loop()
    seen: list[int] = []

    def received(signum: int) -> None:
        seen.append(signum)
        (first if len(seen) == 1 else second)(signum)

    for signum in ENDING_SIGNALS:
        loop.add_signal_handler(signum, received, signum)
    try:
        yield
    finally:
        for signum in ENDING_SIGNALS:
            loop.remove_signal_handler(signum)
