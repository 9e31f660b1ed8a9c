"""The event log when the file system does not cooperate: names taken at the same moment by
other calls, and a disk that fills up mid-call."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import REPO
from tutor_cli.storage.eventlog import EventLogWriter, read_log

CREATORS = 48


def _create(folder: Path) -> EventLogWriter:
    return EventLogWriter.create(folder, scenario="a1_taxi_bogota", engine="offline", model="m")


def _create_at_once(folder: Path) -> tuple[list[Path], list[BaseException]]:
    start = threading.Barrier(CREATORS)
    made: list[Path] = []
    failed: list[BaseException] = []

    def create() -> None:
        start.wait()
        try:
            with _create(folder) as log:
                log.write("server", {"type": "session.created"})
                made.append(log.path)
        except BaseException as exc:
            failed.append(exc)

    threads = [threading.Thread(target=create) for _ in range(CREATORS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return made, failed


def test_logs_started_in_the_same_second_get_different_names(tmp_path: Path) -> None:
    for attempt in range(5):  # a race: several rounds, so a lucky one does not hide it
        made, failed = _create_at_once(tmp_path / str(attempt))
        assert failed == []
        assert len(set(made)) == CREATORS
        for path in made:
            reader = read_log(path)
            assert [r.event for r in reader] == [{"type": "session.created"}]
            assert reader.bad_lines == 0


def test_calls_in_separate_processes_get_different_names(tmp_path: Path) -> None:
    # Each process waits for the same instant, then creates its log.
    at = time.time() + 2.0
    code = (
        "import sys, time; from pathlib import Path;"
        "from tutor_cli.storage.eventlog import EventLogWriter;"
        f"time.sleep(max(0.0, {at} - time.time()));"
        "log = EventLogWriter.create(Path(sys.argv[1]), scenario='s', engine='offline', model='m');"
        "print(log.path); log.close()"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for _ in range(12)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0] * 12, outputs
    assert len({out.strip() for out, _err in outputs}) == 12


# Run in a child process: the file size limit (what `ulimit -f` sets) makes the kernel refuse
# writes past it, as a full disk does (EFBIG instead of ENOSPC); SIGXFSZ is ignored so the
# write fails instead of killing the process.
FULL_DISK_WRITER = """
import json, os, resource, signal, sys
from pathlib import Path
from tutor_cli.storage.eventlog import EventLogWriter
from tutor_cli.storage.local_records import CallEnded

failures = []
log = EventLogWriter.create(
    Path(sys.argv[1]), scenario="s", engine="offline", model="m", on_failure=failures.append
)
log.write("server", {"type": "session.created"})
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
room = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_FSIZE, (log.path.stat().st_size + room, resource.RLIM_INFINITY))
for n in range(5):
    log.write("server", {"type": "response.output_text.delta", "delta": "x" * 2000, "n": n})
log.note(CallEnded(log.failure))
log.close()
print(json.dumps({"path": str(log.path), "failures": failures, "failure": log.failure}))
"""


def _fill_the_disk(folder: Path, room: int) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", FULL_DISK_WRITER, str(folder), str(room)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_full_disk_is_reported_once_and_the_log_keeps_whole_lines(tmp_path: Path) -> None:
    outcome = _fill_the_disk(tmp_path, room=30)  # the next line does not fit
    path = Path(outcome["path"])
    (failure,) = outcome["failures"]
    assert failure == outcome["failure"]
    assert str(path) in failure and "File too large" in failure
    reader = read_log(path)
    assert [r.event["type"] for r in reader] == ["session.created"]
    assert reader.bad_lines == 0  # the line cut short was taken back


def test_after_a_full_disk_the_end_record_is_still_tried(tmp_path: Path) -> None:
    # Room for the end record but not for the longer lines before it: the log stops where
    # the disk filled, then says the call ended and why it is incomplete.
    outcome = _fill_the_disk(tmp_path, room=1000)
    reader = read_log(Path(outcome["path"]))
    events = [r.event for r in reader]
    assert [e["type"] for e in events] == ["session.created", "tutor.call_ended"]
    assert "event log" in events[-1]["failure"]
    assert reader.bad_lines == 0
