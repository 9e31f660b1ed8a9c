from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"


def pytest_configure(config: pytest.Config) -> None:
    """A suite started as a background job of a non-interactive shell inherits SIGINT (and
    SIGQUIT) ignored, and passes that on to every program it starts: the tests that stop a
    child with Ctrl+C's signal, as a learner would, need it delivered."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def tutor_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data folder, so nothing touches the user's."""
    home = tmp_path / "home"
    monkeypatch.setenv("TUTOR_HOME", str(home))
    return home


@pytest.fixture
def taxi_data() -> dict:
    return json.loads((SCENARIOS / "a1_taxi_bogota.json").read_text(encoding="utf-8"))


@pytest.fixture
def user_scenarios(tutor_home: Path) -> Path:
    folder = tutor_home / "scenarios"
    folder.mkdir(parents=True)
    return folder


def shipped_ids() -> list[str]:
    return json.loads((SCENARIOS / "index.json").read_text(encoding="utf-8"))["scenarios"]


def copy_scenario(scenario_id: str, folder: Path) -> Path:
    target = folder / f"{scenario_id}.json"
    shutil.copy(SCENARIOS / f"{scenario_id}.json", target)
    return target
