"""The tutor's voice in a replay: the sound card, opened at the first audio (so a log without
audio, or a bad log, never touches a device); without one, said once and silent."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tutor_cli.replay.playback import LEARNER_AUDIO

if TYPE_CHECKING:
    from tutor_cli.audio.speaker import ReplaySpeaker


class LazySpeaker:
    """A `playback.Speaker` on the default output device. `say` tells the learner why there
    is no sound, once."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self._device: ReplaySpeaker | None = None
        self._tried = False
        self.say = say

    def push(self, item_id: str, pcm: bytes) -> None:
        if not self._tried:
            self._tried = True
            from tutor_cli.audio.devices import AudioUnavailable, pick_device
            from tutor_cli.audio.speaker import ReplaySpeaker

            try:
                device = pick_device(None, "output", "--output-device")
                self._device = ReplaySpeaker(device, LEARNER_AUDIO)
            except AudioUnavailable as exc:
                self.say(f"replaying without sound: {exc}")
        if self._device is not None:
            self._device.push(item_id, pcm)

    def flush(self) -> None:
        if self._device is not None:
            self._device.flush()

    def close(self) -> None:
        if self._device is not None:
            self._device.close()
