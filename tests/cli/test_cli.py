"""The command line as a user runs it: real processes, real exit codes, real output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runner import tutor
from tests.conftest import shipped_ids


def test_version() -> None:
    result = tutor("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("tutor 0.")


def test_list_table_and_json() -> None:
    table = tutor("list")
    assert table.returncode == 0, table.stderr
    assert "a1_taxi_bogota" in table.stdout and "Taxi in Bogotá" in table.stdout
    rows = json.loads(tutor("list", "--json").stdout)
    assert [r["id"] for r in rows] == shipped_ids()
    assert {"id", "title", "level", "language"} <= set(rows[0])


def test_list_filters() -> None:
    rows = json.loads(tutor("list", "--level", "a1", "--language", "es", "--json").stdout)
    assert rows and all(r["level"] == "A1" and r["language"].startswith("es") for r in rows)
    bad = tutor("list", "--level", "Z9")
    assert bad.returncode == 2
    assert bad.stderr.startswith("tutor: Invalid value for '--level': 'Z9' is not one of")
    assert bad.stderr.strip().endswith("(see 'tutor list --help')")
    assert len(bad.stderr.strip().splitlines()) == 1


def test_show_table_and_json() -> None:
    shown = tutor("show", "a1_taxi_bogota")
    assert shown.returncode == 0, shown.stderr
    for text in ("Jairo", "Goals", "Steps", "Vocabulary", "¿Para dónde lo llevo?", "sumercé"):
        assert text in shown.stdout
    data = json.loads(tutor("show", "a1_taxi_bogota", "--json").stdout)
    assert data["id"] == "a1_taxi_bogota" and len(data["steps"]) >= 5


@pytest.mark.parametrize("command", ["show", "call"])
@pytest.mark.parametrize(
    ("scenario_id", "message"),
    [
        ("nope", "tutor: unknown scenario 'nope'"),
        ("../../etc/passwd", "tutor: invalid scenario id '../../etc/passwd'"),
        ("/etc/passwd", "tutor: invalid scenario id '/etc/passwd'"),
    ],
)
def test_bad_scenario_id_is_one_line_and_exit_2(
    command: str, scenario_id: str, message: str
) -> None:
    result = tutor(command, scenario_id)
    assert result.returncode == 2
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_invalid_user_scenario_is_one_line_and_exit_2(tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "broken.json").write_text('{"id": "broken"', encoding="utf-8")
    result = tutor("show", "broken", "--scenarios", str(folder))
    assert result.returncode == 2
    assert result.stderr.startswith(f"tutor: {folder / 'broken.json'}: invalid JSON")
    assert len(result.stderr.strip().splitlines()) == 1
    # The rest of the catalogue still works; the broken file is named once.
    listed = tutor("list", "--scenarios", str(folder))
    assert listed.returncode == 0
    assert listed.stderr.startswith(f"tutor: warning: {folder / 'broken.json'}: skipped: invalid")
    assert len(listed.stderr.strip().splitlines()) == 1


def test_scenario_text_is_shown_literally(tmp_path: Path) -> None:
    data = json.loads((Path("scenarios") / "a1_taxi_bogota.json").read_text(encoding="utf-8"))
    data.update(id="hostile", title="[bold red]Boom[/] \x1b]0;pwned\x07 \x1b[2J")
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "hostile.json").write_text(json.dumps(data), encoding="utf-8")
    for args in (["list"], ["show", "hostile"]):
        out = tutor(*args, "--scenarios", str(folder))
        assert out.returncode == 0, out.stderr
        assert "[bold red]Boom[/]" in out.stdout
        assert "\x1b" not in out.stdout and "\x07" not in out.stdout
        assert "␛]0;pwned␇" in out.stdout


def test_list_does_not_import_slow_modules() -> None:
    code = (
        "import sys; from tutor_cli.cli import main; main(['list']); main(['list', '--json']);"
        "heavy = [m for m in ('textual', 'sounddevice', 'websockets', 'numpy', 'pydantic')"
        " if m in sys.modules]; print('HEAVY', heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert "HEAVY []" in result.stdout, result.stdout[-500:]


def test_a_text_only_call_does_not_load_the_audio_stack() -> None:
    """numpy, the resampler, the turn detector, espeak and PortAudio wait for audio: a
    text-only lesson, the offline engine in the same process, never loads them; nor `regex`,
    which only patterns with lookaround need (the taxi lesson has none)."""
    code = (
        "import sys; from tutor_cli.cli import main;"
        "code = main(['call', 'a1_taxi_bogota', '--headless', '--text-only',"
        " '--say', 'Buenas tardes.']);"
        "heavy = [m for m in ('numpy', 'soxr', 'webrtcvad', 'espeakng_loader', 'sounddevice',"
        " 'textual', 'regex') if m in sys.modules]; print('EXIT', code, 'HEAVY', heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert "EXIT 0 HEAVY []" in result.stdout, (result.stdout[-500:], result.stderr[-500:])


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (
            ["call", "a1_taxi_bogota", "--echo-gate", "maybe"],
            "tutor: Invalid value for '--echo-gate'",
        ),
        (
            ["call", "a1_taxi_bogota", "--noise-reduction", "loud"],
            "tutor: Invalid value for '--noise",
        ),
        (
            ["call", "a1_taxi_bogota", "--mic-speed", "warp"],
            "tutor: Invalid value for '--mic-speed'",
        ),
        (["call", "--bogus"], "tutor: No such option: --bogus"),
        (["nonsense"], "tutor: No such command 'nonsense'"),
        (["replay"], "tutor: Missing argument 'LOG'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str], start: str) -> None:
    result = tutor(*args)
    assert result.returncode == 2
    assert result.stderr.startswith(start), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "--help')" in result.stderr
