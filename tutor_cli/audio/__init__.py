"""Voice: microphone capture, jitter-buffered playback, barge-in accounting, echo gate, devices."""
