"""WebVTT, read with webvtt-py: ``<v Name>`` voice spans and ``Name:`` prefixes are speakers.

webvtt-py drops a block it does not understand without a word, so the timing lines are
checked here first: a malformed cue is an error at its line, never lost text.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from ..errors import ValidationError
from . import Cue, Transcript, decode_text
from .speakers import split_speaker

_TIMING_RE = re.compile(
    r"^\s*((?:\d+:)?\d{2}:\d{2}\.\d{3})\s+-->\s+((?:\d+:)?\d{2}:\d{2}\.\d{3})(\s.*)?$"
)
_VOICE_RE = re.compile(r"<v(?:\.[\w-]+)*\s+([^>]+)>")
_TAG_RE = re.compile(r"<[^>]*>")
#: A line that starts with a time is meant as a timing line, whatever follows it.
_LOOKS_TIMED_RE = re.compile(r"^\s*(?:\d+:)?\d{1,2}:\d{2}[.,]\d")
HINT = "a WebVTT cue is a line 00:00:01.000 --> 00:00:02.500 followed by its text"


def _is_timing_or_note(first: str) -> bool:
    """A block's first line: a cue identifier is followed by its timing line, checked above."""
    return first.startswith(("NOTE", "STYLE", "REGION")) or "-->" in first


def clean_cue_text(text: str) -> str:
    """Cue text without markup tags (<i>, <c.x>, <00:01.000>) or entities, on one line."""
    return " ".join(html.unescape(_TAG_RE.sub("", text)).split())


def _seconds(stamp) -> float:
    hours, minutes, seconds, millis = stamp.to_tuple()
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def read(path: Path, raw: bytes) -> Transcript:
    text = decode_text(path, raw)
    lines = text.split("\n")
    timing_lines = []
    block_start, in_header = None, True
    for number, line in enumerate([*lines, ""], start=1):
        if not line.strip():
            block_start, in_header = None, False
            continue
        if block_start is None:
            block_start = number
        if "-->" in line or _LOOKS_TIMED_RE.match(line):
            if not _TIMING_RE.match(line):
                raise ValidationError(path, number, f"malformed cue timing {line.strip()!r}",
                                      hint=HINT)  # fmt: skip
            timing_lines.append(number)
        elif (
            not in_header
            and number - block_start == 1
            and not _is_timing_or_note(lines[block_start - 1])
        ):
            raise ValidationError(path, block_start, "text outside a cue (no timing line)",
                                  hint=HINT)  # fmt: skip
    try:
        captions = webvtt.from_string(text).captions
    except MalformedFileError:
        raise ValidationError(path, 1, "not a WebVTT file: it must start with WEBVTT",
                              hint=HINT) from None  # fmt: skip
    except MalformedCaptionError as exc:
        bad = next((n for n, line in enumerate(lines, 1) if "-->" in line and
                    any(v in str(exc) for v in line.split())), None)  # fmt: skip
        raise ValidationError(path, bad, f"malformed cue ({exc})", hint=HINT) from None
    if len(captions) != len(timing_lines):
        raise ValidationError(path, None, "some cues could not be read", hint=HINT)
    cues = []
    for caption, line in zip(captions, timing_lines, strict=True):
        start, end = _seconds(caption.start_time), _seconds(caption.end_time)
        if end < start:
            raise ValidationError(path, line, "the cue ends before it starts", hint=HINT)
        raw_text = caption.raw_text
        voices = list(_VOICE_RE.finditer(raw_text))
        if not voices:
            speaker, words = split_speaker(clean_cue_text(raw_text))
            cues.append(Cue(words, start, end, speaker, line))
            continue
        if raw_text[: voices[0].start()].strip():
            cues.append(Cue(clean_cue_text(raw_text[: voices[0].start()]), start, end, None, line))
        for i, voice in enumerate(voices):
            stop = voices[i + 1].start() if i + 1 < len(voices) else len(raw_text)
            words = clean_cue_text(raw_text[voice.end() : stop])
            if words:
                cues.append(Cue(words, start, end, voice.group(1).strip(), line))
    return Transcript(cues)
