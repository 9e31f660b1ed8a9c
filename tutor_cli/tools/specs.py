"""What each tool is, as the model sees it: a name, a description and a JSON Schema.

The handlers live beside this module; the schemas are here on their own so the session
config can declare the tools without loading the handlers or the store.
"""

from __future__ import annotations

from typing import Any

ERROR_KINDS = ["grammar", "vocabulary", "pronunciation", "register", "fluency", "other"]

GRADE_LESSON: dict[str, Any] = {
    "type": "function",
    "name": "grade_lesson",
    "description": (
        "Record the learner's grade for this lesson. Call it once, when the role-play is over "
        "or when asked to grade. The result is stored in the learner's progress."
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "score": {
                "type": "number",
                "minimum": 0,
                "maximum": 100,
                "description": "Overall score: 0-1 or 0-100 (both are accepted).",
            },
            "goals_achieved": {
                "type": "array",
                "items": {"type": "string"},
                "description": "The lesson goals the learner met, worded as in the lesson.",
            },
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "said": {"type": "string", "description": "What the learner said."},
                        "correction": {"type": "string", "description": "The correct form."},
                        "kind": {"type": "string", "enum": ERROR_KINDS},
                    },
                    "required": ["said", "correction", "kind"],
                },
                "description": "The learner's notable mistakes, each with its correction.",
            },
            "feedback": {
                "type": "string",
                "description": "Two or three sentences to the learner, in their own language.",
            },
            "next_steps": {
                "type": "array",
                "items": {"type": "string"},
                "description": "What to practise next.",
            },
        },
        "required": ["score", "goals_achieved", "errors", "feedback", "next_steps"],
    },
}

TRIGGER_QUIZ: dict[str, Any] = {
    "type": "function",
    "name": "trigger_quiz",
    "description": (
        "Give the learner a short quiz on this lesson's vocabulary and phrases. The quiz is "
        "shown on the learner's screen; the result (score and answers) comes back to you."
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "focus": {
                "type": "string",
                "enum": ["vocabulary", "phrases", "mixed"],
                "description": "What to ask about.",
            },
            "questions": {
                "type": "integer",
                "minimum": 1,
                "maximum": 10,
                "description": "How many questions (default 4).",
            },
        },
        "required": [],
    },
}

TOOL_SPECS: dict[str, dict[str, Any]] = {
    spec["name"]: spec for spec in (GRADE_LESSON, TRIGGER_QUIZ)
}

# Tools that need the learner's screen: a classroom relay runs every other tool itself and hands
# these to the learner's client, whose answer it takes once.
LEARNER_SIDE_TOOLS = frozenset({TRIGGER_QUIZ["name"]})
