"""Calls end to end: headless and scripted against the offline engine (in the call's process),
reconnects, hostile servers and secrets (real sockets, on loopback only)."""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import Coroutine
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve

from tests.call.fake_engine import Collect
from tests.call.fake_engine import run_call as run_lesson
from tests.cli_runner import tutor
from tests.conformance import assert_client_event
from tests.conftest import REPO
from tutor_cli.engine.server import OfflineEngine
from tutor_cli.lesson.updates import ConnectionState
from tutor_cli.realtime.endpoint import resolve_endpoint
from tutor_cli.replay.playback import Replay
from tutor_cli.storage.eventlog import read_log

KEY = "sk-proj-THISISASECRETKEY0123456789"


def log_records(home: Path) -> list:
    (log,) = sorted((home / "sessions").glob("*.jsonl"))
    reader = read_log(log, strict=True)
    return list(reader)


# --- headless and scripted, through the command line ---


@pytest.mark.parametrize("example", sorted(p.name for p in (REPO / "examples").glob("*.toml")))
def test_example_scripts_pass_on_the_offline_engine(
    example: str, tutor_home: Path, tmp_path: Path
) -> None:
    junit = tmp_path / "report.xml"
    result = tutor(
        "call",
        "--headless",
        "--text-only",
        "--script",
        f"examples/{example}",
        "--junit",
        str(junit),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "checks passed: all expectations met" in result.stdout
    suite = ElementTree.parse(junit).getroot()
    assert suite.get("failures") == "0" and int(suite.get("tests")) >= 2
    records = log_records(tutor_home)
    client = [r.event for r in records if r.dir == "client"]
    assert client and all(assert_client_event(e) is None for e in client)
    # A scripted run is kept, but it is not the learner's progress.
    assert json.loads(tutor("progress", "--json").stdout) == []
    (row,) = json.loads(tutor("progress", "--all", "--json").stdout)
    (session,) = json.loads(tutor("progress", row["scenario"], "--all", "--json").stdout)
    assert session["kind"] == "scripted" and session["score"] is not None


def test_a_wrong_expectation_fails_with_a_clear_report(tutor_home: Path, tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    result = tutor(
        "call",
        "--headless",
        "--text-only",
        "--script",
        "tests/data/wrong_expectation.toml",
        "--junit",
        str(junit),
    )
    assert result.returncode == 1
    assert (
        "FAIL turn 1 ('Buenas tardes, muy bien.'): reply matches /(?i)this will never match/"
        in result.stdout
    )
    assert "got: '¡Qué bien! ¿Para dónde lo llevo?'" in result.stdout
    assert "FAIL end: tutor calls trigger_quiz" in result.stdout
    assert ElementTree.parse(junit).getroot().get("failures") == "2"


def test_a_junit_report_with_control_characters_is_well_formed_and_private(
    tutor_home: Path, tmp_path: Path
) -> None:
    """A reply regex with ESC, BEL and NUL (TOML escapes them) lands in the report's test
    names: the report stays well-formed XML, and owner-only even over an old 0644 file. (A tool
    name with them names no tool, and is refused before the call.)"""
    script = tmp_path / "control.toml"
    script.write_text(
        'scenario = "a1_taxi_bogota"\n'
        "[[turns]]\n"
        'say = "Buenas tardes, muy bien."\n'
        'expect.reply = "\\u001b\\u0007\\u0000"\n'
        'expect.tool = "grade_lesson"\n',
        encoding="utf-8",
    )
    junit = tmp_path / "report.xml"
    junit.write_text("old report", encoding="utf-8")
    junit.chmod(0o644)
    result = tutor(
        "call", "--headless", "--text-only", "--script", str(script), "--junit", str(junit)
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    suite = ElementTree.parse(junit).getroot()
    names = [case.get("name") for case in suite.iter("testcase")]
    assert names == [
        "turn 1 ('Buenas tardes, muy bien.'): reply matches //",
        "turn 1 ('Buenas tardes, muy bien.'): tutor calls grade_lesson",
    ]
    assert suite.get("failures") == "2"
    assert stat.S_IMODE(junit.stat().st_mode) == 0o600


def test_an_invalid_script_is_one_line_and_exit_2() -> None:
    result = tutor("call", "--headless", "--script", "tests/data/unknown_key.toml")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "tutor: tests/data/unknown_key.toml: unknown key 'turns[0].expect.replyy' "
        "(allowed: reply, tool)"
    )


def test_piped_lines_are_learner_turns(tutor_home: Path) -> None:
    result = tutor(
        "call",
        "a1_taxi_bogota",
        "--headless",
        "--text-only",
        stdin="Buenas tardes, muy bien.\nAl hotel Tequendama, por favor.\n",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.index("You: Buenas tardes, muy bien.") < out.index(
        "¿Para dónde lo llevo?", out.index("You: Buenas")
    )
    assert "You: Al hotel Tequendama, por favor." in out and "tráfico" in out
    assert "grade_lesson" in out  # ending the call asks for a grade
    assert "lesson summary" in out and "score" in out
    assert str(tutor_home / "sessions") in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["call", "--headless"], "tutor: name a scenario"),
        (
            ["call", "a1_taxi_bogota", "--engine", "openai"],
            "tutor: --engine openai needs an API key",
        ),
        (
            ["call", "a1_taxi_bogota", "--engine", "carrier-pigeon"],
            "tutor: --engine: 'carrier-pigeon' is not one of",
        ),
        (["call", "a1_taxi_bogota", "--junit", "x.xml"], "tutor: --junit needs --script"),
        (
            ["doctor", "--engine", "carrier-pigeon"],
            "tutor: --engine: 'carrier-pigeon' is not one of",
        ),
        (["call", "--script", "nope.toml"], "tutor: nope.toml: no such file"),
        (["call", "a1_taxi_bogota", "--timeout", "nan"], "tutor: --timeout: nan must be"),
    ],
)
def test_bad_call_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = tutor(*args, env={"OPENAI_API_KEY": ""})
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1


# --- endpoints ---


def test_openai_key_goes_to_openai_only() -> None:
    env = {"OPENAI_API_KEY": KEY, "TUTOR_ENGINE_KEY": ""}
    openai = resolve_endpoint("auto", model=None, scenario="s", env=env)
    assert openai.url == "wss://api.openai.com/v1/realtime?model=gpt-realtime"
    assert openai.headers == {"Authorization": f"Bearer {KEY}"}
    custom = resolve_endpoint("ws://127.0.0.1:9/v1/realtime", model=None, scenario="s1", env=env)
    assert custom.headers == {} and KEY not in custom.url
    assert custom.url == "ws://127.0.0.1:9/v1/realtime?model=gpt-realtime&scenario=s1"
    keyed = resolve_endpoint(
        "wss://x.example/rt?model=m", model=None, scenario="s", env={"TUTOR_ENGINE_KEY": "tk"}
    )
    assert (
        keyed.headers == {"Authorization": "Bearer tk"}
        and keyed.url == "wss://x.example/rt?model=m&scenario=s"
    )
    assert resolve_endpoint("auto", model=None, scenario="s", env={}) is None  # offline


# --- in-process calls against special servers ---


async def run_call(
    engine: str, turns: list[str], env: dict[str, str] | None = None, **settings: Any
) -> tuple[Any, Collect]:
    ended = await run_lesson(engine, turns, env, **{"grade_timeout": 5, **settings})
    return ended.summary, ended.view


async def forward(
    client: ServerConnection,
    engine: ClientConnection,
    down: Coroutine[Any, Any, None] | None = None,
) -> None:
    """Pass frames both ways until either side ends: the client's up to the engine, and the
    engine's down to the client (or through `down`, which does that its own way)."""

    async def plain_down() -> None:
        async for frame in engine:
            await client.send(frame)

    async def up() -> None:
        async for frame in client:
            await engine.send(frame)

    tasks = [asyncio.create_task(down or plain_down()), asyncio.create_task(up())]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()


class DroppingProxy:
    """Forwards to the offline engine, and drops the first client socket abnormally in the
    middle of its second reply."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.connections = 0

    async def handle(self, client: ServerConnection) -> None:
        self.connections += 1
        first = self.connections == 1
        async with connect(self.upstream + "?scenario=a1_taxi_bogota", max_size=None) as engine:
            replies = 0

            async def down() -> None:
                nonlocal replies
                async for frame in engine:
                    event = json.loads(frame)
                    if event["type"] == "response.created":
                        replies += 1
                    if first and replies == 2 and event["type"] == "response.output_text.delta":
                        await client.close(code=1011, reason="test drop")
                        return
                    await client.send(frame)

            await forward(client, engine, down())


def test_reconnect_restores_history_and_gets_the_lost_reply(tutor_home: Path) -> None:
    async def main() -> tuple[Any, Collect, DroppingProxy]:
        async with OfflineEngine(port=0, pace=0) as engine:
            proxy = DroppingProxy(engine.url)
            async with serve(proxy.handle, "127.0.0.1", 0) as server:
                port = server.sockets[0].getsockname()[1]
                summary, view = await run_call(
                    f"ws://127.0.0.1:{port}/v1/realtime", ["Buenas tardes, muy bien."]
                )
                return summary, view, proxy

    summary, view, proxy = asyncio.run(main())
    assert proxy.connections == 2
    states = [u.state for u in view.updates if isinstance(u, ConnectionState)]
    assert states[:4] == ["connecting", "connected", "reconnecting", "connected"]
    text = view.out.getvalue()
    assert "reconnected; asking the tutor again for the lost reply" in text
    assert summary.failure is None
    records = log_records(tutor_home)
    client = [r.event for r in records if r.dir == "client"]
    for event in client:
        assert_client_event(event)
    types = [e["type"] for e in client]
    second_update = types.index("session.update", 1)
    restored = client[second_update + 1 : second_update + 4]
    assert [e["item"]["role"] for e in restored[:2]] == ["assistant", "user"]  # history re-created
    assert "Buenas tardes, muy bien." in json.dumps(restored, ensure_ascii=False)
    # the reply lost in the drop was asked for again, and arrived on the new socket
    assert "¿Para dónde lo llevo?" in text
    # the log says what the Call did, so a replay shows each turn once
    locals_ = [r.event["type"] for r in records if r.dir == "local" and isinstance(r.event, dict)]
    assert "tutor.connection_lost" in locals_ and "tutor.history_restored" in locals_
    (log,) = sorted((tutor_home / "sessions").glob("*.jsonl"))
    replayed = Replay(log, Watcher(), instant=True).run()
    assert replayed.lesson.learner_turns == summary.learner_turns == 1
    assert replayed.lesson.tutor_turns == summary.tutor_turns


class RecordingProxy:
    """Forwards to the offline engine, keeping the path and headers each client asked with:
    a local stand-in for an Azure resource (or a gateway in front of one)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.requests: list[tuple[str, dict[str, str]]] = []

    async def handle(self, client: ServerConnection) -> None:
        assert client.request is not None
        self.requests.append((client.request.path, dict(client.request.headers)))
        async with connect(self.upstream + "?scenario=a1_taxi_bogota", max_size=None) as engine:
            await forward(client, engine)


def test_azure_holds_a_lesson_on_the_ga_path_of_a_local_stand_in(tutor_home: Path) -> None:
    """`--engine azure` with an http:// endpoint: ws://, /openai/v1/realtime?model=<deployment>,
    the key in `api-key`, no api-version, and the lesson goes through."""

    async def main() -> tuple[Any, RecordingProxy, int]:
        async with OfflineEngine(port=0, pace=0) as engine:
            proxy = RecordingProxy(engine.url)
            async with serve(proxy.handle, "127.0.0.1", 0) as server:
                port = server.sockets[0].getsockname()[1]
                env = {
                    "AZURE_OPENAI_ENDPOINT": f"http://127.0.0.1:{port}/",
                    "AZURE_OPENAI_API_KEY": "az-test-key",
                    "AZURE_OPENAI_DEPLOYMENT": "rt-deploy",
                    "OPENAI_API_KEY": KEY,
                }
                summary, _view = await run_call("azure", ["Buenas tardes, muy bien."], env=env)
                return summary, proxy, port

    summary, proxy, port = asyncio.run(main())
    assert summary.failure is None and summary.learner_turns == 1 and summary.tutor_turns >= 2
    ((path, headers),) = proxy.requests
    assert path == "/openai/v1/realtime?model=rt-deploy"
    assert headers["api-key"] == "az-test-key"
    assert "authorization" not in {name.lower() for name in headers}  # OpenAI's key stays home
    assert KEY not in json.dumps(headers)
    text = "".join(
        json.dumps(r.event) if isinstance(r.event, dict) else r.event
        for r in log_records(tutor_home)
    )
    assert "az-test-key" not in text and f"ws://127.0.0.1:{port}/openai/v1/realtime" in text


class Watcher:
    """A replay view that only counts."""

    def begin(self, info: object) -> None:
        pass

    def show(self, update: object, at: float | None) -> None:
        pass


HOSTILE = "[red]Hola[/red] [link=https://x]x[/link] \x1b[2J\x1b]0;pwned\x07 \x9b31m"


async def hostile_server(ws: ServerConnection) -> None:
    auth = ws.request.headers.get("Authorization", "")
    await ws.send(json.dumps({"type": "session.created", "session": {"type": "realtime"}}))
    creates = 0
    async for frame in ws:
        event = json.loads(frame)
        if event["type"] != "response.create":
            continue
        creates += 1
        if creates > 1:  # later requests (after the tool output) get a plain empty reply
            await ws.send(
                json.dumps({"type": "response.created", "response": {"id": f"r{creates}"}})
            )
            await ws.send(json.dumps({"type": "response.done", "response": {"id": f"r{creates}"}}))
            continue
        where = {"response_id": "r1", "item_id": "i1", "output_index": 0, "content_index": 0}
        await ws.send("<<this is not json>>")
        await ws.send(json.dumps([1, 2, 3]))
        await ws.send(json.dumps({"type": "totally.unknown.event", "x": 1}))
        await ws.send(
            json.dumps(
                {"type": "error", "error": {"code": "weird", "message": f"[bold]boom[/] {auth}"}}
            )
        )
        await ws.send(json.dumps({"type": "response.created", "response": {"id": "r1"}}))
        await ws.send(json.dumps({"type": "response.output_text.delta", **where, "delta": HOSTILE}))
        await ws.send(json.dumps({"type": "response.output_text.done", **where, "text": HOSTILE}))
        arguments = json.dumps(
            {"score": 50, "goals_achieved": [], "errors": [], "feedback": HOSTILE, "next_steps": []}
        )
        await ws.send(
            json.dumps(
                {
                    "type": "response.output_item.done",
                    "response_id": "r1",
                    "output_index": 1,
                    "item": {
                        "id": "f1",
                        "type": "function_call",
                        "call_id": "c1",
                        "name": "grade_lesson",
                        "arguments": arguments,
                        "status": "completed",
                    },
                }
            )
        )
        await ws.send(
            json.dumps({"type": "response.done", "response": {"id": "r1", "status": "completed"}})
        )


def test_hostile_server_is_survived_and_printed_literally(tutor_home: Path) -> None:
    async def main() -> tuple[Any, Collect]:
        async with serve(hostile_server, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            return await run_call(
                f"ws://127.0.0.1:{port}/v1/realtime",
                ["Hola"],
                env={"OPENAI_API_KEY": KEY, "TUTOR_ENGINE_KEY": KEY},
            )

    summary, view = asyncio.run(main())
    text = view.out.getvalue()
    assert "[red]Hola[/red] [link=https://x]x[/link]" in text
    assert "␛[2J␛]0;pwned␇" in text and "<9b>31m" in text
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
    assert "[bold]boom[/]" in text and "weird" in text
    assert "not a JSON object" in text
    assert summary.grade is not None and summary.grade["score"] == 50
    # the key was sent to the server (TUTOR_ENGINE_KEY), which echoed it: it never lands anywhere
    assert KEY not in text
    log = next((tutor_home / "sessions").glob("*.jsonl"))
    assert KEY not in log.read_text(encoding="utf-8") and "[redacted]" in log.read_text(
        encoding="utf-8"
    )
    db = tutor_home / "progress.db"
    assert KEY.encode() not in db.read_bytes()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    records = log_records(tutor_home)
    assert "<<this is not json>>" in [r.event for r in records if r.dir == "local"]


def test_unreachable_engine_fails_clearly(tutor_home: Path) -> None:
    summary, view = asyncio.run(
        run_call("ws://127.0.0.1:9/v1/realtime", ["Hola"], connect_timeout=2)
    )
    assert summary.failure is not None and "cannot reach" in summary.failure
    assert "failed" in view.out.getvalue()
