"""The client events the engine takes, field by field, as the OpenAI SDK's client-event types
declare them (`openai.types.realtime`; the SDK is a test oracle only, see
tests/engine/test_client_events.py).

Where the API documents a range the SDK leaves out (`speed` 0.25 to 1.5, `threshold` 0 to 1,
`max_output_tokens` up to 4096), the range is checked too, so a value is refused when the
session is set up instead of failing a reply later. Durations are bounded by the session's
hour. Fields the SDK does not declare pass unchecked and unused, as the SDK lets them pass.
"""

from __future__ import annotations

from tutor_cli.engine.client_events import (
    AnyJson,
    Either,
    Event,
    Flag,
    ListOf,
    MapOf,
    Nullable,
    Number,
    OneOf,
    Record,
    Shape,
    Text,
    Variants,
    Whole,
)

SESSION_MS = 3_600_000
TEXT = Nullable(Text())
FLAG = Nullable(Flag())
MS = Nullable(Whole(0, SESSION_MS))
TEXTS = Nullable(ListOf(Text()))
EFFORT = Nullable(OneOf(("minimal", "low", "medium", "high", "xhigh")))


def _record(*required: str, **fields: Shape) -> Record:
    """An object with `fields`, the `required` ones among them."""
    return Record(fields, frozenset(required))


def _literal(*values: str) -> Nullable:
    return Nullable(OneOf(values))


# --- audio ----------------------------------------------------------------------------------

# A union told apart by `type`, which `audio/pcm` may leave out.
AUDIO_FORMAT = Nullable(
    Variants(
        "type",
        {
            "audio/pcm": _record(type=TEXT, rate=Nullable(OneOf((24000,)))),
            "audio/pcmu": _record(type=TEXT),
            "audio/pcma": _record(type=TEXT),
        },
        default="audio/pcm",
    )
)
VOICE = Nullable(Either((Text(), _record("id", id=Text()))))
TURN_DETECTION = Nullable(
    Variants(
        "type",
        {
            "server_vad": _record(
                type=Text(),
                threshold=Nullable(Number(0.0, 1.0)),
                prefix_padding_ms=MS,
                silence_duration_ms=MS,
                idle_timeout_ms=MS,
                create_response=FLAG,
                interrupt_response=FLAG,
            ),
            "semantic_vad": _record(
                type=Text(),
                eagerness=_literal("low", "medium", "high", "auto"),
                create_response=FLAG,
                interrupt_response=FLAG,
            ),
        },
    )
)
AUDIO_INPUT = _record(
    format=AUDIO_FORMAT,
    noise_reduction=Nullable(
        _record(type=_literal("near_field", "far_field"), strength=Nullable(Number(0.0, 1.0)))
    ),
    transcription=Nullable(
        _record(
            model=TEXT, language=TEXT, languages=TEXTS, prompt=TEXT, keywords=TEXTS, delay=EFFORT
        )
    ),
    turn_detection=TURN_DETECTION,
)
AUDIO_OUTPUT = _record(format=AUDIO_FORMAT, voice=VOICE, speed=Nullable(Number(0.25, 1.5)))

# --- tools and prompts ----------------------------------------------------------------------

TOOL_FILTER = _record(read_only=FLAG, tool_names=TEXTS)
MCP_TOOL = _record(
    "server_label",
    "type",
    type=Text(),
    server_label=Text(),
    server_url=TEXT,
    server_description=TEXT,
    authorization=TEXT,
    connector_id=TEXT,  # the API's list of connectors grows; the engine reaches none
    tunnel_id=TEXT,
    headers=Nullable(MapOf(Text())),
    defer_loading=FLAG,
    allowed_callers=Nullable(ListOf(OneOf(("direct", "programmatic")))),
    allowed_tools=Nullable(Either((ListOf(Text()), TOOL_FILTER))),
    require_approval=Nullable(
        Either(
            (
                OneOf(("always", "never")),
                _record(always=Nullable(TOOL_FILTER), never=Nullable(TOOL_FILTER)),
            )
        )
    ),
)
FUNCTION_TOOL = _record(type=TEXT, name=TEXT, description=TEXT, parameters=AnyJson())
TOOLS = Nullable(
    ListOf(Variants("type", {"function": FUNCTION_TOOL, "mcp": MCP_TOOL}, "function"), most=128)
)
TOOL_CHOICE = Nullable(
    Either(
        (
            OneOf(("none", "auto", "required")),
            Variants(
                "type",
                {
                    "function": _record("name", type=Text(), name=Text()),
                    "mcp": _record("server_label", type=Text(), server_label=Text(), name=TEXT),
                },
            ),
        )
    )
)
CACHE_BREAKPOINT = Nullable(_record("mode", mode=OneOf(("explicit",)), ttl=_literal("30m", "12h")))
PROMPT_INPUT = Variants(
    "type",
    {
        "input_text": _record(
            "text", type=Text(), text=Text(), prompt_cache_breakpoint=CACHE_BREAKPOINT
        ),
        "input_image": _record(
            "detail",
            type=Text(),
            detail=OneOf(("low", "high", "auto", "original")),
            file_id=TEXT,
            image_url=TEXT,
            prompt_cache_breakpoint=CACHE_BREAKPOINT,
        ),
        "input_file": _record(
            type=Text(),
            detail=_literal("auto", "low", "high"),
            file_data=TEXT,
            file_id=TEXT,
            file_url=TEXT,
            filename=TEXT,
            prompt_cache_breakpoint=CACHE_BREAKPOINT,
        ),
    },
)
PROMPT = Nullable(
    _record(
        "id",
        id=Text(),
        version=TEXT,
        variables=Nullable(MapOf(Either((Text(), PROMPT_INPUT)))),
    )
)

# --- items ----------------------------------------------------------------------------------

ITEM_FIELDS: dict[str, Shape] = {
    "type": Text(),
    "id": TEXT,
    "object": _literal("realtime.item"),
    "status": _literal("completed", "incomplete", "in_progress"),
}


def _message(part_types: tuple[str, ...], **part: Shape) -> Record:
    content = ListOf(_record(type=_literal(*part_types), text=TEXT, **part))
    return _record("content", **ITEM_FIELDS, role=Text(), content=content)


MESSAGE = Variants(
    "role",
    {
        "system": _message(("input_text",)),
        "user": _message(
            ("input_text", "input_audio", "input_image"),
            audio=TEXT,
            transcript=TEXT,
            image_url=TEXT,
            detail=_literal("auto", "low", "high"),
        ),
        "assistant": _message(("output_text", "output_audio"), audio=TEXT, transcript=TEXT),
    },
)
MCP_CALL: dict[str, Shape] = {
    "type": Text(),
    "id": Text(),
    "name": Text(),
    "arguments": Text(),
    "server_label": Text(),
}
ITEM = Variants(
    "type",
    {
        "message": MESSAGE,
        "function_call": _record(
            "name", "arguments", **ITEM_FIELDS, call_id=TEXT, name=Text(), arguments=Text()
        ),
        "function_call_output": _record(
            "call_id", "output", **ITEM_FIELDS, call_id=Text(), output=Text()
        ),
        "mcp_approval_response": _record(
            "id",
            "approval_request_id",
            "approve",
            type=Text(),
            id=Text(),
            approval_request_id=Text(),
            approve=Flag(),
            reason=TEXT,
        ),
        "mcp_list_tools": _record(
            "server_label",
            "tools",
            type=Text(),
            id=TEXT,
            server_label=Text(),
            tools=ListOf(
                _record(
                    "name",
                    "input_schema",
                    name=Text(),
                    input_schema=AnyJson(),
                    annotations=AnyJson(),
                    description=TEXT,
                )
            ),
        ),
        "mcp_call": _record(
            *MCP_CALL, **MCP_CALL, approval_request_id=TEXT, output=TEXT, error=AnyJson()
        ),
        "mcp_approval_request": _record(*MCP_CALL, **MCP_CALL),
    },
)

# --- sessions and responses -----------------------------------------------------------------

CHOICES: dict[str, Shape] = {
    "instructions": TEXT,
    "output_modalities": Nullable(ListOf(OneOf(("text", "audio")))),
    "tools": TOOLS,
    "tool_choice": TOOL_CHOICE,
    "max_output_tokens": Nullable(Either((Whole(1, 4096), OneOf(("inf",))))),
    "parallel_tool_calls": FLAG,
    "prompt": PROMPT,
    "reasoning": Nullable(_record(effort=EFFORT)),
}
REALTIME_SESSION = _record(
    **CHOICES,
    type=Text(),
    model=TEXT,
    include=Nullable(ListOf(OneOf(("item.input_audio_transcription.logprobs",)))),
    audio=Nullable(_record(input=Nullable(AUDIO_INPUT), output=Nullable(AUDIO_OUTPUT))),
    tracing=Nullable(
        Either((OneOf(("auto",)), _record(group_id=TEXT, workflow_name=TEXT, metadata=AnyJson())))
    ),
    truncation=Nullable(
        Either(
            (
                OneOf(("auto", "disabled")),
                _record(
                    "retention_ratio",
                    "type",
                    type=OneOf(("retention_ratio",)),
                    retention_ratio=Number(0.0, 1.0),
                    token_limits=Nullable(_record(post_instructions=Nullable(Whole()))),
                ),
            )
        )
    ),
)
RESPONSE = _record(
    **CHOICES,
    conversation=TEXT,
    metadata=Nullable(MapOf(Text())),
    input=Nullable(ListOf(ITEM)),
    audio=Nullable(_record(output=Nullable(_record(format=AUDIO_FORMAT, voice=VOICE)))),
)

EVENT_ID = TEXT
ITEM_ID = _record("item_id", event_id=EVENT_ID, item_id=Text())
# The engine holds realtime sessions only: a transcription session is refused by its type.
CLIENT_EVENTS: dict[str, Record] = {
    "session.update": _record(
        "session", event_id=EVENT_ID, session=Variants("type", {"realtime": REALTIME_SESSION})
    ),
    "input_audio_buffer.append": _record("audio", event_id=EVENT_ID, audio=Text()),
    "input_audio_buffer.commit": _record(event_id=EVENT_ID),
    "input_audio_buffer.clear": _record(event_id=EVENT_ID),
    "conversation.item.create": _record(
        "item", event_id=EVENT_ID, previous_item_id=TEXT, item=ITEM
    ),
    "conversation.item.retrieve": ITEM_ID,
    "conversation.item.delete": ITEM_ID,
    "conversation.item.truncate": _record(
        "item_id",
        "content_index",
        "audio_end_ms",
        event_id=EVENT_ID,
        item_id=Text(),
        content_index=Whole(0, 1000),
        audio_end_ms=Whole(0, SESSION_MS),
    ),
    "response.create": _record(event_id=EVENT_ID, response=Nullable(RESPONSE)),
    "response.cancel": _record(event_id=EVENT_ID, response_id=TEXT),
}


def check_client_event(event: Event) -> None:
    """Refuse an event of a known type whose fields do not fit, with a `ClientError` naming
    the first field at fault."""
    CLIENT_EVENTS[event["type"]].check(event, "")
