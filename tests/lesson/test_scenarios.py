from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SCENARIOS, shipped_ids
from tutor_cli.errors import BadInput
from tutor_cli.lesson.catalogue import Catalogue, check_scenario_id
from tutor_cli.lesson.check import model_answer_problems
from tutor_cli.lesson.scenario import load_scenario


@pytest.mark.parametrize("scenario_id", shipped_ids())
def test_every_shipped_scenario_loads_and_answers_itself(scenario_id: str) -> None:
    scenario = load_scenario(SCENARIOS / f"{scenario_id}.json")
    assert scenario.id == scenario_id
    # A model answer its own step refuses would loop the offline tutor; one another step
    # accepts would let a learner skip ahead.
    assert model_answer_problems(scenario) == []


def test_catalogue_spans_languages_and_levels() -> None:
    entries = list(Catalogue.load())
    assert len(entries) >= 8
    assert len({e.language.split("-")[0] for e in entries}) >= 3
    assert len({e.level for e in entries}) >= 4
    assert {"A1", "C1"} <= {e.level for e in entries}
    taxi = Catalogue.load().get("a1_taxi_bogota")
    assert (taxi.title, taxi.level, taxi.language) == (
        "Taxi in Bogotá (basic greetings + destination)",
        "A1",
        "es-CO",
    )


def test_index_lists_every_file_once() -> None:
    files = {p.stem for p in SCENARIOS.glob("*.json")} - {"index"}
    assert sorted(shipped_ids()) == sorted(files)
    assert len(set(shipped_ids())) == len(shipped_ids())


# --- invalid files ----------------------------------------------------------------------------


def _write(folder: Path, data: object, name: str = "bad_one") -> Path:
    path = folder / f"{name}.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _taxi_as(data: dict, name: str = "bad_one") -> dict:
    return {**data, "id": name}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda d: d.pop("title"), "title", "Field required"),
        (lambda d: d.update(level="A7"), "level", "Input should be"),
        (lambda d: d.update(language="Spanish"), "language", "should match pattern"),
        (lambda d: d.update(colour="red"), "colour", "unknown field"),
        (lambda d: d["steps"][1]["accept"].append("(unclosed"), "steps[1].accept", "regular expr"),
        (lambda d: d["steps"][0].update(id="destination"), "(top level)", "used twice"),
        (lambda d: d.update(steps=[]), "steps", "at least 1"),
        (lambda d: d["persona"].update(voice="robot"), "persona.voice", "Input should be"),
        (lambda d: d.update(correction_style="harsh"), "correction_style", "Input should be"),
        (lambda d: d.update(tools=["delete_everything"]), "tools[0]", "Input should be"),
        (lambda d: d.update(speech_speed=3), "speech_speed", "less than or equal"),
        (
            lambda d: d.update(turn_detection={"type": "semantic_vad", "threshold": 0.4}),
            "turn_detection",
            "semantic_vad takes only",
        ),
    ],
)
def test_invalid_scenario_gives_one_line_naming_file_and_field(
    user_scenarios: Path, taxi_data: dict, change, field: str, message: str
) -> None:
    data = _taxi_as(taxi_data)
    change(data)
    path = _write(user_scenarios, data)
    with pytest.raises(BadInput) as caught:
        load_scenario(path)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: field '{field}'"), text
    assert message in text


def test_invalid_json_names_line_and_column(user_scenarios: Path) -> None:
    path = _write(user_scenarios, '{"id": "bad_one",\n "title": }')
    with pytest.raises(BadInput, match=r"bad_one.json: invalid JSON at line 2 column"):
        load_scenario(path)


def test_id_must_match_file_name(user_scenarios: Path, taxi_data: dict) -> None:
    _write(user_scenarios, _taxi_as(taxi_data, "other_name"), name="bad_one")
    with pytest.raises(BadInput, match="does not match the file name"):
        Catalogue.load().get("bad_one")


def test_catalogue_summary_errors_name_the_field(user_scenarios: Path, taxi_data: dict) -> None:
    data = _taxi_as(taxi_data)
    data["estimated_minutes"] = "ten"
    _write(user_scenarios, data)
    with pytest.raises(BadInput, match=r"bad_one.json: field 'estimated_minutes': not a int"):
        Catalogue.load().get("bad_one")


# --- the catalogue ------------------------------------------------------------------------------


def test_user_scenarios_join_and_may_replace_builtins(
    user_scenarios: Path, taxi_data: dict, tmp_path: Path
) -> None:
    _write(user_scenarios, _taxi_as(taxi_data, "my_lesson"), name="my_lesson")
    extra = tmp_path / "extra"
    extra.mkdir()
    _write(extra, {**taxi_data, "title": "My own taxi"}, name="a1_taxi_bogota")
    catalogue = Catalogue.load([extra])
    assert catalogue.get("my_lesson").builtin is False
    assert catalogue.get("a1_taxi_bogota").title == "My own taxi"
    assert len(catalogue) == len(shipped_ids()) + 1


def test_missing_extra_folder_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="scenario folder does not exist"):
        Catalogue.load([tmp_path / "nowhere"])


@pytest.mark.parametrize(
    "bad_id",
    ["../x", "/etc/passwd", "../../etc/passwd", "a1_taxi_bogota.json", "A1_TAXI", "", "a b"],
)
def test_path_like_ids_are_refused(bad_id: str) -> None:
    with pytest.raises(BadInput, match="invalid scenario id"):
        check_scenario_id(bad_id)
    with pytest.raises(BadInput, match="invalid scenario id"):
        Catalogue.load().get(bad_id)


def test_unknown_id_suggests_close_matches() -> None:
    with pytest.raises(BadInput, match=r"unknown scenario 'a1_taxi_bogot' \(did you mean a1_taxi"):
        Catalogue.load().get("a1_taxi_bogot")
    with pytest.raises(BadInput, match=r"unknown scenario 'zzz' \(see 'tutor list'\)"):
        Catalogue.load().get("zzz")


def test_filter_by_level_and_language_prefix() -> None:
    catalogue = Catalogue.load()
    assert {e.level for e in catalogue.filtered(level="A1")} == {"A1"}
    spanish = catalogue.filtered(language="es")
    assert spanish and all(e.language.split("-")[0] == "es" for e in spanish)
    assert [e.id for e in catalogue.filtered(language="es-CO")] == ["a1_taxi_bogota"]
    assert catalogue.filtered(language="e") == []
