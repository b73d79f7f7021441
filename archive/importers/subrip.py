"""SubRip (.srt), read with the ``srt`` package; ``Name:`` prefixes become speakers."""

from __future__ import annotations

import re
from pathlib import Path

import srt

from ..errors import ValidationError
from . import Cue, Transcript, decode_text
from .speakers import split_speaker
from .vtt import clean_cue_text

_TIMING_RE = re.compile(
    r"^\s*\d+:\d{1,2}:\d{1,2}[,.]\d{1,3}\s*-->\s*\d+:\d{1,2}:\d{1,2}[,.]\d{1,3}(\s.*)?$"
)
HINT = "an SRT cue is a number, a line 00:00:01,000 --> 00:00:02,500, text, then a blank line"


def read(path: Path, raw: bytes) -> Transcript:
    text = decode_text(path, raw)
    # srt reports garbage by character offset and bad times without one: check the timing
    # lines here so every error has its line.
    timing_lines = []
    for number, line in enumerate(text.split("\n"), start=1):
        if "-->" in line or re.match(r"^\s*\d+:\d{1,2}:\d{1,2}[,.]\d", line):
            if not _TIMING_RE.match(line):
                raise ValidationError(path, number, f"malformed cue timing {line.strip()!r}",
                                      hint=HINT)  # fmt: skip
            timing_lines.append(number)
    try:
        subtitles = list(srt.parse(text))
    except srt.SRTParseError as exc:
        skipped = len(text[exc.expected_start :]) - len(text[exc.expected_start :].lstrip())
        line = text.count("\n", 0, exc.expected_start + skipped) + 1
        raise ValidationError(path, line, f"not an SRT cue: {exc.unmatched_content.strip()[:60]!r}",
                              hint=HINT) from None  # fmt: skip
    except ValueError as exc:
        raise ValidationError(path, None, f"not a valid SRT file ({exc})", hint=HINT) from None
    if len(subtitles) != len(timing_lines):
        raise ValidationError(path, None, "some cues could not be read", hint=HINT)
    cues = []
    for subtitle, line in zip(subtitles, timing_lines, strict=True):
        speaker, words = split_speaker(clean_cue_text(subtitle.content))
        start, end = subtitle.start.total_seconds(), subtitle.end.total_seconds()
        if end < start:
            raise ValidationError(path, line, "the cue ends before it starts", hint=HINT)
        cues.append(Cue(words, start, end, speaker, line))
    return Transcript(cues)
