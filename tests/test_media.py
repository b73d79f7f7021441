"""Recordings in the format: media paths, time codes, durations and the word-time sidecar."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from media_helpers import write_silence

from archive.cli import main
from archive.errors import ValidationErrors
from archive.media import format_seconds, load_sidecar, parse_time_span, silence_ranges
from archive.model import TimeSpan
from archive.parse import parse_file

BODY = """**Ann:** I left [Petrov]{.redact} at the gate.
{: t="00:00:00.2-00:00:01.4" }

**Ann:** Then I walked.
{: t="1.4-1.9" }
"""


def errors_of(path):
    with pytest.raises(ValidationErrors) as info:
        parse_file(path)
    return info.value.errors


def test_time_codes_parse_in_both_notations():
    assert parse_time_span("00:12:34.5-00:13:02") == TimeSpan(754.5, 782.0, 1)
    assert parse_time_span("754.5-782") == TimeSpan(754.5, 782.0, 1)
    assert parse_time_span("2@01:02-01:10.25") == TimeSpan(62.0, 70.25, 2)
    assert format_seconds(754.5) == "00:12:34.5" and format_seconds(3600) == "01:00:00"
    for bad in ("12-10", "00:61:00-00:62:00", "abc-def", "5", "0@1-2", "1-1"):
        with pytest.raises(ValueError):
            parse_time_span(bad)


def test_valid_media_time_codes_and_sidecar(write_testimony):
    write_silence(write_testimony.directory / "rec.wav")
    path = write_testimony("t1", BODY, media="rec.wav")
    words = [["I", 0.2, 0.3], ["left", 0.3, 0.6], ["Petrov", 0.6, 0.9], ["at", 0.9, 1.0],
             ["the", 1.0, 1.1], ["gate.", 1.1, 1.4]]  # fmt: skip
    sidecar = {"version": 1, "passages": [{"t": "0.2-1.4", "words": [
        {"w": w, "start": s, "end": e} for w, s, e in words]}]}  # fmt: skip
    (path.parent / "t1.words.json").write_text(json.dumps(sidecar), encoding="utf-8")
    testimony = parse_file(path)
    assert testimony.media == ("rec.wav",)
    assert testimony.passages[0].time == TimeSpan(0.2, 1.4, 1)
    # The muting step's input: only the redacted word's time, not the passage's span.
    ranges = silence_ranges(testimony, load_sidecar(path.parent / "t1.words.json"))
    assert ranges == [TimeSpan(0.6, 0.9, 1)]
    assert silence_ranges(testimony, None) == [TimeSpan(0.2, 1.4, 1)]  # no word times: all
    result = CliRunner().invoke(main, ["--testimonies", str(path.parent), "validate"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("t_value", "message"),
    [
        ("1.5-1.0", "end is not after its start"),
        ("00:00:99-00:01:00", "over 59"),
        ("soon", "START-END"),
    ],
)
def test_bad_time_codes_are_errors_at_their_line(write_testimony, t_value, message):
    path = write_testimony("t1", f'Words.\n{{: t="{t_value}" }}\n')
    (error,) = errors_of(path)
    assert error.line == 8 and message in error.message and error.hint


def test_time_codes_must_follow_the_recording(write_testimony):
    path = write_testimony("t1", 'One.\n{: t="5-6" }\n\nTwo.\n{: t="1-2" }\n')
    (error,) = errors_of(path)
    assert error.line == 11 and "before the passage above it" in error.message


def test_time_code_past_the_end_of_the_recording(write_testimony):
    write_silence(write_testimony.directory / "rec.wav", seconds=2.0)
    path = write_testimony("t1", 'One.\n{: t="1-2.5" }\n', media="rec.wav")
    (error,) = errors_of(path)
    assert error.line == 9 and "after the end of the recording (00:00:02)" in error.message


def test_missing_media_and_paths_outside_the_directory(write_testimony, tmp_path):
    path = write_testimony("t1", "Words.\n", media="gone.wav")
    assert "does not exist" in errors_of(path)[0].message
    path = write_testimony("t1", "Words.\n", media='"../outside.wav"')
    assert "leaves the testimonies directory" in errors_of(path)[0].message
    path = write_testimony("t1", "Words.\n", media="/etc/passwd")
    assert "absolute" in errors_of(path)[0].message
    (write_testimony.directory / "recordings").mkdir()
    path = write_testimony("t1", "Words.\n", media="recordings")
    assert "not a regular file" in errors_of(path)[0].message
    outside = write_silence(tmp_path / "outside.wav")
    os.symlink(outside, write_testimony.directory / "link.wav")
    path = write_testimony("t1", "Words.\n", media="link.wav")
    (error,) = errors_of(path)
    assert "outside the testimonies directory" in error.message and error.line == 5
    (write_testimony.directory / "fake.wav").write_text("not audio", encoding="utf-8")
    path = write_testimony("t1", "Words.\n", media="[fake.wav]")
    assert "cannot be read as audio" in errors_of(path)[0].message


def test_second_recording_and_its_numbering(write_testimony):
    write_silence(write_testimony.directory / "a.wav", 2.0)
    write_silence(write_testimony.directory / "b.wav", 1.0)
    path = write_testimony("t1", 'One.\n{: t="1-2" }\n\nTwo.\n{: t="2@0-0.5" }\n',
                           media="[a.wav, b.wav]")  # fmt: skip
    assert parse_file(path).passages[1].time == TimeSpan(0.0, 0.5, 2)
    path = write_testimony("t1", 'One.\n{: t="3@0-0.5" }\n', media="[a.wav, b.wav]")
    assert "names recording 3" in errors_of(path)[0].message


def test_redacted_passage_needs_a_time_code_when_there_is_media(write_testimony):
    write_silence(write_testimony.directory / "rec.wav")
    path = write_testimony("t1", "Secret place.\n{: .redact }\n", media="rec.wav")
    assert "cannot be silenced" in errors_of(path)[0].message


def test_sidecar_mismatch_and_bad_shape(write_testimony):
    write_silence(write_testimony.directory / "rec.wav")
    path = write_testimony("t1", BODY, media="rec.wav")
    side = path.parent / "t1.words.json"
    words = [
        {"w": w, "start": 0.2, "end": 0.3} for w in ("I", "left", "Ivanov", "at", "the", "gate")
    ]
    side.write_text(json.dumps({"version": 1, "passages": [{"t": "0.2-1.4", "words": words}]}))
    (error,) = errors_of(path)
    assert error.path == str(path) and error.line == 9
    assert "word 3 is 'petrov' in the passage, 'ivanov' in the sidecar" in error.message
    side.write_text('{"version": 1,\n "passages": [\n  {"t": "7-8", "words": []}]}')
    (error,) = errors_of(path)
    assert error.path == str(side) and error.line == 3 and "no passage has" in error.message
    side.write_text('{"version": 1,\n "passages": [\n  {"t": "0.2-1.4", "words": [\n'
                    '   {"w": "I", "start": 0.1}]}]}')  # fmt: skip
    (error,) = errors_of(path)
    assert error.path == str(side) and error.line == 4
    side.write_text('{"version": 1,\n "passages": [,]}')
    (error,) = errors_of(path)
    assert error.line == 2 and "not valid JSON" in error.message
    words = [
        {"w": w, "start": 0.2, "end": 1.5} for w in ("I", "left", "Petrov", "at", "the", "gate")
    ]
    side.write_text(json.dumps({"version": 1, "passages": [{"t": "0.2-1.4", "words": words}]}))
    assert "not inside its passage's span" in errors_of(path)[0].message
