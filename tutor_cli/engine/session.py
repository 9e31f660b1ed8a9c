"""One Realtime session on the offline engine: the server's side of the protocol (GA).

It owns the session config, the conversation items, the input audio buffer with turn
detection, and at most one active response, which the scripted tutor fills. It is fed client
frames (`handle`) and emits server events through an async `send` callable; the websocket
server around it only moves frames.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import itertools
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from tutor_cli.engine.recognizer import can_transcribe, transcribe
from tutor_cli.engine.tutor import CallTool, Cue, Move, Say, ScriptedTutor
from tutor_cli.engine.vad import SpeechStarted, SpeechStopped, TurnDetector
from tutor_cli.realtime.events import DEFAULT_SERVER_VAD
from tutor_cli.scenarios import Scenario

Event = dict[str, Any]
Send = Callable[[Event], Awaitable[None]]

BYTES_PER_MS = 48  # 24 kHz mono PCM16
MAX_DELTA_MS = 100
MIN_COMMIT_MS = 100
SEMANTIC_SILENCE_MS = {"low": 1200, "medium": 700, "auto": 700, "high": 350}
_SENTENCE = re.compile(r"(?<=[.!?…])\s+")


def default_session(model: str, session_id: str) -> dict[str, Any]:
    """A new session's config, as `session.created` reports it."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": "",
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "expires_at": int(time.time()) + 3600,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "noise_reduction": None,
                "transcription": None,
                "turn_detection": dict(DEFAULT_SERVER_VAD),
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "voice": "marin",
                "speed": 1.0,
            },
        },
    }


def merge_session(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Only the fields sent change. `audio`, `audio.input` and `audio.output` merge key by key;
    every other field (a turn-detection object, the tool list) is replaced whole."""
    merged = copy.deepcopy(current)
    for key, value in update.items():
        if key == "audio" and isinstance(value, dict):
            audio = merged.setdefault("audio", {})
            for side in ("input", "output"):
                if isinstance(value.get(side), dict):
                    audio.setdefault(side, {}).update(copy.deepcopy(value[side]))
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class ClientError(Exception):
    """A client event the session refuses; it becomes an `error` event and the session goes on."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.param = code, message, param


@dataclass
class Response:
    """The response being generated."""

    id: str
    task: asyncio.Task[None] | None = None
    cancel_reason: str | None = None
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Usage:
    text_in: int = 0
    audio_in: int = 0
    text_out: int = 0
    audio_out: int = 0

    def as_event(self) -> dict[str, Any]:
        inputs, outputs = self.text_in + self.audio_in, self.text_out + self.audio_out
        return {
            "total_tokens": inputs + outputs,
            "input_tokens": inputs,
            "output_tokens": outputs,
            "input_token_details": {
                "text_tokens": self.text_in,
                "audio_tokens": self.audio_in,
                "cached_tokens": 0,
            },
            "output_token_details": {"text_tokens": self.text_out, "audio_tokens": self.audio_out},
        }


def text_tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0


def audio_tokens(byte_count: int) -> int:
    return byte_count // (BYTES_PER_MS * 50)  # about 20 tokens a second, as the API bills


SpeechSource = Callable[[str, str, float], AsyncIterator[bytes]]


class EngineSession:
    """The server side of one Realtime connection."""

    def __init__(
        self,
        send: Send,
        *,
        scenario: Scenario | None,
        model: str,
        speech: SpeechSource,
        pace: float = 4.0,
        lead_ms: int = 1000,
    ) -> None:
        self._send_raw = send
        self.scenario = scenario
        self.tutor = ScriptedTutor(scenario)
        self._speech = speech
        self._pace = pace
        self._lead_ms = lead_ms
        self._ids = itertools.count(1)
        self.session = default_session(model, self._id("sess"))
        self.items: list[dict[str, Any]] = []
        self._audio: dict[str, bytearray] = {}  # assistant item id -> audio sent
        self._input = bytearray()
        self._input_ms = 0  # ms appended so far; VAD positions count from here
        self._detector: TurnDetector | None = None
        self._detector_key: tuple[Any, ...] | None = None
        self._pending_item: str | None = None  # id of the user item speech started
        self._learner: list[str | None] = []
        self._tool_results: list[tuple[str, str]] = []
        self._calls: dict[str, str] = {}  # call_id -> tool name
        self.response: Response | None = None
        self.responses_done = 0

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    async def _send(self, event: Event) -> None:
        await self._send_raw({"event_id": self._id("event"), **event})

    async def start(self) -> None:
        """Greet a new connection."""
        await self._send({"type": "session.created", "session": self.session})

    async def close(self) -> None:
        """The socket is gone: stop generating."""
        if self.response and self.response.task:
            self.response.task.cancel()
            await asyncio.gather(self.response.task, return_exceptions=True)

    # --- client frames ------------------------------------------------------------------------

    async def handle(self, frame: str | bytes) -> None:
        """One client frame; a bad one is answered with an `error` event."""
        client_event_id = None
        try:
            if isinstance(frame, bytes):
                raise ClientError("invalid_event", "binary frames are not accepted; send JSON text")
            try:
                event = json.loads(frame)
            except json.JSONDecodeError as exc:
                raise ClientError(
                    "invalid_json", f"the frame is not valid JSON: {exc.msg}"
                ) from None
            if not isinstance(event, dict):
                raise ClientError("invalid_event", "an event must be a JSON object")
            client_event_id = event.get("event_id")
            type_ = event.get("type")
            if not isinstance(type_, str):
                raise ClientError("missing_required_parameter", "missing 'type'", "type")
            handler = self._handlers.get(type_)
            if handler is None:
                raise ClientError("invalid_value", f"unknown client event type {type_!r}", "type")
            await handler(self, event)
        except ClientError as exc:
            await self._send(
                {
                    "type": "error",
                    "error": {
                        "type": "invalid_request_error",
                        "code": exc.code,
                        "message": exc.message,
                        "param": exc.param,
                        "event_id": client_event_id if isinstance(client_event_id, str) else None,
                    },
                }
            )

    @staticmethod
    def _field(
        event: Event, name: str, kind: type | tuple[type, ...], required: bool = True
    ) -> Any:
        value = event.get(name)
        if value is None:
            if required:
                raise ClientError("missing_required_parameter", f"missing '{name}'", name)
            return None
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise ClientError("invalid_type", f"'{name}' has the wrong type", name)
        return value

    async def _session_update(self, event: Event) -> None:
        update = self._field(event, "session", dict)
        if update.get("type", "realtime") != "realtime":
            raise ClientError("invalid_value", "session.type must be 'realtime'", "session.type")
        modalities = update.get("output_modalities")
        if modalities is not None and modalities not in (["audio"], ["text"]):
            raise ClientError(
                "invalid_value",
                "output_modalities must be ['audio'] or ['text']",
                "session.output_modalities",
            )
        previous, self.session = self.session, merge_session(self.session, update)
        try:
            turn_detection = self.session["audio"]["input"].get("turn_detection")
            if turn_detection is not None and not isinstance(turn_detection, dict):
                raise TypeError("must be an object or null")
            self._vad()  # builds the detector, which checks the numbers
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            self.session = previous
            raise ClientError(
                "invalid_value",
                f"audio.input.turn_detection: {exc}",
                "session.audio.input.turn_detection",
            ) from None
        await self._send({"type": "session.updated", "session": self.session})

    # --- input audio --------------------------------------------------------------------------

    def _turn_detection(self) -> dict[str, Any] | None:
        return self.session["audio"]["input"].get("turn_detection")

    def _vad(self) -> TurnDetector | None:
        td = self._turn_detection()
        if not td:
            self._detector = self._detector_key = None
            return None
        if td.get("type") == "semantic_vad":
            key = (0.5, 300, SEMANTIC_SILENCE_MS.get(td.get("eagerness") or "auto", 700))
        else:
            key = (
                float(td.get("threshold") or 0.5),
                int(td.get("prefix_padding_ms") or 300),
                int(td.get("silence_duration_ms") or 500),
            )
        if key != self._detector_key:
            self._detector, self._detector_key = TurnDetector(*key), key
        return self._detector

    async def _append(self, event: Event) -> None:
        audio = self._field(event, "audio", str)
        try:
            pcm = base64.b64decode(audio, validate=True)
        except (binascii.Error, ValueError):
            raise ClientError("invalid_value", "'audio' is not valid base64", "audio") from None
        self._input += pcm
        detector = self._vad()
        if detector is None:
            return
        for change in detector.feed(pcm):
            if isinstance(change, SpeechStarted):
                await self._speech_started(change)
            else:
                await self._speech_stopped(change)

    async def _speech_started(self, change: SpeechStarted) -> None:
        self._pending_item = self._id("item")
        await self._send(
            {
                "type": "input_audio_buffer.speech_started",
                "audio_start_ms": change.audio_start_ms,
                "item_id": self._pending_item,
            }
        )
        td = self._turn_detection() or {}
        if self.response and td.get("interrupt_response", True):
            await self.cancel_response("turn_detected")

    async def _speech_stopped(self, change: SpeechStopped) -> None:
        item_id = self._pending_item or self._id("item")
        self._pending_item = None
        await self._send(
            {
                "type": "input_audio_buffer.speech_stopped",
                "audio_end_ms": change.audio_end_ms,
                "item_id": item_id,
            }
        )
        await self._commit_input(item_id)
        td = self._turn_detection() or {}
        if td.get("create_response", True) and self.response is None:
            await self._start_response({})

    async def _commit(self, event: Event) -> None:
        if len(self._input) < MIN_COMMIT_MS * BYTES_PER_MS:
            raise ClientError(
                "input_audio_buffer_commit_empty",
                f"buffer too small: at least {MIN_COMMIT_MS} ms of audio is needed, "
                f"{len(self._input) // BYTES_PER_MS} ms were appended",
            )
        await self._commit_input(self._id("item"))

    async def _commit_input(self, item_id: str) -> None:
        """The input buffer becomes a learner item; it is transcribed if asked for."""
        audio = bytes(self._input)
        self._input.clear()
        if self._detector:
            self._detector.reset()
        previous = self.items[-1]["id"] if self.items else None
        await self._send(
            {
                "type": "input_audio_buffer.committed",
                "item_id": item_id,
                "previous_item_id": previous,
            }
        )
        item = {
            "id": item_id,
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}],
            "audio_ms": len(audio) // BYTES_PER_MS,
        }
        await self._add_item(item, previous)
        transcript = None
        if self.session["audio"]["input"].get("transcription"):
            transcript = await self._transcribe(item_id, audio)
            item["content"][0]["transcript"] = transcript
        self._learner.append(transcript or None)

    async def _transcribe(self, item_id: str, audio: bytes) -> str | None:
        language = self.scenario.language if self.scenario else "en"
        where = {"item_id": item_id, "content_index": 0}
        if can_transcribe(language):
            transcript = await asyncio.to_thread(transcribe, audio)
            await self._send(
                {
                    "type": "conversation.item.input_audio_transcription.completed",
                    **where,
                    "transcript": transcript,
                    "usage": {"type": "duration", "seconds": round(len(audio) / 48000, 3)},
                }
            )
            return transcript
        await self._send(
            {
                "type": "conversation.item.input_audio_transcription.failed",
                **where,
                "error": {
                    "type": "transcription_error",
                    "code": "no_offline_recognizer",
                    "message": f"the offline engine has no speech recogniser for {language}; "
                    "the spoken turn counts as an attempt",
                    "param": None,
                },
            }
        )
        return None

    async def _clear(self, event: Event) -> None:
        self._input.clear()
        if self._detector:
            self._detector.reset()
        await self._send({"type": "input_audio_buffer.cleared"})

    # --- conversation items -------------------------------------------------------------------

    def _find(self, item_id: str) -> int:
        for index, item in enumerate(self.items):
            if item["id"] == item_id:
                return index
        raise ClientError("item_not_found", f"no item with id {item_id!r}", "item_id")

    def _public(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"object": "realtime.item", **{k: v for k, v in item.items() if k != "audio_ms"}}

    async def _add_item(self, item: dict[str, Any], previous: str | None) -> None:
        if previous is None:
            self.items.append(item)
        else:
            self.items.insert(self._find(previous) + 1, item)
        for type_ in ("conversation.item.added", "conversation.item.done"):
            await self._send(
                {"type": type_, "previous_item_id": previous, "item": self._public(item)}
            )

    async def _item_create(self, event: Event) -> None:
        item = self._field(event, "item", dict)
        previous = self._field(event, "previous_item_id", str, required=False)
        kind = item.get("type")
        if previous is None and self.items:
            previous = self.items[-1]["id"]
        stored: dict[str, Any] = {"id": item.get("id") or self._id("item"), "type": kind}
        if kind == "message":
            role = item.get("role")
            content = item.get("content")
            if role not in ("user", "assistant", "system"):
                raise ClientError(
                    "invalid_value", "item.role must be user, assistant or system", "item.role"
                )
            if not isinstance(content, list) or not content:
                raise ClientError(
                    "missing_required_parameter", "missing 'item.content'", "item.content"
                )
            allowed = {"user": {"input_text", "input_audio"}, "system": {"input_text"}}.get(
                role, {"output_text", "output_audio", "text"}
            )
            for part in content:
                if not isinstance(part, dict) or part.get("type") not in allowed:
                    raise ClientError(
                        "invalid_value",
                        f"content part type not allowed for a {role} message",
                        "item.content.type",
                    )
            stored.update(role=role, status="completed", content=copy.deepcopy(content))
            if role == "assistant":
                self._restore_tutor_turn()
            if role == "user":
                self._learner.append(
                    " ".join(p.get("text") or p.get("transcript") or "" for p in content).strip()
                    or None
                )
        elif kind == "function_call_output":
            call_id = self._field(item, "call_id", str)
            output = self._field(item, "output", str)
            stored.update(call_id=call_id, output=output)
            self._tool_results.append((self._calls.get(call_id, "unknown"), output))
        elif kind == "function_call":
            stored.update(
                call_id=self._field(item, "call_id", str),
                name=self._field(item, "name", str),
                arguments=item.get("arguments") or "{}",
                status="completed",
            )
        else:
            raise ClientError("invalid_value", f"unsupported item type {kind!r}", "item.type")
        await self._add_item(stored, previous)

    def _restore_tutor_turn(self) -> None:
        """A client re-creating its history (after a reconnect) adds the tutor's past turns:
        the learner turns before each were answered by it, so the tutor walks through them
        silently and picks the lesson up where it was."""
        if self.tutor.started:
            self.tutor.respond(Cue(learner=self._learner))
        self.tutor.started = True
        self._learner = []

    async def _item_truncate(self, event: Event) -> None:
        item_id = self._field(event, "item_id", str)
        audio_end_ms = self._field(event, "audio_end_ms", int)
        content_index = self._field(event, "content_index", int, required=False) or 0
        item = self.items[self._find(item_id)]
        audio = self._audio.get(item_id)
        if item.get("role") != "assistant" or audio is None or content_index != 0:
            raise ClientError("invalid_value", "only assistant audio can be truncated", "item_id")
        have_ms = len(audio) // BYTES_PER_MS
        if audio_end_ms < 0 or audio_end_ms > have_ms:
            raise ClientError(
                "invalid_value",
                f"audio content of {have_ms}ms is already shorter than {audio_end_ms}ms",
                "audio_end_ms",
            )
        part = item["content"][0]
        heard = audio_end_ms / have_ms if have_ms else 0.0
        transcript = part.get("transcript") or ""
        # The learner heard about this share of the words; drop the rest.
        cut = transcript[: round(len(transcript) * heard)]
        part["transcript"] = cut if heard >= 1 else cut.rsplit(" ", 1)[0] if " " in cut else ""
        del audio[audio_end_ms * BYTES_PER_MS :]
        await self._send(
            {
                "type": "conversation.item.truncated",
                "item_id": item_id,
                "content_index": content_index,
                "audio_end_ms": audio_end_ms,
            }
        )

    async def _item_delete(self, event: Event) -> None:
        item_id = self._field(event, "item_id", str)
        del self.items[self._find(item_id)]
        self._audio.pop(item_id, None)
        await self._send({"type": "conversation.item.deleted", "item_id": item_id})

    async def _item_retrieve(self, event: Event) -> None:
        item = self.items[self._find(self._field(event, "item_id", str))]
        await self._send({"type": "conversation.item.retrieved", "item": self._public(item)})

    # --- responses ----------------------------------------------------------------------------

    async def _response_create(self, event: Event) -> None:
        params = self._field(event, "response", dict, required=False) or {}
        if self.response is not None:
            raise ClientError(
                "conversation_already_has_active_response",
                f"Conversation already has an active response in progress: {self.response.id}. "
                "Wait until the response is finished before creating a new one.",
            )
        modalities = params.get("output_modalities")
        if modalities is not None and modalities not in (["audio"], ["text"]):
            raise ClientError(
                "invalid_value",
                "output_modalities must be ['audio'] or ['text']",
                "response.output_modalities",
            )
        tools = params.get("tools", self.session.get("tools") or [])
        names = {t.get("name") for t in tools if isinstance(t, dict)}
        choice = params.get("tool_choice", self.session.get("tool_choice", "auto"))
        if isinstance(choice, dict) and choice.get("name") not in names:
            raise ClientError(
                "invalid_value",
                f"tool_choice names a tool that is not declared: {choice.get('name')!r}",
                "response.tool_choice",
            )
        await self._start_response(params)

    async def _response_cancel(self, event: Event) -> None:
        wanted = self._field(event, "response_id", str, required=False)
        if self.response is None or wanted not in (None, self.response.id):
            raise ClientError(
                "response_cancel_not_active", "There is no active response to cancel."
            )
        await self.cancel_response("client_cancelled")

    async def cancel_response(self, reason: str) -> None:
        """Stop the active response; it finishes with `status: cancelled`."""
        response = self.response
        if response is None or response.cancel_reason:
            return
        response.cancel_reason = reason
        response.cancelled.set()
        if response.task:
            await asyncio.shield(response.task)

    def _cue(self, params: dict[str, Any]) -> Cue:
        tools = params.get("tools", self.session.get("tools") or [])
        names = frozenset(t["name"] for t in tools if isinstance(t, dict) and "name" in t)
        choice = params.get("tool_choice", self.session.get("tool_choice", "auto"))
        forced = None
        if isinstance(choice, dict):
            forced = choice.get("name")
        elif choice == "required" and names:
            preferred = "grade_lesson" if self.tutor.finished else "trigger_quiz"
            forced = preferred if preferred in names else sorted(names)[0]
        cue = Cue(
            learner=self._learner,
            tool_results=self._tool_results,
            tools=frozenset() if choice == "none" else names,
            forced_tool=forced,
            instructions=params.get("instructions"),
        )
        self._learner, self._tool_results = [], []
        return cue

    async def _start_response(self, params: dict[str, Any]) -> None:
        response = Response(self._id("resp"))
        self.response = response
        moves = self.tutor.respond(self._cue(params))
        response.task = asyncio.create_task(self._run_response(response, params, moves))

    async def _run_response(
        self, response: Response, params: dict[str, Any], moves: list[Move]
    ) -> None:
        modalities = params.get("output_modalities") or self.session["output_modalities"]
        in_conversation = params.get("conversation", "auto") != "none"
        output: list[dict[str, Any]] = []
        usage = self._usage_in()
        shell = {
            "object": "realtime.response",
            "id": response.id,
            "output_modalities": modalities,
            "conversation_id": "conv_offline" if in_conversation else None,
            "max_output_tokens": "inf",
            "metadata": params.get("metadata"),
        }
        try:
            await self._send(
                {
                    "type": "rate_limits.updated",
                    "rate_limits": [
                        {
                            "name": "requests",
                            "limit": 10000,
                            "remaining": 9999,
                            "reset_seconds": 0.006,
                        },
                        {
                            "name": "tokens",
                            "limit": 200000,
                            "remaining": 199000,
                            "reset_seconds": 0.3,
                        },
                    ],
                }
            )
            await self._send(
                {
                    "type": "response.created",
                    "response": {**shell, "status": "in_progress", "output": [], "usage": None},
                }
            )
            for index, move in enumerate(moves):
                if response.cancel_reason:
                    break
                if isinstance(move, Say):
                    item = await self._say(
                        response, index, move.text, modalities, usage, in_conversation
                    )
                else:
                    item = await self._call_tool(response, index, move, usage, in_conversation)
                output.append(self._public(item))
            status = "cancelled" if response.cancel_reason else "completed"
            details = (
                {"type": "cancelled", "reason": response.cancel_reason}
                if response.cancel_reason
                else None
            )
            await self._send(
                {
                    "type": "response.done",
                    "response": {
                        **shell,
                        "status": status,
                        "status_details": details,
                        "output": output,
                        "usage": usage.as_event(),
                    },
                }
            )
        finally:
            self.response = None
            self.responses_done += 1

    def _usage_in(self) -> Usage:
        usage = Usage()
        for item in self.items:
            for part in item.get("content") or []:
                usage.text_in += text_tokens(part.get("text") or part.get("transcript") or "")
            usage.audio_in += audio_tokens(item.get("audio_ms", 0) * BYTES_PER_MS)
            usage.text_in += text_tokens(item.get("arguments", "") + item.get("output", ""))
        usage.text_in += text_tokens(self.session.get("instructions") or "")
        return usage

    async def _open_item(
        self, response: Response, index: int, item: dict[str, Any], in_conversation: bool
    ) -> None:
        await self._send(
            {
                "type": "response.output_item.added",
                "response_id": response.id,
                "output_index": index,
                "item": self._public(item),
            }
        )
        if in_conversation:
            previous = self.items[-1]["id"] if self.items else None
            self.items.append(item)
            await self._send(
                {
                    "type": "conversation.item.added",
                    "previous_item_id": previous,
                    "item": self._public(item),
                }
            )

    async def _close_item(
        self, response: Response, index: int, item: dict[str, Any], in_conversation: bool
    ) -> None:
        item["status"] = "incomplete" if response.cancel_reason else "completed"
        await self._send(
            {
                "type": "response.output_item.done",
                "response_id": response.id,
                "output_index": index,
                "item": self._public(item),
            }
        )
        if in_conversation:
            await self._send({"type": "conversation.item.done", "item": self._public(item)})

    async def _say(
        self,
        response: Response,
        index: int,
        text: str,
        modalities: list[str],
        usage: Usage,
        in_conversation: bool,
    ) -> dict[str, Any]:
        audio_out = modalities == ["audio"]
        part_type = "output_audio" if audio_out else "output_text"
        key = "transcript" if audio_out else "text"
        item: dict[str, Any] = {
            "id": self._id("item"),
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        await self._open_item(response, index, item, in_conversation)
        where = {
            "response_id": response.id,
            "item_id": item["id"],
            "output_index": index,
            "content_index": 0,
        }
        await self._send(
            {
                "type": "response.content_part.added",
                **where,
                "part": {"type": "audio" if audio_out else "text", key: ""},
            }
        )
        spoken = ""
        if audio_out:
            audio = self._audio.setdefault(item["id"], bytearray())
            spoken = await self._stream_speech(response, where, text, audio)
            await self._send({"type": "response.output_audio.done", **where})
            await self._send(
                {"type": "response.output_audio_transcript.done", **where, "transcript": spoken}
            )
            usage.audio_out += audio_tokens(len(audio))
        else:
            for word in re.findall(r"\S+\s*", text):
                if response.cancel_reason:
                    break
                spoken += word
                await self._send({"type": "response.output_text.delta", **where, "delta": word})
            await self._send({"type": "response.output_text.done", **where, "text": spoken})
        usage.text_out += text_tokens(spoken)
        item["content"] = [{"type": part_type, key: spoken}]
        await self._send(
            {
                "type": "response.content_part.done",
                **where,
                "part": {"type": "audio" if audio_out else "text", key: spoken},
            }
        )
        await self._close_item(response, index, item, in_conversation)
        return item

    async def _stream_speech(
        self, response: Response, where: dict[str, Any], text: str, audio: bytearray
    ) -> str:
        """Sentence by sentence: its transcript, then its audio in deltas of at most 100 ms,
        paced after a lead so a response lasts long enough to be interrupted, as real ones do."""
        voice = self.session["audio"]["output"]
        speed = float(voice.get("speed") or 1.0)
        language = self.scenario.language if self.scenario else "en"
        spoken = ""
        started = time.monotonic()
        for sentence in _SENTENCE.split(text.strip()):
            if response.cancel_reason:
                break
            delta = (" " if spoken else "") + sentence
            spoken += delta
            await self._send(
                {"type": "response.output_audio_transcript.delta", **where, "delta": delta}
            )
            pending = bytearray()
            async with contextlib.aclosing(self._speech(sentence, language, speed)) as chunks:
                async for chunk in chunks:
                    pending += chunk
                    while len(pending) >= MAX_DELTA_MS * BYTES_PER_MS:
                        await self._audio_delta(response, where, audio, pending, started)
                        if response.cancel_reason:
                            return spoken
            if pending:
                await self._audio_delta(response, where, audio, pending, started)
        return spoken

    async def _audio_delta(
        self,
        response: Response,
        where: dict[str, Any],
        audio: bytearray,
        pending: bytearray,
        started: float,
    ) -> None:
        size = min(len(pending), MAX_DELTA_MS * BYTES_PER_MS)
        chunk = bytes(pending[:size])
        del pending[:size]
        audio += chunk
        await self._send(
            {
                "type": "response.output_audio.delta",
                **where,
                "delta": base64.b64encode(chunk).decode("ascii"),
            }
        )
        if self._pace > 0:
            ahead_ms = len(audio) / BYTES_PER_MS - self._lead_ms
            wait = started + ahead_ms / 1000 / self._pace - time.monotonic()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(response.cancelled.wait(), wait)

    async def _call_tool(
        self, response: Response, index: int, move: CallTool, usage: Usage, in_conversation: bool
    ) -> dict[str, Any]:
        call_id = self._id("call")
        self._calls[call_id] = move.name
        arguments = json.dumps(move.arguments, ensure_ascii=False)
        item: dict[str, Any] = {
            "id": self._id("item"),
            "type": "function_call",
            "status": "in_progress",
            "call_id": call_id,
            "name": move.name,
            "arguments": "",
        }
        await self._open_item(response, index, item, in_conversation)
        where = {
            "response_id": response.id,
            "item_id": item["id"],
            "output_index": index,
            "call_id": call_id,
        }
        for start in range(0, len(arguments), 64):
            await self._send(
                {
                    "type": "response.function_call_arguments.delta",
                    **where,
                    "delta": arguments[start : start + 64],
                }
            )
        item["arguments"] = arguments
        await self._send(
            {
                "type": "response.function_call_arguments.done",
                **where,
                "name": move.name,
                "arguments": arguments,
            }
        )
        usage.text_out += text_tokens(arguments)
        await self._close_item(response, index, item, in_conversation)
        return item

    _handlers: ClassVar[dict[str, Callable[[EngineSession, Event], Awaitable[None]]]] = {
        "session.update": _session_update,
        "input_audio_buffer.append": _append,
        "input_audio_buffer.commit": _commit,
        "input_audio_buffer.clear": _clear,
        "conversation.item.create": _item_create,
        "conversation.item.truncate": _item_truncate,
        "conversation.item.delete": _item_delete,
        "conversation.item.retrieve": _item_retrieve,
        "response.create": _response_create,
        "response.cancel": _response_cancel,
    }
