"""What a lesson tells its views: every update and summary type, and the `CallView` protocol.

The Conversation turns server events into `ConversationUpdate`s; the Call adds what only it
knows (the link's state, tools run, notices, the mic); a replay adds what the log kept. Each
union is closed: views dispatch over it with `match` and `assert_never`, so a renamed or new
type breaks the type check instead of being dropped silently.

Nothing here does I/O or imports a device, a socket or the store.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, assert_never

from tutor_cli.datatypes import datatype
from tutor_cli.lesson.folding import fold
from tutor_cli.realtime.pricing import Usage
from tutor_cli.tools.outcomes import GradeRecorded, QuizAnswered, ToolEffect, ToolOutcome

if TYPE_CHECKING:
    from tutor_cli.tools.quiz import Quiz

# --- from the conversation (server events, and the learner's typed turns) ------------------


@datatype
class TutorDelta:
    item_id: str
    text: str


@datatype
class TutorFinal:
    item_id: str
    text: str


@datatype
class TutorTruncated:
    """The learner heard only `audio_end_ms` of this tutor turn."""

    item_id: str
    audio_end_ms: int


@datatype
class LearnerTurn:
    """A learner turn: typed (text known at once) or spoken (text may follow)."""

    item_id: str | None
    text: str | None
    source: Literal["typed", "speech"]


@datatype
class LearnerTranscript:
    """The transcript of a spoken turn, or why there is none (`text` None)."""

    item_id: str
    text: str | None
    error: str | None = None


@datatype
class AudioChunk:
    """Tutor audio: for the speaker, never for the views."""

    item_id: str
    pcm: bytes


@datatype
class SpeechStarted:
    item_id: str | None
    audio_start_ms: int


@datatype
class SpeechStopped:
    item_id: str | None
    audio_end_ms: int


@datatype
class ToolCallReady:
    """A completed function call: the Call runs it and answers with `tool_output`."""

    call_id: str
    name: str
    arguments: str
    item_id: str | None


ResponseStatus = Literal["thinking", "speaking", "done"]


@datatype
class ResponseState:
    """`thinking` once a response starts, `speaking` with its first output, then `done`."""

    response_id: str | None
    state: ResponseStatus
    status: str | None = None  # completed, cancelled, incomplete, failed
    reason: str | None = None


@datatype
class UsageUpdate:
    total: Usage
    cost_usd: float | None


@datatype
class ServerError:
    code: str | None
    message: str


# What a frame that is not a JSON object is shown as, live and in a replay.
NON_JSON_FRAME = ServerError(
    "non_json_frame", "the engine sent a frame that is not a JSON object (logged)"
)


@datatype
class SessionReady:
    """`session.updated`: the settings the server will use."""

    session: dict[str, Any]


@datatype
class MalformedEvent:
    """A known event whose fields have the wrong types: skipped, and logged."""

    type: str
    problem: str


@datatype
class UnknownEvent:
    """An event type this client does not know (it is logged, and otherwise ignored)."""

    type: str


ConversationUpdate = (
    TutorDelta
    | TutorFinal
    | TutorTruncated
    | LearnerTurn
    | LearnerTranscript
    | AudioChunk
    | SpeechStarted
    | SpeechStopped
    | ToolCallReady
    | ResponseState
    | UsageUpdate
    | ServerError
    | SessionReady
    | UnknownEvent
    | MalformedEvent
)

# --- from the Call --------------------------------------------------------------------------

LinkState = Literal["connecting", "connected", "reconnecting", "closed", "failed"]
LINK_STATES: tuple[LinkState, ...] = ("connecting", "connected", "reconnecting", "closed", "failed")


@datatype
class ConnectionState:
    """How the link to the engine is doing (from the Connection, not the server)."""

    state: LinkState
    detail: str | None = None


@datatype
class ToolRan:
    """A tool the tutor called, and what came of it (shown, logged, sent back)."""

    name: str
    arguments: str
    outcome: ToolOutcome


@datatype
class MicLevel:
    """The microphone's level for the meter, at most a few times a second."""

    rms_dbfs: float
    peak_dbfs: float


AudioModeName = Literal["voice", "push_to_talk", "text"]


@datatype
class AudioMode:
    """How the learner can talk: `voice` (mic and speaker), `push_to_talk`, or `text` only
    (with the reason audio is off, if it is off for a reason); and whether the mic is muted."""

    mode: AudioModeName
    muted: bool = False
    reason: str | None = None


NoticeLevel = Literal["info", "warning", "error"]


@datatype
class Goal:
    text: str
    met: bool


def goal_key(goal: str) -> str:
    """A goal as compared with another: a model copies one with its own capitals, accents,
    spacing or full stop."""
    return " ".join(fold(goal).split()).strip(" .!")


@datatype
class LessonProgress:
    """Where the learner is in the lesson (see `lesson.tracker`): each goal and whether it is
    met, the current step's objective (None once the steps are done), and whether the lesson
    is complete (the tutor has graded it)."""

    goals: tuple[Goal, ...]
    objective: str | None
    step: int  # 1-based; steps + 1 once every step is done
    steps: int
    complete: bool = False

    @property
    def ending(self) -> str:
        """How a graded lesson ended: complete only if every step was reached (the learner may
        end early, and the tutor grades then too)."""
        if self.objective is None:
            return "lesson complete"
        return f"lesson ended at step {self.step} of {self.steps}"


@datatype
class Notice:
    """Something the Call wants the learner to know."""

    text: str
    level: NoticeLevel = "info"


# What a view watching a call is shown. Tutor audio goes to the speaker, not here.
CallUpdate = (
    TutorDelta
    | TutorFinal
    | TutorTruncated
    | LearnerTurn
    | LearnerTranscript
    | SpeechStarted
    | SpeechStopped
    | ToolCallReady
    | ResponseState
    | UsageUpdate
    | ServerError
    | SessionReady
    | UnknownEvent
    | ConnectionState
    | ToolRan
    | Notice
    | MicLevel
    | AudioMode
    | LessonProgress
)

# --- from a replay ----------------------------------------------------------------------------


@datatype
class ToolLogged:
    """What came of a tool call when the lesson was live (the log's tool record, or the
    `function_call_output` the client sent). `ok` is None when the output says nothing."""

    call_id: str
    name: str
    ok: bool | None
    output: str


@datatype
class LearnerAudio:
    """Microphone audio the log kept (only with `--record-mic`), 24 kHz mono PCM16."""

    pcm: bytes


ReplayUpdate = ConversationUpdate | ConnectionState | ToolLogged | LearnerAudio

# --- the end of a lesson ------------------------------------------------------------------


@datatype(frozen=False)
class CallSummary:
    """What a lesson came to: shown at the end of a call, and rebuilt by a replay."""

    scenario: str
    title: str
    engine: str
    model: str
    started_at: datetime
    duration_s: float = 0.0
    learner_turns: int = 0
    tutor_turns: int = 0
    tools: list[ToolRan] = field(default_factory=list)
    grade: dict[str, Any] | None = None
    quiz: dict[str, Any] | None = None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    log_path: Path | None = None
    failure: str | None = None
    # Whether the lesson reached its end (False: the learner ended it early); None when not
    # known (a replay, a call still going).
    finished: bool | None = None

    def take(self, effect: ToolEffect | None) -> None:
        """What a tool did to the lesson: the latest grade and quiz result are the lesson's."""
        match effect:
            case GradeRecorded():
                self.grade = effect.grade
            case QuizAnswered():
                self.quiz = effect.stored
            case None:
                pass
            case _:
                assert_never(effect)


class CallView(Protocol):
    """What a view does for a call: show updates, and present a quiz."""

    def show(self, update: CallUpdate) -> None: ...

    async def ask_quiz(self, quiz: Quiz) -> list[str]: ...
