"""What the engine's protocol asks of its responder, besides sending events: the jobs that take
time (streaming a response, stopping one, recognising speech). The protocol decides; the
responder carries its outputs out strictly in order."""

from __future__ import annotations

from tutor_cli.datatypes import datatype
from tutor_cli.engine.client_events import Event
from tutor_cli.engine.streaming import Response


@datatype
class Respond:
    """Job: stream this response."""

    response: Response


@datatype
class Cancel:
    """Job: stop this response; carry out nothing later until its `response.done` is out."""

    response: Response


@datatype
class Transcribe:
    """Job: recognise the learner's speech (24 kHz PCM16), then call `transcribed`."""

    item_id: str
    pcm: bytes
    language: str


Job = Respond | Cancel | Transcribe
Output = Event | Job
