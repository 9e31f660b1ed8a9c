"""A disk that fills up mid-call: the lesson goes on, the learner is told once, the summary is
printed and the call exits 1; the log keeps whole lines and the progress row is closed when
the database can still be written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.mounts import small_disk, tutor_mounted
from tutor_cli.storage.eventlog import read_log
from tutor_cli.storage.store import ProgressStore

CALL = ("call", "a1_taxi_bogota", "--headless", "--text-only", "--say", "Hola")


def test_a_full_disk_for_the_log_mid_call(tutor_home: Path, tmp_path: Path) -> None:
    sessions = tutor_home / "sessions"
    sessions.mkdir(parents=True, mode=0o700)
    kept = tmp_path / "kept"
    kept.mkdir()
    # The text-only call's log is about 40 kB, its first lines about 15 kB: 24 kB fills up
    # after the lesson has begun. The database stays on the roomy disk.
    result = tutor_mounted(small_disk(sessions, "24k"), *CALL, keep=(sessions, kept))
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert result.returncode == 1, output
    told = [line for line in output.splitlines() if "cannot save the event log" in line]
    assert len(told) == 2, told  # the notice, then the summary's "failed" row
    assert told[0].startswith("cannot save the event log ")
    assert "No space left on device" in told[0]
    assert "── lesson summary ──" in result.stdout
    assert told[1].strip().startswith("failed")
    assert "score" in result.stdout and "Jairo: " in result.stdout
    (log,) = kept.glob("*.jsonl")
    reader = read_log(log)
    assert sum(1 for _ in reader) > 3 and reader.bad_lines == 0
    with ProgressStore.open_default() as store:
        (session,) = store.sessions()
    assert session["ended_at"] is not None
    assert session["grade"] is not None  # the grade still reached the database


def test_a_full_disk_for_the_log_and_the_database(tutor_home: Path) -> None:
    tutor_home.mkdir(mode=0o700)
    # Room for the database's first pages and the log's first lines, then nothing.
    result = tutor_mounted(small_disk(tutor_home, "64k"), *CALL)
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert result.returncode == 1, output
    assert "── lesson summary ──" in result.stdout
    notices = [line for line in output.splitlines() if line.startswith("cannot save ")]
    assert 1 <= len(notices) <= 2, notices  # at most once for the log, once for the database


# The database's file size limit reached mid-call, in a child process (see
# tests/storage/test_eventlog_faults.py): SQLite's writes fail as on a full disk.
FULL_DISK_ROW = """
import json, resource, signal, sys
from datetime import UTC, datetime
from pathlib import Path
from tutor_cli.call.progress import ProgressRow
from tutor_cli.lesson.updates import CallSummary
from tutor_cli.storage.store import ProgressStore

failures = []
store = ProgressStore(Path(sys.argv[1]))
row = ProgressRow(store, on_failure=failures.append)
summary = CallSummary("a1_taxi_bogota", "Taxi", "offline", "offline", datetime.now(UTC))
row.open(summary)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
sizes = sum(p.stat().st_size for p in Path(sys.argv[1]).parent.iterdir())
resource.setrlimit(resource.RLIMIT_FSIZE, (sizes, resource.RLIM_INFINITY))
grade = {"score": 0.5, "goals_achieved": [], "errors": [], "feedback": "x" * 200_000,
         "next_steps": []}
kept = row.record_grade(grade)
row.close(summary)
print(json.dumps({"failures": failures, "failure": row.failure, "kept": kept["score"]}))
"""


def test_a_full_disk_for_the_progress_row_is_told_once(tutor_home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", FULL_DISK_ROW, str(tutor_home / "progress.db")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    (failure,) = outcome["failures"]
    assert failure == outcome["failure"]
    assert failure.startswith(f"cannot save your progress in {tutor_home / 'progress.db'}: ")
    assert outcome["kept"] == 0.5  # the grade passed through for the summary
