from __future__ import annotations

import gzip
import json
import stat
from pathlib import Path

import pytest

from tests.conformance import assert_client_event
from tutor_cli.errors import BadInput
from tutor_cli.realtime import events
from tutor_cli.storage.eventlog import FORMAT, EventLogWriter, read_log

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
