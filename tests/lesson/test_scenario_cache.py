"""A scenario file is checked once per content: later calls build it from what the check kept,
without pydantic; a changed or damaged entry, or a changed file, is checked again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, copy_scenario

LOAD = """
import json, sys
from pathlib import Path
from tutor_cli.errors import BadInput
from tutor_cli.lesson.scenario import load_scenario
try:
    scenario = load_scenario(Path(sys.argv[1]))
except BadInput as exc:
    print(json.dumps({"error": str(exc)}))
else:
    print(json.dumps({"title": scenario.title, "voice": scenario.persona.voice,
                      "speed": scenario.speech_speed, "pydantic": "pydantic" in sys.modules}))
"""


def load(path: Path, then: str = "") -> dict:
    """The scenario at `path`, loaded in a fresh process that then runs `then`."""
    result = subprocess.run(
        [sys.executable, "-c", LOAD + then, str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    loaded: dict = json.loads(result.stdout)
    return loaded


def entries(home: Path) -> list[Path]:
    return sorted((home / "cache" / "scenarios").glob("*.json"))


def test_checked_once_then_built_without_pydantic(tutor_home: Path, user_scenarios: Path) -> None:
    path = copy_scenario("a1_taxi_bogota", user_scenarios)
    first = load(path)
    assert first["pydantic"] and first["title"].startswith("Taxi in Bogotá")
    (entry,) = entries(tutor_home)
    assert entry.stat().st_mode & 0o777 == 0o600
    again = load(path)
    assert not again["pydantic"]
    assert {**again, "pydantic": True} == first  # the same scenario, defaults included


def test_a_changed_file_is_checked_again(tutor_home: Path, user_scenarios: Path) -> None:
    path = copy_scenario("a1_taxi_bogota", user_scenarios)
    load(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**data, "level": "Z9"}), encoding="utf-8")
    assert "field 'level'" in load(path)["error"]
    path.write_text(json.dumps({**data, "speech_speed": 0.8}), encoding="utf-8")
    changed = load(path)
    assert changed["pydantic"] and changed["speed"] == 0.8


def test_a_damaged_entry_is_checked_again(tutor_home: Path, user_scenarios: Path) -> None:
    path = copy_scenario("a1_taxi_bogota", user_scenarios)
    first = load(path)
    (entry,) = entries(tutor_home)
    for damage in ("{not json", '{"id": "a1_taxi_bogota"}', "[]"):
        entry.write_text(damage, encoding="utf-8")
        assert load(path) == first  # checked again (pydantic loaded), and kept again
        assert json.loads(entry.read_text(encoding="utf-8"))["id"] == "a1_taxi_bogota"


def test_nothing_is_kept_without_a_home(tutor_home: Path, tmp_path: Path) -> None:
    path = copy_scenario("a1_taxi_bogota", tmp_path)
    assert load(path)["pydantic"]
    assert not tutor_home.exists()  # the cache never creates the home


def test_kept_when_the_home_is_made_after_the_check(tutor_home: Path, tmp_path: Path) -> None:
    """A learner's first call checks its scenario before anything has made the home; the call
    makes it (the store, the log) before it exits, and the check is kept then."""
    path = copy_scenario("a1_taxi_bogota", tmp_path)
    make_home = "\nfrom tutor_cli.storage.paths import tutor_home\ntutor_home().mkdir()\n"
    assert load(path, then=make_home)["pydantic"]
    assert len(entries(tutor_home)) == 1
    assert not load(path)["pydantic"]
