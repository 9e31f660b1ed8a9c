from __future__ import annotations

import gzip
import json
import stat
from pathlib import Path

import pytest

from tests.conformance import assert_client_event
from tutor_cli.errors import BadInput
from tutor_cli.realtime import events
from tutor_cli.storage.eventlog import FORMAT, EventLogReader, EventLogWriter, read_log

KEY = "sk-test-0123456789abcdefSECRET"


def _write_sample(folder: Path, **kwargs) -> Path:
    with EventLogWriter.create(
        folder, scenario="a1_taxi_bogota", engine="offline", model="m", secrets=[KEY], **kwargs
    ) as log:
        log.write("client", events.user_text("Buenas tardes"))
        log.write("server", {"type": "response.created", "response": {"id": "r1"}})
        log.write("client", events.input_audio_append(b"\x01\x02" * 480))
        log.write("server", {"type": "response.output_audio.delta", "delta": "AAAA"})
        log.write("local", "<<not json from the server>>")
        return log.path


def test_round_trip(tmp_path: Path) -> None:
    path = _write_sample(tmp_path / "sessions")
    reader = read_log(path)
    records = list(reader)
    assert reader.header is not None
    assert reader.header["format"] == FORMAT and reader.header["version"] == 1
    assert {"tutor_version", "scenario", "engine", "model", "started_at"} <= set(reader.header)
    assert [r.dir for r in records] == ["client", "server", "client", "server", "local"]
    assert records[0].event["item"]["content"][0]["text"] == "Buenas tardes"
    assert records[3].event == {"type": "response.output_audio.delta", "delta": "AAAA"}
    assert records[4].event == "<<not json from the server>>"
    assert all(r.t is not None and r.t >= 0 for r in records)
    assert [r.t for r in records] == sorted(r.t for r in records)
    assert reader.bad_lines == 0


def test_lines_are_on_disk_before_close(tmp_path: Path) -> None:
    log = EventLogWriter.create(tmp_path, scenario="s", engine="offline", model="m")
    log.write("server", {"type": "session.created"})
    lines = log.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["event"]["type"] == "session.created"
    log.close()


def test_log_and_folder_are_owner_only(tmp_path: Path) -> None:
    path = _write_sample(tmp_path / "sessions")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_key_is_redacted_wherever_it_appears(tmp_path: Path) -> None:
    log = EventLogWriter.create(tmp_path, scenario="s", engine="openai", model="m", secrets=[KEY])
    log.write("local", {"type": "note", "text": f"Authorization: Bearer {KEY}"})
    log.write("server", {"type": "error", "error": {"message": f"bad key {KEY[:-3]}..."}})
    log.write("local", f"raw {KEY}")
    log.close()
    text = log.path.read_text(encoding="utf-8")
    assert KEY not in text
    assert text.count("[redacted]") == 2


def test_mic_audio_is_dropped_unless_asked_for(tmp_path: Path) -> None:
    dropped = [r.event for r in read_log(_write_sample(tmp_path / "a")) if r.dir == "client"][1]
    assert dropped["audio"] == "" and dropped["audio_bytes"] == 960
    assert_client_event(dropped)
    kept = [
        r.event
        for r in read_log(_write_sample(tmp_path / "b", keep_mic_audio=True))
        if r.dir == "client"
    ][1]
    assert len(kept["audio"]) == 1280 and "audio_bytes" not in kept


def test_gzip_log(tmp_path: Path) -> None:
    plain = _write_sample(tmp_path)
    packed = tmp_path / "log.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert [r.event for r in read_log(packed)] == [r.event for r in read_log(plain)]


def test_gzip_cut_short_keeps_what_was_read(tmp_path: Path) -> None:
    plain = _write_sample(tmp_path)
    packed = tmp_path / "log.jsonl.gz"
    data = gzip.compress(plain.read_bytes())
    packed.write_bytes(data[: len(data) - 12])
    reader = read_log(packed)
    records = list(reader)
    assert len(records) >= 1
    assert reader.bad_lines >= 1


def test_bare_jsonl_infers_direction(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    lines = [
        {"type": "session.update", "session": {"type": "realtime"}},
        {"type": "session.updated", "session": {}},
        {"type": "response.create"},
        {"type": "response.audio_transcript.delta", "delta": "Ho"},
    ]
    path.write_text("".join(json.dumps(e) + "\n" for e in lines), encoding="utf-8")
    reader = read_log(path)
    records = list(reader)
    assert reader.header is None
    assert [r.dir for r in records] == ["client", "server", "client", "server"]
    assert all(r.t is None for r in records)


def test_junk_lines_and_truncated_last_line_are_counted(tmp_path: Path) -> None:
    path = _write_sample(tmp_path)
    good = path.read_text(encoding="utf-8").splitlines()
    corrupt = [good[0], good[1], "garbage", good[2], "[1, 2]", '{"x": 1}', good[3], good[4][:25]]
    path.write_text("\n".join(corrupt), encoding="utf-8")
    reader = read_log(path)
    records = list(reader)
    assert len(records) == 3
    assert reader.bad_lines == 4
    assert reader.first_bad_line == 3


def test_strict_mode_names_the_first_bad_line(tmp_path: Path) -> None:
    path = _write_sample(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(3, "{not json")
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(BadInput, match=r"line 4: not JSON"):
        list(read_log(path, strict=True))


def test_missing_file_and_unknown_version_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such file"):
        list(read_log(tmp_path / "nope.jsonl"))
    future = tmp_path / "future.jsonl"
    future.write_text(json.dumps({"format": FORMAT, "version": 99}) + "\n", encoding="utf-8")
    with pytest.raises(BadInput, match="version 99 is not supported"):
        list(read_log(future))


def test_reader_streams_without_loading_the_file(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for i in range(20000):
            out.write(json.dumps({"type": "response.output_text.delta", "delta": str(i)}) + "\n")
    reader = read_log(path)
    iterator = iter(reader)
    first = next(iterator)
    assert first.event["delta"] == "0"
    assert reader.events == 1  # nothing past the first line has been parsed yet


# --- lines a reader must survive: numeric oddities, deep nesting, huge lines ---------------------

GOOD = '{"t": 1.0, "dir": "server", "event": {"type": "response.created"}}'
HEADER = json.dumps({"format": FORMAT, "version": 1, "scenario": "s"})


def _with_bad_line(tmp_path: Path, bad: str, *, gz: bool = False) -> Path:
    """A log whose line 3 is `bad`, between two good records."""
    text = "\n".join([HEADER, GOOD, bad, GOOD]) + "\n"
    if gz:
        path = tmp_path / "log.jsonl.gz"
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path = tmp_path / "log.jsonl"
        path.write_text(text, encoding="utf-8")
    return path


def _event_with(value: str) -> str:
    return '{"t": 2, "dir": "server", "event": {"type": "x", "audio_end_ms": ' + value + "}}"


ODD_LINES = {
    "t overflows to infinity": '{"t": 1e400, "dir": "server", "event": {"type": "x"}}',
    "t is NaN": '{"t": NaN, "dir": "server", "event": {"type": "x"}}',
    "t is Infinity": '{"t": Infinity, "dir": "server", "event": {"type": "x"}}',
    "t is -Infinity": '{"t": -Infinity, "dir": "server", "event": {"type": "x"}}',
    "t is negative": '{"t": -0.5, "dir": "server", "event": {"type": "x"}}',
    "t is huge": '{"t": 1e300, "dir": "server", "event": {"type": "x"}}',
    "t is a huge integer": '{"t": 1' + "0" * 400 + ', "dir": "server", "event": {"type": "x"}}',
    "a field overflows": _event_with("1e400"),
    "a field is NaN": _event_with("NaN"),
    "a field is a huge integer": _event_with("9" * 30),
    "a field has more digits than int() takes": _event_with("9" * 5000),
    "a bare event with Infinity": '{"type": "x", "audio_end_ms": Infinity}',
    "nested 100000 deep": '{"type": "x", "a": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "nested 200 deep": '{"type": "x", "a": ' + "[" * 200 + "]" * 200 + "}",
}


@pytest.mark.parametrize("bad", ODD_LINES.values(), ids=ODD_LINES.keys())
def test_numeric_oddities_and_deep_nesting_are_bad_lines(tmp_path: Path, bad: str) -> None:
    path = _with_bad_line(tmp_path, bad)
    reader = read_log(path)
    records = list(reader)
    assert len(records) == 2 and all(r.t == 1.0 for r in records)
    assert (reader.bad_lines, reader.first_bad_line) == (1, 3)
    with pytest.raises(BadInput, match=r": line 3: ") as raised:
        list(read_log(path, strict=True))
    assert "\n" not in str(raised.value)


def test_ordinary_numbers_and_nesting_still_read(tmp_path: Path) -> None:
    usage = {"input_token_details": {"cached_tokens_details": {"text_tokens": 0}}}
    fine = {
        "t": 0,
        "dir": "server",
        "event": {
            "type": "response.done",
            "response": {
                "usage": usage,
                "output": [{"content": [{"type": "output_text", "text": "[{" * 100}]}],
            },
            "created_at": 1_756_000_000_000,
            "ratio": -0.25,
            "big": 2**53 - 1,
        },
    }
    path = tmp_path / "log.jsonl"
    path.write_text(HEADER + "\n" + json.dumps(fine) + "\n", encoding="utf-8")
    reader = read_log(path, strict=True)
    (record,) = list(reader)
    assert record.event == fine["event"] and record.t == 0.0


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_lines_over_the_length_cap_are_skipped_and_counted(tmp_path: Path, gz: bool) -> None:
    long_line = '{"t": 1.5, "dir": "server", "event": {"type": "x", "delta": "' + "A" * 5000 + '"}}'
    path = _with_bad_line(tmp_path, long_line, gz=gz)
    reader = EventLogReader(path, max_line_bytes=4096)
    records = list(reader)
    assert [r.line for r in records] == [2, 4]  # the line after the long one is read whole
    assert (reader.bad_lines, reader.first_bad_line) == (1, 3)
    with pytest.raises(BadInput, match=r": line 3: longer than 4096 bytes"):
        list(EventLogReader(path, strict=True, max_line_bytes=4096))
    # A line just within the cap is an ordinary record.
    assert len(list(EventLogReader(path, max_line_bytes=len(long_line) + 1))) == 3


def test_an_overlong_last_line_without_a_newline_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes((HEADER + "\n" + GOOD + "\n").encode() + b"\0" * 100_000)
    reader = EventLogReader(path, max_line_bytes=4096)
    assert len(list(reader)) == 1
    assert (reader.bad_lines, reader.first_bad_line) == (1, 3)


def test_corrupt_compressed_data_is_a_bad_line_not_a_crash(tmp_path: Path) -> None:
    packed = gzip.compress(("\n".join([HEADER, GOOD] * 2000) + "\n").encode())
    broken = bytearray(packed)
    broken[20:84] = b"\xff" * 64  # the deflate stream itself is damaged (zlib.error)
    path = tmp_path / "log.jsonl.gz"
    path.write_bytes(bytes(broken))
    reader = read_log(path)
    list(reader)
    assert reader.bad_lines >= 1


def test_a_lone_surrogate_is_written_escaped_and_read_back(tmp_path: Path) -> None:
    with EventLogWriter.create(tmp_path, scenario="s", engine="e", model="m") as writer:
        writer.write("server", {"type": "response.output_text.delta", "delta": "a\ud800b"})
        path = writer.path
    (record,) = list(read_log(path))
    assert record.event["delta"] == "a\ud800b"
