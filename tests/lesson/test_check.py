"""`tutor check` as a lesson author runs it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_runner import tutor
from tests.conftest import SCENARIOS


def test_check_passes_a_good_lesson_and_names_what_it_judged() -> None:
    result = tutor("check", "a1_taxi_bogota")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "a1_taxi_bogota: ok" in result.stdout
    assert "every step accepts its own model answer and no other step's" in result.stdout
    assert "answers judged as labelled (100%" in result.stdout


def test_check_fails_a_lesson_that_praises_wrong_answers(tmp_path: Path) -> None:
    data = json.loads((SCENARIOS / "a1_taxi_bogota.json").read_text(encoding="utf-8"))
    data["id"] = "sloppy"
    data["steps"][2]["accept"].append("\\bvale\\b")  # the price step praises "Vale, gracias"
    data["steps"][5]["require"] = ["\\bgracias\\b"]  # goodbye takes the price answer's thanks
    lesson = tmp_path / "sloppy.json"
    lesson.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    answers = tmp_path / "answers.toml"
    answers.write_text('[price]\nreject = ["Vale, gracias."]\nenglish = ["How much?"]\n')
    result = tutor("check", str(lesson), "--answers", str(answers))
    assert result.returncode == 1
    assert "sloppy: FAILED" in result.stdout
    assert "goodbye: accepts the model answer of step accept_price" in result.stdout
    assert "price: 'Vale, gracias.' [reject] was accepted" in result.stdout


def test_check_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    answers = tmp_path / "answers.toml"
    answers.write_text('[no_such_step]\naccept = ["hola"]\n')
    result = tutor("check", "a1_taxi_bogota", "--answers", str(answers))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"tutor: {answers}: 'no_such_step' is not a step of a1_taxi_bogota"
    )
    assert tutor("check", "nope").returncode == 2


def test_check_a_folder_reports_every_file_even_after_a_bad_one(tmp_path: Path) -> None:
    good = json.loads((SCENARIOS / "a1_taxi_bogota.json").read_text(encoding="utf-8"))
    (tmp_path / "a1_taxi_bogota.json").write_text(json.dumps(good), encoding="utf-8")
    (tmp_path / "aa_broken.json").write_text('{"id": "aa_broken"}', encoding="utf-8")
    result = tutor("check", str(tmp_path))
    assert result.returncode == 1
    assert f"✗ {tmp_path / 'aa_broken.json'}: field 'title'" in result.stdout
    assert "a1_taxi_bogota: ok" in result.stdout  # checked after the bad file


def test_every_shipped_scenario_passes_the_check() -> None:
    result = tutor("check", str(SCENARIOS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": ok (") == len(list(SCENARIOS.glob("*_*.json")))
