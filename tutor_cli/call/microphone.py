"""The learner's voice in a call: how they can talk, and their microphone streamed to the
server.

How they can talk is an `AudioMode`: voice (mic and speaker), push-to-talk, or text only (with
the reason audio is off), muted or not. Mic frames go to the Conversation unless muted,
outside a push-to-talk turn, without a socket, or gated as the tutor's echo; the level goes to
the meter five times a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from tutor_cli.audio.devices import AudioUnavailable
from tutor_cli.audio.settings import VoiceSettings
from tutor_cli.lesson.updates import AudioMode, CallUpdate, MicLevel, Notice
from tutor_cli.realtime.conversation import Conversation

if TYPE_CHECKING:
    from tutor_cli.audio.voice import Voice

MIC_LEVEL_FRAMES = 5  # the meter gets the loudest of this many 40 ms frames (5 a second)


class Microphone:
    """One call's microphone and speaker, and what the learner may do with them."""

    def __init__(
        self,
        settings: VoiceSettings,
        conversation: Conversation,
        *,
        send: Callable[[], Awaitable[None]],
        show: Callable[[CallUpdate], None],
        connected: Callable[[], bool],
        voice: Voice | None = None,
    ) -> None:
        """`send` sends what the Conversation queued; `voice`, if given, is an opened mic and
        speaker to use instead of the settings' devices."""
        self.settings = settings
        self.conversation = conversation
        self.voice = voice
        self.mode = AudioMode("text")
        self.talking = False  # push-to-talk held
        self._send = send
        self._show = show
        self._connected = connected
        self._pump: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Open the devices; without them the call goes on as text, and says why."""
        # numpy and the sound stack load here, when a call has a voice: a text call never
        # pays for them.
        from tutor_cli.audio.voice import Voice

        try:
            if self.voice is None:
                self.voice = await Voice.open(self.settings)
        except AudioUnavailable as exc:
            self.mode = AudioMode("text", reason=exc.brief)
        else:
            push_to_talk = self.settings.push_to_talk
            self.mode = AudioMode("push_to_talk" if push_to_talk else "voice")
            if self.voice.missing is not None:
                self._show(Notice(self.voice.missing, "warning"))
        self._show(self.mode)

    def start(self) -> None:
        """Start streaming (once the session is set up)."""
        if self.voice is not None and self._pump is None:
            self._pump = asyncio.create_task(self._stream(self.voice))

    def set_muted(self, muted: bool) -> None:
        """Mute or unmute (nothing is sent while muted)."""
        self.mode = replace(self.mode, muted=muted)
        self._show(self.mode)

    async def push_to_talk(self, talking: bool) -> None:
        """Start a learner turn, or end it and ask for the reply."""
        if self.mode.mode != "push_to_talk":
            self._show(Notice("push-to-talk is off in this call", "warning"))
            return
        self.talking = talking
        if talking:
            self.conversation.start_spoken_turn()
        else:
            self.conversation.end_spoken_turn()
        await self._send()

    async def stop(self) -> None:
        """Stop streaming."""
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
            self._pump = None

    async def close(self, play_out: Callable[[], bool]) -> None:
        """Stop streaming; let the last words play out (at most 5 s, or until `play_out`
        says to stop waiting), then close the devices."""
        await self.stop()
        if self.voice is not None:
            for _ in range(100):
                if self.voice.buffer.idle or not play_out():
                    break
                await asyncio.sleep(0.05)
            await self.voice.close()

    async def _stream(self, voice: Voice) -> None:
        from tutor_cli.audio.pcm import FrameLevel, frame_rms

        level = FrameLevel()
        gate = voice.gate
        async for frame, captured_at in voice.mic.frames():
            level.add(frame)
            if level.frames >= MIC_LEVEL_FRAMES:
                self._show(MicLevel(*level.take()))
            if self.mode.muted or not self._connected():
                continue
            if self.mode.mode == "push_to_talk" and not self.talking:
                continue
            # Each frame's level only when the gate can use it (a loudspeaker that plays).
            loudness = frame_rms(frame) if gate.enabled else 0.0
            if not gate.allow(loudness, voice.buffer.playback_rms):
                continue
            self.conversation.append_audio(frame)
            await self._send()
            voice.send_latency.append(time.perf_counter() - captured_at)
