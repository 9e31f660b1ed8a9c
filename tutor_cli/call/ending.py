"""How a call ends when the process is told to: Ctrl+C, a kill, a closed terminal."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator

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
