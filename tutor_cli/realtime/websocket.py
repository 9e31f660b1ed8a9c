"""The engine reached over a websocket: how a Connection opens one, and what its faults mean.

Every engine but the built-in one a call starts for itself is reached this way (OpenAI, Azure,
a URL, a classroom relay, `tutor serve`). This module loads websockets, which loads ssl, http
and email: it is imported only when a websocket is wanted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from tutor_cli.realtime.connection import EngineUnreachable, Socket
from tutor_cli.realtime.endpoint import Endpoint

# Well above the largest legitimate event (an item retrieved with its audio: a few MB), and a
# bound on what one frame can cost.
MAX_FRAME_BYTES = 16 * 1024 * 1024


class WebSocketOpener:
    """Opens websockets to one endpoint, with its headers, within a timeout."""

    lost: tuple[type[Exception], ...] = (ConnectionClosed,)

    def __init__(self, endpoint: Endpoint, connect_timeout: float) -> None:
        self.endpoint = endpoint
        self.connect_timeout = connect_timeout

    def describe(self) -> str:
        """The endpoint, without credentials."""
        return self.endpoint.describe()

    async def open(self, url: str) -> tuple[Socket, Mapping[str, str]]:
        """A websocket to `url`, and its upgrade response's headers."""
        try:
            socket = await asyncio.wait_for(
                connect(
                    url,
                    additional_headers=self.endpoint.headers,
                    max_size=MAX_FRAME_BYTES,
                    # No permessage-deflate: most frames are base64 PCM (25 mic frames a
                    # second up, the tutor's voice down), which barely compresses, and
                    # compressing and inflating each one costs CPU on both ends for every
                    # second of the call.
                    compression=None,
                    open_timeout=self.connect_timeout,
                    user_agent_header="tutor",
                ),
                self.connect_timeout + 1,
            )
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            raise EngineUnreachable(_describe(exc, self.endpoint.key_variable)) from None
        headers: Mapping[str, str] = socket.response.headers if socket.response else {}
        return socket, headers

    def close_of(self, lost: Exception) -> tuple[int, str]:
        """The close code and reason of a lost socket: the server's, or ours when we closed
        it (a frame over the size limit)."""
        assert isinstance(lost, ConnectionClosed)
        if lost.sent is not None and lost.sent.code == 1009:
            return 1009, f"the engine sent a frame over {MAX_FRAME_BYTES // 2**20} MiB"
        if lost.rcvd is not None:
            return int(lost.rcvd.code), str(lost.rcvd.reason)
        return 1006, "no close frame"


def _describe(exc: BaseException, key_variable: str | None) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status is not None:
        # Named, since a learner on a classroom relay holds a token, not what they call a key.
        where = f" in {key_variable}" if key_variable else ""
        return f"HTTP {status}" + (f" (check the key{where})" if status in (401, 403) else "")
    text = str(exc).strip()
    return text or type(exc).__name__
