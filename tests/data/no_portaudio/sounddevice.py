"""Stands in for sounddevice on a machine without PortAudio: importing the real module there
raises OSError("PortAudio library not found"), and so does this one. Put this folder first on
PYTHONPATH to run tutor as it runs on such a machine."""

raise OSError("PortAudio library not found")
