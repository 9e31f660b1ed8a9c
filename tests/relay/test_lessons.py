"""Whole lessons through the relay, over loopback: `tutor call` as a learner runs it (the
relay's grade stored under the learner's name, not in the learner's own store), and the
OpenAI SDK's own client holding a typed lesson."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

from tests.cli_runner import tutor
from tests.conftest import REPO, SCENARIOS
from tests.relay.harness import book, learners, with_relay
from tutor_cli.engine.phrases import phrases_for
from tutor_cli.lesson.scenario import load_scenario
from tutor_cli.relay.server import Relay
from tutor_cli.storage.store import ProgressStore

TAXI = load_scenario(SCENARIOS / "a1_taxi_bogota.json")


def start_relay(home: Path, *args: str) -> tuple[subprocess.Popen[str], str, str]:
    """`tutor serve --relay` in a child process with its own data folder, its URL and what it
    printed on starting."""
    env = {**os.environ, "TUTOR_HOME": str(home)}
    env.pop("TUTOR_SERVE_TOKEN", None)
    relay = subprocess.Popen(
        [sys.executable, "-m", "tutor_cli", "serve", "--relay", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    assert relay.stdout is not None
    line = relay.stdout.readline()
    assert line.startswith("classroom relay listening on"), line + relay.stderr.read()
    banner = line
    while not line.startswith("Ctrl+C"):  # read here: `communicate` skips what is buffered
        line = relay.stdout.readline()
        banner += line
    return relay, banner.split()[4], banner


def stop(relay: subprocess.Popen[str]) -> tuple[str, str]:
    relay.send_signal(signal.SIGTERM)
    out, err = relay.communicate(timeout=30)
    return out, err


def test_a_scripted_lesson_through_the_relay_leaves_the_grade_with_the_relay(
    tmp_path: Path,
) -> None:
    relay_home, learner_home = tmp_path / "relay", tmp_path / "learner"
    users, tokens = learners(tmp_path, "ana")
    relay, url, banner = start_relay(
        relay_home, "--upstream", "offline", "--users", str(users), "--pace", "0"
    )
    try:
        result = tutor(
            "call",
            "--engine",
            url,
            "--headless",
            "--script",
            "examples/taxi_bogota.toml",
            home=learner_home,
            env={"TUTOR_ENGINE_KEY": tokens["ana"], "OPENAI_API_KEY": None},
        )
    finally:
        out, err = stop(relay)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "checks passed: all expectations met" in result.stdout
    assert "score  100/100" in result.stdout  # the relay's grade, shown in the summary
    assert "stopped." in out and "Traceback" not in err
    assert "10 scenarios, 1 user (" in banner  # not "1 users"
    assert tokens["ana"] not in out + err + result.stdout + result.stderr
    assert "ana" not in err  # the relay's log names users by a tag

    with ProgressStore(relay_home / "progress.db") as store:
        (session,) = store.sessions(user="ana")
        assert session["grade"]["score"] == 100 and session["finished"] is True
        assert session["quiz_results"][0]["correct"] == 4
        log = Path(session["log_path"])
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert tokens["ana"] not in log.read_text()
    with ProgressStore(learner_home / "progress.db") as store:
        (own,) = store.sessions()
        assert own["grade"] is None  # the learner's store never held the grade


def test_the_openai_sdk_holds_a_typed_lesson_through_the_relay(tmp_path: Path) -> None:
    from openai import AsyncOpenAI

    from tests.conformance import assert_server_event

    users, tokens = learners(tmp_path, "bo")

    async def body(relay: Relay) -> None:
        client = AsyncOpenAI(api_key=tokens["bo"], base_url=relay.sdk_base_url)
        async with client.realtime.connect(
            model="gpt-realtime", extra_query={"scenario": TAXI.id}
        ) as conn:
            # No session.update: the relay set the lesson up and asked for the opening.

            async def reply() -> tuple[str, list, list]:
                text, calls, outputs = "", [], []
                async for event in conn:
                    assert_server_event(event.to_dict())
                    assert event.type != "error", event
                    if event.type == "response.output_audio_transcript.done":
                        text += event.transcript
                    elif event.type == "response.function_call_arguments.done":
                        calls.append(event)
                    elif event.type == "conversation.item.added" and (
                        event.item.type == "function_call_output"
                    ):
                        outputs.append(event.item)
                    elif event.type == "response.done":
                        return text, calls, outputs
                raise AssertionError("connection ended")

            opening, _, _ = await reply()
            assert TAXI.opening in opening
            for step in TAXI.steps:
                await conn.conversation.item.create(
                    item={
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": step.model_answer}],
                    }
                )
                await conn.response.create()
                _, calls, _ = await reply()
            (quiz,) = calls
            assert quiz.name == "trigger_quiz"
            result = json.dumps({"correct": 3, "questions": 4})
            await conn.conversation.item.create(
                item={"type": "function_call_output", "call_id": quiz.call_id, "output": result}
            )
            await conn.response.create()
            _, calls, outputs = await reply()
            (grade,) = calls
            assert grade.name == "grade_lesson"
            assert json.loads(grade.arguments)["score"] == 100
            # The relay ran the grade and asked for the goodbye itself.
            closing, calls, more = await reply()
            stored = [json.loads(o.output) for o in outputs + more if o.call_id == grade.call_id]
            assert stored and stored[0]["ok"] and stored[0]["stored"]["score"] == 100
            assert phrases_for(TAXI.language).farewell in closing and not calls
        assert relay.store is not None
        (session,) = relay.store.sessions(user="bo")
        assert session["grade"]["score"] == 100
        assert session["quiz_results"][0]["correct"] == 3

    with_relay(body, users=book(users))
