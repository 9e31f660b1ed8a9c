"""The learner's microphone and the tutor's speaker for one call, opened together."""

from __future__ import annotations

import contextlib
from collections import deque

from tutor_cli.audio.devices import AudioUnavailable, pick_device
from tutor_cli.audio.echo import EchoGate
from tutor_cli.audio.jitter_buffer import JitterBuffer
from tutor_cli.audio.mic import SoundCardMic, WavMic
from tutor_cli.audio.settings import EchoGateMode, VoiceSettings
from tutor_cli.audio.speaker import SoundCardSpeaker, WavSpeaker


class Voice:
    """Mic frames in, tutor audio out, and the accounting a barge-in needs."""

    def __init__(
        self,
        mic: SoundCardMic | WavMic,
        speaker: SoundCardSpeaker | WavSpeaker,
        buffer: JitterBuffer,
        gate: EchoGate,
    ) -> None:
        self.mic = mic
        self.speaker = speaker
        self.buffer = buffer
        self.gate = gate
        self.send_latency: deque[float] = deque(maxlen=10000)  # capture → sent, seconds

    @classmethod
    async def open(cls, settings: VoiceSettings) -> Voice:
        """Open both ends; AudioUnavailable says why there can be no voice here."""
        buffer = JitterBuffer(settings.prebuffer_ms)
        if settings.mic_file is not None:
            mic: SoundCardMic | WavMic = WavMic(settings.mic_file, settings.mic_realtime)
        else:
            mic = SoundCardMic(pick_device(settings.input_device, "input", "--input-device"))
        if settings.speaker_file is not None:
            speaker: SoundCardSpeaker | WavSpeaker = WavSpeaker(buffer, settings.speaker_file)
        else:
            speaker = SoundCardSpeaker(
                buffer, pick_device(settings.output_device, "output", "--output-device")
            )
        # Only a loudspeaker can leak the tutor into the mic; a WAV file cannot.
        match settings.echo_gate:
            case EchoGateMode.on:
                gate_on = True
            case EchoGateMode.off:
                gate_on = False
            case EchoGateMode.auto:
                gate_on = isinstance(speaker, SoundCardSpeaker)
        buffer.track_level = gate_on
        voice = cls(mic, speaker, buffer, EchoGate(gate_on))
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
