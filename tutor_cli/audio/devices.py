"""Sound devices through PortAudio (sounddevice): whether there are any, and which to use."""

from __future__ import annotations

from typing import Any, Literal

from tutor_cli.datatypes import datatype
from tutor_cli.errors import BadInput

PORTAUDIO_FIX = (
    "install PortAudio (Debian/Ubuntu: sudo apt install libportaudio2; "
    "macOS: brew install portaudio)"
)


class AudioUnavailable(Exception):
    """No audio here; the message says why in words a learner can act on, and `brief` says
    it in a few words (for a one-line notice; `tutor doctor` gives the whole story)."""

    def __init__(self, message: str, *, brief: str | None = None) -> None:
        super().__init__(message)
        self.brief = brief or message


def portaudio() -> Any:
    """The sounddevice module, or AudioUnavailable when PortAudio is missing."""
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError when the library is not found
        raise AudioUnavailable(
            f"PortAudio is not available ({exc}); {PORTAUDIO_FIX}",
            brief="PortAudio is not available",
        ) from None
    return sounddevice


@datatype
class Device:
    index: int
    name: str
    inputs: int
    outputs: int
    default_rate: float
    hostapi: str
    default_input: bool
    default_output: bool


def list_devices() -> list[Device]:
    """Every device PortAudio sees (an empty list on a machine without sound)."""
    sd = portaudio()
    try:
        raw = sd.query_devices()
        apis = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except Exception as exc:  # PortAudio errors come as sd.PortAudioError
        raise AudioUnavailable(f"cannot list sound devices: {exc}") from None
    devices = []
    for info in raw:
        devices.append(
            Device(
                index=int(info["index"]),
                name=str(info["name"]),
                inputs=int(info["max_input_channels"]),
                outputs=int(info["max_output_channels"]),
                default_rate=float(info["default_samplerate"]),
                hostapi=str(apis[info["hostapi"]]["name"]),
                default_input=int(info["index"]) == default_in,
                default_output=int(info["index"]) == default_out,
            )
        )
    return devices


def pick_device(spec: str | None, kind: Literal["input", "output"], option: str) -> Device:
    """The device for `--input-device`/`--output-device`: an index, a name substring, or the
    default. An unknown one is bad input (exit 2); no device at all is AudioUnavailable."""
    devices = list_devices()
    usable = [d for d in devices if (d.inputs if kind == "input" else d.outputs) > 0]
    if spec is None:
        default = [d for d in usable if (d.default_input if kind == "input" else d.default_output)]
        if default:
            return default[0]
        if usable:
            return usable[0]
        raise AudioUnavailable(f"no {kind} device found")
    if spec.strip().isdigit():
        for device in usable:
            if device.index == int(spec):
                return device
        raise BadInput(f"{option}: no {kind} device with index {spec} (see 'tutor devices')")
    matches = [d for d in usable if spec.lower() in d.name.lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise BadInput(f"{option}: no {kind} device matches {spec!r} (see 'tutor devices')")
    names = ", ".join(f"{d.index} {d.name!r}" for d in matches[:5])
    raise BadInput(f"{option}: {spec!r} matches several {kind} devices ({names}); use an index")


def open_stream(kind: Literal["input", "output"], device: Device, rate: int, callback: Any) -> Any:
    """A started 20 ms-block mono PCM16 PortAudio stream; AudioUnavailable if it cannot open."""
    sd = portaudio()
    stream_class = sd.InputStream if kind == "input" else sd.OutputStream
    try:
        stream = stream_class(
            samplerate=rate,
            channels=1,
            dtype="int16",
            blocksize=rate // 50,
            device=device.index,
            latency="low",
            callback=callback,
        )
        stream.start()
    except Exception as exc:  # PortAudioError, or a rate the device refuses
        purpose = "recording" if kind == "input" else "playback"
        raise AudioUnavailable(f"cannot open {device.name!r} for {purpose}: {exc}") from None
    return stream
