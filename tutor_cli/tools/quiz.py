"""trigger_quiz: a short quiz built from the lesson's vocabulary and steps.

Questions come only from the scenario file, so a quiz needs no model and no network, and
the same lesson with the same seed always gives the same quiz (replays and tests rely on it).
Prompts are in English, the interface's language; terms and answers are in the target
language, exactly as the scenario writes them.
"""

from __future__ import annotations

import random
import re
import unicodedata
import zlib
from typing import Any, Literal

from tutor_cli.datatypes import datatype
from tutor_cli.lesson.folding import fold
from tutor_cli.lesson.scenario import Scenario, Step, VocabularyItem
from tutor_cli.tools.registry import Tool, ToolContext, ToolError
from tutor_cli.tools.specs import TRIGGER_QUIZ

Focus = Literal["vocabulary", "phrases", "mixed"]
FOCUSES: tuple[Focus, ...] = ("vocabulary", "phrases", "mixed")
BLANK = "____"
MAX_CHOICES = 4
LETTERS = "abcdefghij"

# Sentence punctuation a learner may or may not type; none of it changes the answer.
_PUNCTUATION = '¿?¡!.,;:«»"“”„…()[]'
_EDGE = _PUNCTUATION + "' "
_SPACES = re.compile(r"\s+")


@datatype
class Question:
    """One quiz question; for a choice question `answer` is one of `choices`."""

    kind: Literal["choice", "fill"]
    prompt: str
    answer: str
    choices: tuple[str, ...] = ()
    accepted: tuple[str, ...] = ()
    """Other answers that count as right."""


@datatype
class Quiz:
    """A titled list of questions, as the view shows it."""

    title: str
    questions: tuple[Question, ...]


def normalise(text: str, *, accents: bool = False) -> str:
    """The form answers are compared in: folded (or, with `accents`, only lower case), no
    sentence punctuation, single spaces.

    Articles and other words are kept: «la calle» and «calle» are different answers.
    """
    folded = text.lower() if accents else fold(text)
    spaced = "".join(" " if c in _PUNCTUATION else c for c in folded)
    return _SPACES.sub(" ", spaced).strip(_EDGE)


def check_answer(question: Question, given: str) -> bool:
    """Whether `given` answers `question`, forgiving case, accents, punctuation and spacing.

    A choice question also takes the choice's number (1, 2, …) or letter (a, b, …).
    """
    wanted = {normalise(question.answer), *(normalise(a) for a in question.accepted)}
    said = normalise(given)
    if not said:
        return False
    if said in wanted:
        return True
    picked = picked_choice(question, given)
    return picked is not None and normalise(picked) in wanted


def spelling(question: Question, given: str) -> str | None:
    """For a right answer typed without its accents ("sumerce"), how it is spelt ("sumercé");
    None when it was typed as written (or picked by letter)."""
    if not check_answer(question, given) or picked_choice(question, given) is not None:
        return None
    said = normalise(given, accents=True)
    forms = (question.answer, *question.accepted)
    if any(said == normalise(form, accents=True) for form in forms):
        return None
    return next(form for form in forms if normalise(form) == normalise(given))


def picked_choice(question: Question, given: str) -> str | None:
    """The choice a number (1, 2, …) or letter (a, b, …) names, for a choice question."""
    said = normalise(given)
    if question.kind != "choice" or not said:
        return None
    index: int | None = None
    if said.isdigit():
        index = int(said) - 1
    elif len(said) == 1 and said in LETTERS:
        index = LETTERS.index(said)
    if index is not None and 0 <= index < len(question.choices):
        return question.choices[index]
    return None


def chosen(question: Question, given: str) -> str:
    """A choice question answered by number or letter: the choice itself; else `given`."""
    return picked_choice(question, given) or given.strip()


def expected(question: Question) -> str:
    """The right answer as the learner should see it: `b) la calle` for a choice question."""
    if question.kind == "choice" and question.answer in question.choices:
        return f"{LETTERS[question.choices.index(question.answer)]}) {question.answer}"
    return question.answer


def score_quiz(quiz: Quiz, answers: list[str]) -> dict[str, Any]:
    """The quiz result: how many were right, each answer beside the expected one, and whether
    the whole quiz was skipped (no question answered: Esc at once, the call ended while it was
    open, no answers to give), which is no score of 0.

    Missing answers count as skipped (""); extra answers are ignored.
    """
    given = [*answers[: len(quiz.questions)], *[""] * (len(quiz.questions) - len(answers))]
    rows = [
        {
            "question": question.prompt,
            "given": said,
            "expected": question.answer,
            "correct": check_answer(question, said),
        }
        for question, said in zip(quiz.questions, given, strict=True)
    ]
    return {
        "questions": len(rows),
        "correct": sum(row["correct"] for row in rows),
        "answers": rows,
        "skipped": not any(said.strip() for said in given),
    }


# --- building questions -------------------------------------------------------------------


def _distinct(options: list[str], exclude: str) -> list[str]:
    """Options whose normalised form differs from `exclude` and from each other."""
    seen = {normalise(exclude)}
    kept: list[str] = []
    for option in options:
        key = normalise(option)
        if key and key not in seen:
            seen.add(key)
            kept.append(option)
    return kept


def _choice(prompt: str, answer: str, others: list[str], rng: random.Random) -> Question | None:
    distractors = _distinct(others, answer)
    if not distractors:
        return None  # a question with one option tests nothing
    picked = rng.sample(distractors, min(MAX_CHOICES - 1, len(distractors)))
    choices = [answer, *picked]
    rng.shuffle(choices)
    return Question(kind="choice", prompt=prompt, answer=answer, choices=tuple(choices))


def _term_forms(term: str) -> list[str]:
    """The ways a vocabulary term can appear in a sentence.

    «faz / há (quatro dias)» gives «faz» and «há»; «je voudrais…» gives «je voudrais».
    """
    without_notes = re.sub(r"\([^)]*\)", " ", term)
    forms = [part.strip(_EDGE) for part in without_notes.split("/")]
    return [form for form in forms if form]


def _folded_with_positions(text: str) -> tuple[str, list[int]]:
    """`text` folded character by character, with each folded character's source index."""
    folded: list[str] = []
    source: list[int] = []
    for index, char in enumerate(text):
        for piece in fold(char):
            folded.append(piece)
            source.append(index)
    return "".join(folded), source


def _blank_out(example: str, term: str) -> tuple[str, str] | None:
    """The example with the term replaced by a blank, and the words blanked, or None.

    The term is found ignoring case and accents, as a whole phrase (not inside a word), so
    «Cuánto cuesta» is found for «¿cuánto cuesta?». Inflected forms are not found: such an
    item gets a choice question instead.
    """
    folded, source = _folded_with_positions(example)
    for form in _term_forms(term):
        pattern = re.compile(r"(?<!\w)" + re.escape(fold(form)) + r"(?!\w)")
        spans = []
        for match in pattern.finditer(folded):
            start, end = source[match.start()], source[match.end() - 1] + 1
            while end < len(example) and unicodedata.combining(example[end]):
                end += 1  # a decomposed accent belongs to the letter before it
            spans.append((start, end))
        if spans:
            answer = example[spans[0][0] : spans[0][1]]
            blanked = example
            for start, end in reversed(spans):  # every occurrence, or one would give it away
                blanked = blanked[:start] + BLANK + blanked[end:]
            return blanked, answer
    return None


def _vocabulary_question(
    item: VocabularyItem, others: list[VocabularyItem], prefer_fill: bool, rng: random.Random
) -> Question | None:
    def choice() -> Question | None:
        meanings = [other.meaning for other in others]
        return _choice(f"What does «{item.term}» mean?", item.meaning, meanings, rng)

    def fill() -> Question | None:
        found = _blank_out(item.example, item.term)
        if found is None:
            return None
        blanked, answer = found
        return Question(
            kind="fill", prompt=f'Fill in the blank ("{item.meaning}"): {blanked}', answer=answer
        )

    makers = (fill, choice) if prefer_fill else (choice, fill)
    for make in makers:
        question = make()
        if question is not None:
            return question
    return None


def _task(step: Step) -> str:
    objective = step.objective.strip()
    return objective if objective[-1] in ".?!…" else objective + "."


def _step_question(step: Step, others: list[Step], rng: random.Random) -> Question | None:
    answers = [other.model_answer for other in others]
    question = _choice(
        f"Task: {_task(step)} Which of these would you say?", step.model_answer, answers, rng
    )
    if question is not None:
        return question
    # Only one distinct model answer in the lesson: ask for its longest word instead.
    words = re.findall(r"\w+", step.model_answer)
    if not words:
        return None
    word = max(words, key=len)
    blanked = re.sub(r"(?<!\w)" + re.escape(word) + r"(?!\w)", BLANK, step.model_answer, count=1)
    return Question(
        kind="fill", prompt=f"Task: {_task(step)} Fill in the blank: {blanked}", answer=word
    )


def build_quiz(scenario: Scenario, *, focus: str = "mixed", count: int = 4, seed: int = 0) -> Quiz:
    """A quiz of up to `count` questions on the lesson, the same for the same seed.

    `focus` is "vocabulary" (vocabulary items only), "phrases" (steps only) or "mixed"
    (alternating). Each item gives at most one question, so `count` is clamped to what the
    lesson can give, and to at least one.
    """
    if focus not in FOCUSES:
        raise ValueError(f"focus {focus!r} is not one of {', '.join(FOCUSES)}")
    rng = random.Random(seed)
    vocabulary = list(scenario.vocabulary) if focus in ("vocabulary", "mixed") else []
    steps = list(scenario.steps) if focus in ("phrases", "mixed") else []
    rng.shuffle(vocabulary)
    rng.shuffle(steps)

    # Alternate vocabulary and steps so a mixed quiz asks about both from the first question.
    sources: list[VocabularyItem | Step] = []
    for index in range(max(len(vocabulary), len(steps))):
        sources.extend(group[index] for group in (vocabulary, steps) if index < len(group))

    wanted = max(1, count)
    questions: list[Question] = []
    asked_vocabulary = 0
    for source in sources:
        if len(questions) == wanted:
            break
        if isinstance(source, VocabularyItem):
            others = [item for item in scenario.vocabulary if item is not source]
            # Every other vocabulary question is a gap-fill, for variety.
            question = _vocabulary_question(source, others, asked_vocabulary % 2 == 1, rng)
            if question is not None:
                asked_vocabulary += 1
        else:
            others_steps = [step for step in scenario.steps if step is not source]
            question = _step_question(source, others_steps, rng)
        if question is not None:
            questions.append(question)

    label = {"vocabulary": "Vocabulary quiz", "phrases": "Phrases quiz", "mixed": "Quiz"}[focus]
    return Quiz(title=f"{label}: {scenario.title}", questions=tuple(questions))


def quiz_seed(scenario: Scenario) -> int:
    """A seed from the scenario id, stable across runs (unlike `hash`, which is salted)."""
    return zlib.crc32(scenario.id.encode("utf-8"))


async def trigger_quiz(arguments: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    """Build the quiz, let the learner answer it on screen, score it and store the result."""
    focus = arguments.get("focus", "mixed")
    count = int(arguments.get("questions", 4))
    quiz = build_quiz(ctx.scenario, focus=focus, count=count, seed=quiz_seed(ctx.scenario))
    if not quiz.questions:
        raise ToolError(
            f"This lesson has nothing to quiz on with focus {focus!r}; try 'phrases' or 'mixed'."
        )
    answers = await ctx.ask_quiz(quiz)
    result = score_quiz(quiz, list(answers))
    stored = ctx.record_quiz(result)
    if result["skipped"]:
        # Said at the top level too, so the tutor does not read the 0 right as a score.
        note = "The learner skipped the quiz: no question was answered."
        return {"quiz": result, "stored": stored, "skipped": True, "note": note}
    return {"quiz": result, "stored": stored}


TRIGGER_QUIZ_TOOL = Tool(name=TRIGGER_QUIZ["name"], spec=TRIGGER_QUIZ, handler=trigger_quiz)
