"""The feed to a learner's client: in order, kept while the client is away, sent again from
the last event the client says it got, and said to be lost when it had to be cut."""

from __future__ import annotations

import asyncio
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.frames import Close

from tutor_cli.relay.feed import ClientFeed


class Socket:
    """A client socket that keeps what it is sent; `dead` ones refuse."""

    def __init__(self, dead: bool = False) -> None:
        self.got: list[str] = []
        self.dead = dead

    async def send(self, text: str) -> None:
        if self.dead:
            raise ConnectionClosed(None, Close(1006, ""))
        self.got.append(text)
        await asyncio.sleep(0)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.dead = True


def run(body: Any) -> Any:
    return asyncio.run(body())


def test_events_wait_for_a_client_and_come_in_order() -> None:
    async def body() -> None:
        feed = ClientFeed()
        first = Socket()
        assert await feed.attach(first, None) is None
        await feed.send("a", "e1")
        feed.detach(first)
        for n in (2, 3):
            await feed.send(f"{n}", f"e{n}")
        assert feed.pending == 2
        again = Socket()
        assert await feed.attach(again, "e1") is None
        await feed.send("4", "e4")
        assert first.got == ["a"] and again.got == ["2", "3", "4"]

    run(body)


def test_events_lost_in_a_dying_socket_are_sent_again() -> None:
    async def body() -> None:
        feed = ClientFeed()
        old = Socket()
        await feed.attach(old, None)
        for n in range(1, 5):
            await feed.send(f"{n}", f"e{n}")
        new = Socket()  # the client got e2 only, the rest died in flight
        assert await feed.attach(new, "e2") is None
        assert new.got == ["3", "4"]

    run(body)


def test_a_feed_over_its_bound_says_events_were_lost() -> None:
    async def body() -> None:
        feed = ClientFeed(max_bytes=10)
        for n in range(5):
            await feed.send("xxxx", f"e{n}")
        assert feed.lost
        reason = await feed.attach(Socket(), None)
        assert reason is not None and "lost" in reason
        assert await feed.attach(Socket(), "unknown-id") is not None

    run(body)


def test_events_sent_long_ago_are_forgotten_but_not_unsent_ones() -> None:
    async def body() -> None:
        now = [0.0]
        feed = ClientFeed(keep_s=10, clock=lambda: now[0])
        socket = Socket()
        await feed.attach(socket, None)
        await feed.send("old", "e1")
        feed.detach(socket)
        await feed.send("waiting", "e2")
        now[0] = 60.0
        await feed.send("new", "e3")
        assert not feed.lost
        back = Socket()
        assert await feed.attach(back, None) is None
        assert back.got == ["waiting", "new"]

    run(body)


def test_a_socket_that_dies_on_send_is_let_go_and_the_event_kept() -> None:
    async def body() -> None:
        feed = ClientFeed()
        dead = Socket(dead=True)
        await feed.attach(dead, None)
        await feed.send("a", "e1")
        assert feed.socket is None
        back = Socket()
        assert await feed.attach(back, None) is None
        assert back.got == ["a"]

    run(body)
