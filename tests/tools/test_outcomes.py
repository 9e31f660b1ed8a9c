"""Tool outcomes read back from the outputs calls sent: typed effects, whatever the shape."""

from __future__ import annotations

import json

import pytest

from tutor_cli.tools.outcomes import (
    GradeRecorded,
    QuizAnswered,
    intended_effect,
    output_error,
    read_outcome,
)

GRADE = {
    "score": 80,
    "goals_achieved": ["Greet"],
    "errors": [],
    "feedback": "Bien.",
    "next_steps": [],
}


def test_our_own_outputs_give_typed_effects() -> None:
    graded = read_outcome("grade_lesson", json.dumps({"ok": True, "stored": GRADE}))
    assert graded.ok and isinstance(graded.effect, GradeRecorded)
    assert graded.effect.score == 80 and graded.effect.grade["goals_achieved"] == ["Greet"]
    stored = {"questions": 4, "correct": 3, "score": 75.0}
    quiz = read_outcome(
        "trigger_quiz",
        json.dumps({"ok": True, "quiz": {"questions": 4, "correct": 3}, "stored": stored}),
    )
    assert quiz.effect == QuizAnswered(3, 4, stored)


@pytest.mark.parametrize(
    "output",
    [
        '{"correct": 2, "total": 5}',
        '{"correct": 2, "questions": 5}',
        '{"quiz": {"correct": 2, "questions": 5}}',
        '{"score": 2, "total": 5}',
        '{"score": 2, "out_of": 5}',
        '{"score": "2/5"}',
        '{"result": "2 / 5"}',
        '{"answered": [{"correct": true}, {"correct": false}, {"correct": true}, false, false]}',
        '{"answers": [{"is_correct": true}, {"is_correct": false}, {"correct": true}, {}, {}]}',
    ],
)
def test_other_clients_quiz_outputs_are_understood(output: str) -> None:
    effect = read_outcome("trigger_quiz", output).effect
    assert isinstance(effect, QuizAnswered) and (effect.correct, effect.questions) == (2, 5)
    assert not effect.skipped


@pytest.mark.parametrize(
    "output",
    [
        '{"ok": true, "skipped": true, "quiz": {"correct": 0, "questions": 4, "skipped": true}}',
        '{"ok": true, "stored": {"correct": 0, "questions": 4, "skipped": true}}',
        '{"correct": 0, "total": 4, "skipped": true}',
    ],
)
def test_a_skipped_quiz_is_read_as_skipped(output: str) -> None:
    effect = read_outcome("trigger_quiz", output).effect
    assert isinstance(effect, QuizAnswered) and effect.skipped
    assert (effect.correct, effect.questions) == (0, 4)


@pytest.mark.parametrize(
    "output",
    [
        "not json",
        "[1, 2]",
        '{"ok": true}',
        '{"stored": {"score": "high"}}',
        '{"correct": -1, "total": 2}',
        '{"correct": 3, "total": 2}',
        '{"score": 0.75}',
        '{"score": "5/4"}',
        '{"answered": 4}',
        '{"answered": []}',
        "[" * 100_000,
    ],
)
def test_malformed_outputs_have_no_effect_and_never_raise(output: str) -> None:
    for name in ("grade_lesson", "trigger_quiz", "something_else"):
        assert read_outcome(name, output).effect is None


def test_a_failed_call_says_why() -> None:
    failed = read_outcome("grade_lesson", '{"ok": false, "error": "score out of range"}')
    assert not failed.ok and failed.error == "score out of range" and failed.effect is None
    assert output_error("garbage") == "failed"


def test_a_grade_can_be_told_from_its_arguments_alone() -> None:
    effect = intended_effect("grade_lesson", json.dumps({**GRADE, "errors": [{"said": 1}]}))
    assert isinstance(effect, GradeRecorded) and effect.grade["errors"] == [{"said": "1"}]
    assert intended_effect("trigger_quiz", '{"questions": 4}') is None
    assert intended_effect("grade_lesson", "{}") is None  # no score: not a grade
