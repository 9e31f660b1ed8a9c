"""Who may use the offline engine: its token (any characters, from the command line or the
environment), the origins a browser may call it from, and which addresses it binds."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys

import pytest
from websockets.exceptions import InvalidStatus

from tests.cli_runner import tutor
from tests.conformance import assert_server_event
from tests.conftest import REPO
from tests.engine.probe import Probe
from tests.engine.test_server import with_engine
from tutor_cli.engine.server import OfflineEngine


def bearer(token: str) -> dict[str, dict[str, str]]:
    return {"additional_headers": {"Authorization": f"Bearer {token}"}}


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    failed = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not failed, [r.getMessage() for r in failed]


async def handshake_status(engine: OfflineEngine, *headers: bytes) -> int:
    """The status of an opening handshake carrying these raw header lines, whatever bytes
    they hold (a client library would refuse to send some of them)."""
    reader, writer = await asyncio.open_connection(engine.host, engine.port)
    request = [
        b"GET /v1/realtime HTTP/1.1",
        f"Host: {engine.host}:{engine.port}".encode(),
        b"Upgrade: websocket",
        b"Connection: Upgrade",
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        b"Sec-WebSocket-Version: 13",
        *headers,
    ]
    writer.write(b"\r\n".join(request) + b"\r\n\r\n")
    status = int((await reader.readline()).split()[1])
    writer.close()
    return status


def test_a_non_ascii_header_is_refused_with_401_not_500(caplog: pytest.LogCaptureFixture) -> None:
    async def body(engine: OfflineEngine) -> None:
        for header in ("Bearer clé", "Bearer s3cret\u00a0"):
            with pytest.raises(InvalidStatus, match="401"):
                await Probe.open(engine, "", additional_headers={"Authorization": header})
        for raw in (
            "Bearer 秘密".encode(),
            b"Bearer s3cret\xff",
            "Bearer s3crét".encode("latin-1"),
        ):
            assert await handshake_status(engine, b"Authorization: " + raw) == 401
        twice = [b"Authorization: Bearer s3cret"] * 2
        assert await handshake_status(engine, *twice) == 401
        assert await handshake_status(engine, b"Authorization: Bearer s3cret") == 101
        probe = await Probe.open(engine, "", **bearer("s3cret"))
        await probe.close()

    with caplog.at_level(logging.DEBUG):
        with_engine(body, token="s3cret")
    no_tracebacks(caplog)


def test_a_non_ascii_token_works_and_refuses_with_401(caplog: pytest.LogCaptureFixture) -> None:
    async def body(engine: OfflineEngine) -> None:
        for given in ({}, bearer("cle"), bearer("Clé"), bearer("naïve")):
            with pytest.raises(InvalidStatus, match="401"):
                await Probe.open(engine, "", **given)
        probe = await Probe.open(engine, "", **bearer("clé"))  # sent as UTF-8, as clients do
        await probe.close()

    with caplog.at_level(logging.DEBUG):
        with_engine(body, token="clé")
    no_tracebacks(caplog)


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:3000",
        "https://localhost",
        "http://127.0.0.1:8080",
        "http://127.1.2.3",
        "http://[::1]:5173",
        "https://tutor.example",
    ],
)
def test_browsers_on_loopback_and_allowed_origins_get_in(origin: str) -> None:
    async def body(engine: OfflineEngine) -> None:
        probe = await Probe.open(engine, "", origin=origin)
        await probe.close()

    with_engine(body, allowed_origins=["https://tutor.example"])


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://localhost.evil.example",
        "http://127.0.0.1.evil.example",
        "https://tutor.example:8443",  # another port is another origin
        "null",  # a sandboxed frame or a local file: could be anything
    ],
)
def test_other_origins_are_refused_with_403(origin: str, caplog: pytest.LogCaptureFixture) -> None:
    async def body(engine: OfflineEngine) -> None:
        with pytest.raises(InvalidStatus, match="403"):
            await Probe.open(engine, "", origin=origin)
        twice = [b"Origin: http://localhost", b"Origin: " + origin.encode()]
        assert await handshake_status(engine, *twice) == 403

    with caplog.at_level(logging.DEBUG):
        with_engine(body, allowed_origins=["https://tutor.example"])
    no_tracebacks(caplog)


def serve_until_listening(*args: str, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """`tutor serve` in a child process, and the URL it says it listens on."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tutor_cli", "serve", "--port", "0", "--pace", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    assert line.startswith("offline engine listening on"), line + server.stderr.read()
    return server, line.split()[-1]


def test_the_token_can_come_from_the_environment() -> None:
    import os

    from websockets.asyncio.client import connect

    server, url = serve_until_listening(env={**os.environ, "TUTOR_SERVE_TOKEN": "from-env"})

    async def body() -> None:
        with pytest.raises(InvalidStatus, match="401"):
            await connect(url)
        async with connect(url, **bearer("from-env")) as ws:
            greeting = json.loads(await ws.recv())
            assert_server_event(greeting)
            assert greeting["type"] == "session.created"

    try:
        asyncio.run(asyncio.wait_for(body(), 60))
    finally:
        server.terminate()
        server.wait(30)
    assert "from-env" not in server.stdout.read()  # never echoed


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "tutor.example"])
def test_binding_beyond_loopback_needs_a_token(host: str) -> None:
    # A short timeout: should the refusal ever regress, the server listens only that long.
    result = tutor(
        "serve", "--host", host, "--port", "0", env={"TUTOR_SERVE_TOKEN": None}, timeout=20
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and host in lines[0] and "--insecure" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_insecure_binding_is_warned_about() -> None:
    # 192.0.2.0/24 is reserved for documentation: no machine has it, so the bind itself fails
    # (one line, exit 2) and nothing is ever exposed; the warning comes before it.
    result = tutor(
        "serve", "--host", "192.0.2.7", "--port", "0", "--insecure", env={"TUTOR_SERVE_TOKEN": None}
    )
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("tutor: warning:") and "192.0.2.7" in lines[0], result.stderr
    assert "token" in lines[0]
    assert result.returncode == 2 and len(lines) == 2 and "cannot listen" in lines[1]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--allow-origin", "tutor.example"], "--allow-origin"),
        (["--allow-origin", "https://tutor.example/path"], "--allow-origin"),
        (["--token", "two\nlines"], "--token"),
    ],
)
def test_bad_exposure_options_are_one_line(args: list[str], field: str) -> None:
    result = tutor("serve", "--port", "0", *args, env={"TUTOR_SERVE_TOKEN": None})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], result.stderr
