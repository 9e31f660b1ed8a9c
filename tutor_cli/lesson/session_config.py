"""The Realtime session a scenario asks for: the tutor's instructions, tools and audio settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tutor_cli.lesson.session_options import NoiseReduction, SessionOptions
from tutor_cli.realtime import events
from tutor_cli.tools.specs import TOOL_SPECS

if TYPE_CHECKING:
    from tutor_cli.lesson.scenario import Scenario

LANGUAGE_NAMES = {
    "ar": "Arabic",
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "nl": "Dutch",
    "pl": "Polish",
    "pt": "Portuguese",
    "ru": "Russian",
    "sv": "Swedish",
    "tr": "Turkish",
    "zh": "Chinese",
}

LEVEL_GUIDANCE = {
    "A1": "very short, simple sentences with the most common words; speak slowly, repeat key "
    "words, and ask one simple question at a time",
    "A2": "short sentences about everyday needs, common words and the present and simple past; "
    "rephrase when the learner is lost",
    "B1": "clear standard language about familiar topics, a few connected sentences at a time",
    "B2": "natural language on concrete and abstract topics, with some idioms, at normal speed",
    "C1": "natural, idiomatic language at full speed, with nuance, hedging and implicit meaning",
    "C2": "fully native language in any register",
}

CORRECTION_GUIDANCE = {
    "immediate": "Correct each mistake as soon as the learner makes it: say the correct form "
    "briefly, have them say it once, then carry on with the role-play.",
    "gentle": "Correct by recasting: use the correct form naturally in your reply, without "
    "stopping the role-play. Point a mistake out explicitly only when it would cause a "
    "misunderstanding or keeps coming back.",
    "end_of_session": "Do not correct during the role-play unless the meaning is lost. Remember "
    "the mistakes and report them, with corrections, when you grade the lesson.",
}


def language_name(tag: str) -> str:
    """A readable name for a BCP-47 tag (`es-CO` gives `Spanish (es-CO)`)."""
    name = LANGUAGE_NAMES.get(tag.split("-")[0])
    return f"{name} ({tag})" if name else tag


def tutor_instructions(scenario: Scenario) -> str:
    """The system instructions that make the model teach this scenario in role."""
    persona = scenario.persona
    target = language_name(scenario.language)
    lines = [
        f"You are {persona.name}, {persona.role}. Setting: {persona.setting}",
        "",
        f'This is a role-play language lesson: "{scenario.title}". The learner is practising '
        f"{target} at CEFR level {scenario.level}; their own language is "
        f"{language_name(scenario.learner_language)}.",
        f"Stay in role as {persona.name} for the whole lesson. Speak {target} only, using "
        f"{LEVEL_GUIDANCE[scenario.level]}. Use the learner's own language only for a hint they "
        "cannot manage without, or when they ask for it.",
        "Keep each of your turns short (one to three sentences) so that the learner speaks "
        "more than you do. End most turns with something the learner has to answer.",
        "",
        "By the end of the lesson the learner should be able to:",
        *(f"- {goal}" for goal in scenario.goals),
        "",
        "Follow these steps in order. Move on when the learner has achieved the current step.",
    ]
    for number, step in enumerate(scenario.steps, start=1):
        lines.append(
            f'{number}. You: "{step.tutor}" The learner should: {step.objective} '
            f'Model answer: "{step.model_answer}" Hint if they are stuck: {step.hint}'
        )
    if scenario.vocabulary:
        lines += ["", "Vocabulary to use and recycle:"]
        lines += [f'- {v.term}: {v.meaning} (e.g. "{v.example}")' for v in scenario.vocabulary]
    lines += [
        "",
        f"Corrections: {CORRECTION_GUIDANCE[scenario.correction_style]}",
        "Hints: when the learner is stuck, silent or misses a step, give the step's hint. After "
        "a second miss, say the model answer, ask them to repeat it, then move on.",
    ]
    if "trigger_quiz" in scenario.tools:
        lines.append(
            "Quiz: call trigger_quiz when the learner asks for a quiz or an exercise, and once "
            "after the last step. The quiz appears on the learner's screen; when its result "
            "comes back, comment on it briefly in role."
        )
    if "grade_lesson" in scenario.tools:
        lines.append(
            "Grading: call grade_lesson once, after the last step or whenever you are asked to "
            "grade. Base it on what the learner actually said: score 0-100, the goals they met "
            "(worded as above), their mistakes with corrections, two or three sentences of "
            "feedback in the learner's own language, and next steps. After the result comes "
            "back, say goodbye in role."
        )
    lines += [
        "",
        f'You speak first. Open with: "{scenario.opening}" and then: "{scenario.steps[0].tutor}"',
    ]
    return "\n".join(lines)


def _turn_detection(scenario: Scenario, choice: str) -> dict[str, Any] | None:
    if choice == "manual":
        return None
    preferred = scenario.turn_detection
    kind = preferred.type if choice == "scenario" and preferred else choice
    if kind == "semantic_vad":
        eagerness = preferred.eagerness if preferred and preferred.type == kind else None
        return {"type": "semantic_vad", "eagerness": eagerness or "auto"}
    vad = dict(events.DEFAULT_SERVER_VAD)
    if preferred and preferred.type == "server_vad":
        for field in ("threshold", "prefix_padding_ms", "silence_duration_ms"):
            value = getattr(preferred, field)
            if value is not None:
                vad[field] = value
    return vad


def session_config(scenario: Scenario, options: SessionOptions | None = None) -> dict[str, Any]:
    """The GA `session` object for this scenario (the body of a `session.update`)."""
    options = options or SessionOptions()
    audio_input: dict[str, Any] = {
        "format": {"type": "audio/pcm", "rate": events.RATE},
        "noise_reduction": None
        if options.noise_reduction is NoiseReduction.off
        else {"type": options.noise_reduction.value},
        "transcription": {
            "model": options.transcription_model,
            "language": scenario.language_code,
        },
        "turn_detection": _turn_detection(scenario, options.turn_detection),
    }
    session: dict[str, Any] = {
        "type": "realtime",
        "instructions": tutor_instructions(scenario),
        "output_modalities": [options.output_modalities],
        "tools": [TOOL_SPECS[name] for name in scenario.tools],
        "tool_choice": "auto",
        "audio": {
            "input": audio_input,
            "output": {
                "format": {"type": "audio/pcm", "rate": events.RATE},
                "voice": options.voice or scenario.persona.voice,
                "speed": options.speed if options.speed is not None else scenario.speech_speed,
            },
        },
    }
    if options.model:
        session["model"] = options.model
    return session
