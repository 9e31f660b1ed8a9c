"""The learner's microphone and the tutor's speaker for one call, opened together."""

from __future__ import annotations

import contextlib
from collections import deque

from tutor_cli.audio.devices import AudioUnavailable, pick_device
from tutor_cli.audio.echo import EchoGate
from tutor_cli.audio.jitter_buffer import JitterBuffer
from tutor_cli.audio.mic import NoMic, SoundCardMic, WavMic
from tutor_cli.audio.settings import EchoGateMode, VoiceSettings
from tutor_cli.audio.speaker import SoundCardSpeaker, WavSpeaker

Mic = SoundCardMic | WavMic | NoMic
Speaker = SoundCardSpeaker | WavSpeaker


class Voice:
    """Mic frames in, tutor audio out, and the accounting a barge-in needs."""

    def __init__(
        self,
        mic: Mic,
        speaker: Speaker,
        buffer: JitterBuffer,
        gate: EchoGate,
        missing: str | None = None,
    ) -> None:
        self.mic = mic
        self.speaker = speaker
        self.buffer = buffer
        self.gate = gate
        self.missing = missing  # the end that could not be had, and why
        self.send_latency: deque[float] = deque(maxlen=10000)  # capture → sent, seconds

    @classmethod
    async def open(cls, settings: VoiceSettings) -> Voice:
        """Open both ends; AudioUnavailable says why there can be no voice here.

        A WAV file at one end needs no sound card and no PortAudio, so the other end may be
        missing: without a microphone the learner types, without a speaker the tutor's voice
        is heard by nobody but still paced; `missing` says which, and why."""
        buffer = JitterBuffer(settings.prebuffer_ms)
        files = settings.mic_file is not None or settings.speaker_file is not None
        missing: str | None = None
        mic: Mic
        speaker: Speaker
        if settings.mic_file is not None:
            mic = WavMic(settings.mic_file, settings.mic_realtime)
        else:
            try:
                mic = SoundCardMic(pick_device(settings.input_device, "input", "--input-device"))
            except AudioUnavailable as exc:
                if not files:
                    raise
                mic, missing = NoMic(), f"no microphone, so type your turns: {exc}"
        if settings.speaker_file is not None:
            speaker = WavSpeaker(buffer, settings.speaker_file)
        else:
            try:
                device = pick_device(settings.output_device, "output", "--output-device")
                speaker = SoundCardSpeaker(buffer, device)
            except AudioUnavailable as exc:
                if not files:
                    raise
                speaker, missing = WavSpeaker(buffer, None), f"no speaker to hear the tutor: {exc}"
        # Only a loudspeaker can leak the tutor into the mic; a WAV file cannot.
        match settings.echo_gate:
            case EchoGateMode.on:
                gate_on = True
            case EchoGateMode.off:
                gate_on = False
            case EchoGateMode.auto:
                gate_on = isinstance(speaker, SoundCardSpeaker)
        buffer.track_level = gate_on
        voice = cls(mic, speaker, buffer, EchoGate(gate_on), missing)
        try:
            await speaker.start()
            await mic.start()
        except AudioUnavailable:
            await voice.close()
            raise
        return voice

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.mic.stop()
        with contextlib.suppress(Exception):
            await self.speaker.stop()
