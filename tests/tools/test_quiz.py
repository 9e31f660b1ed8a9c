from __future__ import annotations

import asyncio
import json
import zlib
from typing import Any

import pytest

from tests.conftest import SCENARIOS, shipped_ids
from tutor_cli.lesson.scenario import Scenario, load_scenario
from tutor_cli.tools.outcomes import QuizAnswered, read_outcome
from tutor_cli.tools.quiz import (
    BLANK,
    TRIGGER_QUIZ_TOOL,
    Question,
    Quiz,
    build_quiz,
    check_answer,
    normalise,
    quiz_seed,
    score_quiz,
    spelling,
)
from tutor_cli.tools.registry import ToolContext, ToolRegistry
from tutor_cli.tools.specs import TRIGGER_QUIZ


def scenario(scenario_id: str = "a1_taxi_bogota") -> Scenario:
    return load_scenario(SCENARIOS / f"{scenario_id}.json")


TAXI = scenario()
STEP_ANSWERS = {step.model_answer for step in TAXI.steps}
MEANINGS = {item.meaning for item in TAXI.vocabulary}


def from_steps(question: Question) -> bool:
    return question.prompt.startswith("Task: ")


# --- building -------------------------------------------------------------------------------


def test_same_seed_same_quiz() -> None:
    assert build_quiz(TAXI, seed=7) == build_quiz(TAXI, seed=7)
    assert build_quiz(TAXI, focus="vocabulary", count=8, seed=3) == build_quiz(
        TAXI, focus="vocabulary", count=8, seed=3
    )


def test_seeds_vary_the_quiz() -> None:
    quizzes = {build_quiz(TAXI, seed=seed) for seed in range(10)}
    assert len(quizzes) > 1


def test_the_seed_comes_from_the_scenario_id_and_is_stable() -> None:
    # crc32, not hash(): the same lesson gives the same quiz in every process.
    assert quiz_seed(TAXI) == zlib.crc32(b"a1_taxi_bogota")
    assert quiz_seed(TAXI) == quiz_seed(scenario())
    assert quiz_seed(TAXI) != quiz_seed(scenario("a1_cafe_paris"))


@pytest.mark.parametrize("count", [1, 3, 4, 10])
def test_count_is_honoured(count: int) -> None:
    assert len(build_quiz(TAXI, count=count).questions) == count


def test_count_is_clamped_to_what_the_lesson_gives() -> None:
    assert len(build_quiz(TAXI, focus="phrases", count=50).questions) == len(TAXI.steps)
    assert len(build_quiz(TAXI, focus="vocabulary", count=50).questions) == len(TAXI.vocabulary)
    everything = len(TAXI.steps) + len(TAXI.vocabulary)
    assert len(build_quiz(TAXI, count=50).questions) == everything
    assert len(build_quiz(TAXI, count=0).questions) == 1


def test_vocabulary_focus_asks_only_about_vocabulary() -> None:
    quiz = build_quiz(TAXI, focus="vocabulary", count=10)
    assert quiz.title.startswith("Vocabulary quiz")
    terms = {item.term for item in TAXI.vocabulary}
    for question in quiz.questions:
        assert not from_steps(question)
        if question.kind == "choice":
            assert question.answer in MEANINGS
            assert any(f"«{term}»" in question.prompt for term in terms)
        else:
            assert BLANK in question.prompt


def test_phrases_focus_asks_only_about_steps() -> None:
    quiz = build_quiz(TAXI, focus="phrases", count=6)
    assert all(from_steps(q) and q.kind == "choice" for q in quiz.questions)
    assert {q.answer for q in quiz.questions} == STEP_ANSWERS
    assert all(set(q.choices) <= STEP_ANSWERS for q in quiz.questions)


def test_mixed_focus_alternates_from_the_start() -> None:
    quiz = build_quiz(TAXI, count=4)
    assert [from_steps(q) for q in quiz.questions] == [False, True, False, True]
    assert {q.kind for q in quiz.questions} == {"choice", "fill"}


def test_choices_hold_the_answer_without_duplicates() -> None:
    for seed in range(20):
        for question in build_quiz(TAXI, count=16, seed=seed).questions:
            if question.kind == "choice":
                assert question.answer in question.choices
                assert 2 <= len(question.choices) <= 4
                assert len({normalise(c) for c in question.choices}) == len(question.choices)
            else:
                assert question.choices == ()


def test_vocabulary_fill_blanks_the_term_in_its_example() -> None:
    quiz = build_quiz(TAXI, focus="vocabulary", count=10)
    fills = {q.answer: q.prompt for q in quiz.questions if q.kind == "fill"}
    # The example writes «¿Cuánto cuesta el taxi?»: found despite case, accents and «¿?».
    assert fills["Cuánto cuesta"] == (
        'Fill in the blank ("how much does it cost?"): ¿____ el taxi?'
    )
    assert fills["la calle"] == 'Fill in the blank ("the street"): Vivo en ____ veintiséis.'


def test_a_term_is_not_found_inside_another_word() -> None:
    (mil,) = [item for item in TAXI.vocabulary if item.term == "mil"]
    # «mil» appears only inside «familia»: no gap-fill, so the item is asked as a choice.
    hidden = mil.model_copy(update={"example": "La familia llegó."})
    lesson = TAXI.model_copy(update={"vocabulary": [TAXI.vocabulary[0], hidden]})
    for seed in range(10):
        quiz = build_quiz(lesson, focus="vocabulary", count=2, seed=seed)
        asked = [q for q in quiz.questions if "«mil»" in q.prompt or "familia" in q.prompt]
        assert [q.kind for q in asked] == ["choice"]


def test_a_lesson_with_one_step_still_gives_a_question() -> None:
    lesson = TAXI.model_copy(update={"steps": TAXI.steps[4:5], "vocabulary": []})
    quiz = build_quiz(lesson, focus="phrases")
    assert len(quiz.questions) == 1
    (question,) = quiz.questions
    assert question.kind == "fill"
    assert question.answer == "Canadá"
    assert question.prompt.endswith("Fill in the blank: Soy de ____.")
    assert build_quiz(lesson, focus="vocabulary").questions == ()


def test_unknown_focus_is_refused() -> None:
    with pytest.raises(ValueError, match="focus 'grammar'"):
        build_quiz(TAXI, focus="grammar")


@pytest.mark.parametrize("scenario_id", shipped_ids())
def test_every_shipped_lesson_gives_a_quiz_its_own_answers_pass(scenario_id: str) -> None:
    lesson = scenario(scenario_id)
    for focus in ("mixed", "vocabulary", "phrases"):
        quiz = build_quiz(lesson, focus=focus, count=4, seed=quiz_seed(lesson))
        assert len(quiz.questions) == 4, focus
        result = score_quiz(quiz, [q.answer for q in quiz.questions])
        assert result["correct"] == 4, result
        for question in quiz.questions:
            assert question.prompt.strip()
            if question.kind == "choice":
                assert question.answer in question.choices
                assert len(set(map(normalise, question.choices))) == len(question.choices)
                position = question.choices.index(question.answer)
                assert check_answer(question, str(position + 1))
                assert check_answer(question, "abcd"[position])


# --- checking answers -----------------------------------------------------------------------

FILL = Question(kind="fill", prompt="?", answer="¿Cuánto cuesta?")
CALLE = Question(kind="fill", prompt="?", answer="la calle", accepted=("la carrera",))
FRENCH = Question(kind="fill", prompt="?", answer="s'il vous plaît")
CHOICE = Question(
    kind="choice",
    prompt="What does «mil» mean?",
    answer="thousand",
    choices=("please", "thousand", "the street", "where to?"),
)


@pytest.mark.parametrize(
    ("question", "given", "expected"),
    [
        (FILL, "¿Cuánto cuesta?", True),
        (FILL, "cuanto cuesta", True),
        (FILL, "CUÁNTO CUESTA", True),
        (FILL, "  ¿cuánto   cuesta ?! ", True),
        (FILL, "«Cuánto cuesta»", True),
        (FILL, "cuanto", False),
        (FILL, "cuánto cuestan", False),
        (FILL, "", False),
        (FILL, "¿?", False),
        (CALLE, "La Calle", True),
        (CALLE, "calle", False),  # the article is part of the answer
        (CALLE, "la carrera", True),  # accepted alternative
        (FRENCH, "s\u2019il vous plait", True),  # typographic apostrophe, no accent
        (FRENCH, "sil vous plait", False),
        (CHOICE, "thousand", True),
        (CHOICE, "Thousand.", True),
        (CHOICE, "2", True),
        (CHOICE, "b", True),
        (CHOICE, "B)", True),
        (CHOICE, "(b)", True),
        (CHOICE, "1", False),
        (CHOICE, "a", False),
        (CHOICE, "5", False),
        (CHOICE, "e", False),
        (CHOICE, "0", False),
        (CHOICE, "please", False),
        (FILL, "1", False),  # numbers pick choices only in choice questions
    ],
)
def test_check_answer(question: Question, given: str, expected: bool) -> None:
    assert check_answer(question, given) is expected


def test_a_right_answer_without_its_accents_is_shown_as_spelt() -> None:
    question = Question("fill", "¿Cómo está, ____?", "sumercé", accepted=("su merced",))
    assert spelling(question, "sumerce") == "sumercé"
    assert spelling(question, "Sumercé.") is None  # as written, give or take case
    assert spelling(question, "su merced") is None  # another right answer, as written
    assert spelling(question, "usted") is None  # wrong: "expected" says the rest
    choice = Question("choice", "What is «calle»?", "street", ("street", "house"))
    assert spelling(choice, "a") is None


def test_score_quiz_counts_and_pads_skipped_answers() -> None:
    quiz = Quiz(title="t", questions=(FILL, CHOICE, CALLE))
    result = score_quiz(quiz, ["cuanto cuesta", "d"])
    assert result == {
        "questions": 3,
        "correct": 1,
        "answers": [
            {
                "question": "?",
                "given": "cuanto cuesta",
                "expected": "¿Cuánto cuesta?",
                "correct": True,
            },
            {
                "question": "What does «mil» mean?",
                "given": "d",
                "expected": "thousand",
                "correct": False,
            },
            {"question": "?", "given": "", "expected": "la calle", "correct": False},
        ],
        "skipped": False,
    }
    assert score_quiz(quiz, ["x"] * 5)["questions"] == 3


@pytest.mark.parametrize("answers", [[], ["", " "], ["", "", "", "extra"]])
def test_a_quiz_with_no_answer_given_is_skipped(answers: list[str]) -> None:
    quiz = Quiz(title="t", questions=(FILL, CHOICE, CALLE))
    result = score_quiz(quiz, answers)
    assert result["skipped"] is True and result["correct"] == 0 and result["questions"] == 3


# --- the tool, end to end -------------------------------------------------------------------


def run_tool(
    arguments: str, answer: Any, lesson: Scenario = TAXI
) -> tuple[Any, list[Quiz], list[dict[str, Any]]]:
    shown: list[Quiz] = []
    stored: list[dict[str, Any]] = []

    async def ask_quiz(quiz: Quiz) -> list[str]:
        shown.append(quiz)
        await asyncio.sleep(0)  # the view awaits the learner
        return [answer(q) for q in quiz.questions]

    def record_quiz(result: dict[str, Any]) -> dict[str, Any]:
        stored.append(result)
        return {"id": 9, "score": round(100 * result["correct"] / result["questions"])}

    ctx = ToolContext(
        scenario=lesson,
        record_grade=lambda grade: grade,
        record_quiz=record_quiz,
        ask_quiz=ask_quiz,
    )
    outcome = asyncio.run(ToolRegistry.default().run("trigger_quiz", arguments, ctx))
    return outcome, shown, stored


def test_tool_uses_the_shared_spec() -> None:
    assert TRIGGER_QUIZ_TOOL.name == "trigger_quiz"
    assert TRIGGER_QUIZ_TOOL.spec is TRIGGER_QUIZ


def test_trigger_quiz_defaults_to_four_mixed_questions_and_stores_the_result() -> None:
    outcome, shown, stored = run_tool("{}", lambda q: q.answer)
    assert outcome.ok, outcome.error
    (quiz,) = shown
    assert quiz == build_quiz(TAXI, focus="mixed", count=4, seed=quiz_seed(TAXI))
    assert len(stored) == 1 and stored[0]["correct"] == 4
    sent = json.loads(outcome.output)
    assert sent["ok"] is True
    assert sent["quiz"] == stored[0]
    assert sent["stored"] == {"id": 9, "score": 100}
    assert outcome.result == {"quiz": stored[0], "stored": {"id": 9, "score": 100}}


def test_trigger_quiz_takes_focus_and_count_and_scores_skips() -> None:
    outcome, shown, _ = run_tool(
        '{"focus": "vocabulary", "questions": 3}',
        lambda q: "" if q.kind == "fill" else q.answer,
    )
    assert outcome.ok, outcome.error
    (quiz,) = shown
    assert len(quiz.questions) == 3 and not any(from_steps(q) for q in quiz.questions)
    fills = sum(q.kind == "fill" for q in quiz.questions)
    assert outcome.result["quiz"]["correct"] == 3 - fills
    assert outcome.result["stored"]["id"] == 9


def test_a_skipped_quiz_tells_the_tutor_so() -> None:
    outcome, _, stored = run_tool("{}", lambda q: "")
    assert outcome.ok, outcome.error
    assert stored[0]["skipped"] is True
    sent = json.loads(outcome.output)
    assert sent["skipped"] is True
    assert sent["note"] == "The learner skipped the quiz: no question was answered."
    effect = read_outcome("trigger_quiz", outcome.output).effect
    assert isinstance(effect, QuizAnswered) and effect.skipped
    answered, _, _ = run_tool("{}", lambda q: q.answer)
    assert "skipped" not in json.loads(answered.output)
    assert isinstance(answered.effect, QuizAnswered) and not answered.effect.skipped


def test_same_lesson_same_quiz_across_calls() -> None:
    _, first, _ = run_tool("{}", lambda q: "")
    _, second, _ = run_tool("{}", lambda q: "")
    assert first == second


def test_trigger_quiz_refuses_bad_arguments() -> None:
    outcome, shown, stored = run_tool('{"questions": 0}', lambda q: q.answer)
    assert not outcome.ok
    assert (
        outcome.error
        == "Invalid arguments for 'trigger_quiz': questions: 0 is below the minimum of 1."
    )
    assert shown == [] and stored == []


def test_trigger_quiz_on_a_lesson_without_vocabulary() -> None:
    lesson = TAXI.model_copy(update={"vocabulary": []})
    outcome, shown, stored = run_tool('{"focus": "vocabulary"}', lambda q: q.answer, lesson)
    assert not outcome.ok
    assert outcome.error is not None and "nothing to quiz on" in outcome.error
    assert shown == [] and stored == []
