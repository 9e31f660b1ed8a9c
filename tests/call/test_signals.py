"""The process told to end (a kill, a closed terminal, Ctrl+C twice) and learner input that is
not UTF-8: real subprocesses, real signals, a pseudo-terminal where a terminal is needed."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest

from tests.cli_runner import tutor
from tests.conftest import REPO
from tutor_cli.storage.eventlog import read_log

HANG = 60


def wait_for(condition: object, what: str, timeout: float = HANG) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def opening_replied(home: Path) -> bool:
    """The tutor's first reply is in the call's log."""
    logs = list((home / "sessions").glob("*.jsonl")) if (home / "sessions").exists() else []
    return bool(logs) and '"type":"response.done"' in logs[0].read_text(encoding="utf-8")


def call_closed(home: Path) -> tuple[list[object], dict]:
    """The log's records and the session's progress row, once the call is over."""
    (log,) = (home / "sessions").glob("*.jsonl")
    records = [r.event for r in read_log(log)]
    progress = tutor("progress", "a1_taxi_bogota", "--json", home=home)
    (row,) = json.loads(progress.stdout)
    return records, row


def started_in_a_terminal(
    args: list[str], home: Path, screen: bool
) -> tuple[subprocess.Popen[bytes], int]:
    """`tutor ARGS` with a pseudo-terminal as its stdin (and, for the call screen, as its
    stdout and stderr too); returns the process and the terminal's master side."""
    master, slave = pty.openpty()
    env = {**os.environ, "TUTOR_HOME": str(home), "TERM": "xterm-256color", "COLUMNS": "100"}
    out = slave if screen else subprocess.PIPE
    process = subprocess.Popen(
        [sys.executable, "-m", "tutor_cli", *args],
        stdin=slave,
        stdout=out,
        stderr=out,
        cwd=REPO,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    return process, master


def drain(master: int) -> bytes:
    """Read what the program wrote to the terminal, so it never blocks writing."""
    import select

    read = b""
    while select.select([master], [], [], 0)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            return read
        if not chunk:
            return read
        read += chunk
    return read


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_headless_call_told_to_end_grades_and_closes(tmp_path: Path, signum: int) -> None:
    home = tmp_path / "home"
    args = ["call", "a1_taxi_bogota", "--headless", "--text-only"]
    process, master = started_in_a_terminal(args, home, screen=False)
    try:
        wait_for(lambda: opening_replied(home), "the opening")
        process.send_signal(signum)
        out, err = process.communicate(timeout=HANG)
    finally:
        os.close(master)
    assert process.returncode == 0, err.decode()[-2000:]
    assert b"Traceback" not in err
    records, row = call_closed(home)
    assert isinstance(records[-1], dict) and records[-1]["type"] == "tutor.call_ended"
    # The grade was asked for, given and stored; the learner ended the lesson early.
    assert row["score"] is not None and row["finished"] is False and row["kind"] == "live"
    if signum == signal.SIGTERM:
        assert b"lesson summary" in out


def test_a_second_signal_ends_at_once_and_still_closes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    args = ["call", "a1_taxi_bogota", "--headless", "--text-only", "--engine", "offline"]
    process, master = started_in_a_terminal(args, home, screen=False)
    try:
        wait_for(lambda: opening_replied(home), "the opening")
        process.send_signal(signal.SIGTERM)
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=HANG)
    finally:
        os.close(master)
    assert b"Traceback" not in err
    records, row = call_closed(home)
    assert isinstance(records[-1], dict) and records[-1]["type"] == "tutor.call_ended"
    assert row["ended_at"] is not None
    sessions = tutor("progress", "--json", home=home)
    assert sessions.returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_the_call_screen_told_to_end_grades_closes_and_leaves(tmp_path: Path, signum: int) -> None:
    home = tmp_path / "home"
    process, master = started_in_a_terminal(["call", "a1_taxi_bogota"], home, screen=True)
    shown = b""
    try:

        def replied() -> bool:
            nonlocal shown
            shown += drain(master)
            return opening_replied(home)

        wait_for(replied, "the opening")
        process.send_signal(signum)
        deadline = time.monotonic() + HANG
        while process.poll() is None and time.monotonic() < deadline:
            shown += drain(master)
            time.sleep(0.05)
        shown += drain(master)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    assert process.returncode == 0
    records, row = call_closed(home)
    assert isinstance(records[-1], dict) and records[-1]["type"] == "tutor.call_ended"
    assert row["score"] is not None and row["finished"] is False and row["kind"] == "live"
    if signum == signal.SIGTERM:
        # Once the screen is gone, the summary is left in the terminal with the replay command.
        after = shown.rsplit(b"\x1b[?1049l", 1)[-1].decode(errors="replace")
        assert "lesson summary" in after and f"tutor replay {row['log_path']}" in after


@pytest.mark.slow
def test_the_call_screen_whose_terminal_closed_ends_and_exits(tmp_path: Path) -> None:
    """A terminal window closed under a voice call: the terminal is gone (writes fail, reads
    end), the shell sends SIGHUP then SIGCONT. The call grades, closes and exits; it neither
    hangs on output nobody can read nor spins on input that has ended."""
    home = tmp_path / "home"
    quiet = tmp_path / "quiet.wav"
    with wave.open(str(quiet), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(24000)
        out.writeframes(bytes(48000))
    args = ["call", "a1_taxi_bogota", "--mic-file", str(quiet)]
    args += ["--speaker-file", str(tmp_path / "speaker.wav")]
    process, master = started_in_a_terminal(args, home, screen=True)
    try:

        def replied() -> bool:
            drain(master)
            return opening_replied(home)

        wait_for(replied, "the opening")
    finally:
        os.close(master)  # the window is gone
    try:
        process.send_signal(signal.SIGHUP)
        process.send_signal(signal.SIGCONT)
        process.wait(timeout=HANG)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    records, row = call_closed(home)
    assert isinstance(records[-1], dict) and records[-1]["type"] == "tutor.call_ended"
    assert row["ended_at"] is not None and row["kind"] == "live"


def test_learner_input_that_is_not_utf8_is_replaced_and_said(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "TUTOR_HOME": str(home), "COLUMNS": "200"}
    base = [
        sys.executable,
        "-m",
        "tutor_cli",
        "call",
        "a1_taxi_bogota",
        "--headless",
        "--text-only",
    ]
    said = subprocess.run(
        [*base, "--say", os.fsdecode(b"Buenas tardes \xff muy bien")],
        capture_output=True,
        cwd=REPO,
        env=env,
        timeout=HANG,
    )
    assert said.returncode == 0, said.stderr.decode()[-2000:]
    assert b"tutor: warning: --say: bytes that are not UTF-8 were replaced" in said.stderr
    assert "You: Buenas tardes \ufffd muy bien" in said.stdout.decode()
    piped = subprocess.run(
        base, input=b"Buenas tardes \xfe\n", capture_output=True, cwd=REPO, env=env, timeout=HANG
    )
    assert piped.returncode == 0, piped.stderr.decode()[-2000:]
    assert b"tutor: warning: standard input: bytes that are not UTF-8" in piped.stderr
    assert b"Traceback" not in said.stderr + piped.stderr
