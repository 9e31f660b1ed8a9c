"""The echo gate: without headphones the mic hears the tutor, and server VAD would take that
for the learner interrupting. While the tutor is audible, mic frames are dropped unless the mic
is clearly louder than the playback (a learner talking over the tutor still gets through)."""

from __future__ import annotations


class EchoGate:
    """Decides, frame by frame, whether the mic may be sent while the tutor plays."""

    def __init__(self, enabled: bool, floor: float = 0.015, ratio: float = 0.6) -> None:
        self.enabled = enabled
        self.floor = floor  # linear RMS below which playback does not count as audible
        self.ratio = ratio
        self._playback = 0.0  # smoothed playback RMS
        self.dropped = 0

    def allow(self, mic_rms: float, playback_rms: float) -> bool:
        """Whether a mic frame with this RMS may be sent, given the playback RMS right now."""
        # Fast attack, slow release: the gate closes as soon as the tutor speaks and stays
        # closed through the room's short reverberation after.
        self._playback = max(playback_rms, self._playback * 0.85)
        if not self.enabled or self._playback < 0.002:
            return True
        if mic_rms >= max(self.floor, self.ratio * self._playback + 0.002):
            return True
        self.dropped += 1
        return False
