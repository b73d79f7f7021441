"""OHMS XML (the Oral History Metadata Synchronizer's export), read with defusedxml.

The ``<transcript>`` becomes passages (paragraphs split at blank lines and ``NAME:``
turns). ``<sync>`` (``1:|13(3)|19(14)``: a mark every minute, at transcript line 13, then
19...) gives each passage a span from the last mark at or before its first line to the
first mark after its last line, so the span always holds the passage, even though the
marks are a minute apart. ``<index>`` segments become headings at their time; their
keywords and subjects are reported as theme suggestions, never applied.
"""

from __future__ import annotations

import re
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from ..errors import ValidationError
from . import Heading, Transcript
from .text import paragraph_cues

HINT = "an OHMS export is <ROOT><record>...<transcript>...</transcript></record></ROOT>"
_LANGUAGES = {"english": "en", "russian": "ru", "ukrainian": "uk"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element, name: str):
    return next((c for c in element if _local(c.tag) == name), None)


def _text(element, name: str) -> str:
    child = _child(element, name) if element is not None else None
    return (child.text or "").strip() if child is not None else ""


def _clock(value: str) -> float | None:
    """OHMS times are seconds, sometimes H:MM:SS."""
    parts = value.strip().split(":")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    seconds = 0.0
    for number in numbers:
        seconds = seconds * 60 + number
    return seconds


def _sync_marks(sync: str) -> list[tuple[int, float]]:
    """(transcript line, seconds) of each mark of a ``<sync>`` value."""
    if ":" not in sync:
        return []
    interval, _, stamps = sync.partition(":")
    try:
        minutes = float(interval)
    except ValueError:
        return []
    marks = []
    for index, stamp in enumerate(stamps.split("|")):
        match = re.match(r"\s*(\d+)\(\d+\)", stamp)
        if match:
            marks.append((int(match.group(1)), index * minutes * 60))
    return marks


def read(path: Path, raw: bytes) -> Transcript:
    try:
        root = SafeET.fromstring(raw)
    except SafeET.ParseError as exc:
        raise ValidationError(path, exc.position[0], f"not well-formed XML ({exc})",
                              hint=HINT) from None  # fmt: skip
    except DefusedXmlException as exc:
        raise ValidationError(path, 1, f"refused: {exc}", hint="remove the DTD and entity "
                              "declarations from the file") from None  # fmt: skip
    record = root if _local(root.tag) == "record" else _child(root, "record")
    if record is None:
        raise ValidationError(path, 1, "no <record> element", hint=HINT)
    body = _text(record, "transcript")
    if not body:
        raise ValidationError(path, None, "the OHMS record has no transcript text to import",
                              hint="export the record with its transcript")  # fmt: skip
    # Line numbers here count in the transcript text (as <sync> does), not in the XML.
    cues = paragraph_cues(body.split("\n"))
    marks = sorted(_sync_marks(_text(record, "sync")))
    duration = _clock(_text(record, "duration")) if _text(record, "duration") else None
    if marks:
        texts = body.split("\n")
        for cue in cues:
            last = cue.line
            while last < len(texts) and texts[last].strip():  # the paragraph's last line
                last += 1
            before = [s for line, s in marks if line <= cue.line]
            after = [s for line, s in marks if line > last]
            cue.start = before[-1] if before else 0.0
            cue.end = after[0] if after else duration
            if cue.end is None or cue.end <= cue.start:
                cue.start = cue.end = None
            cue.line = 0  # the XML's own line is unknown: keep only the span
    transcript = Transcript(cues, title=_text(record, "title") or None, merge=False)
    language = _text(record, "language").lower()
    transcript.language = _LANGUAGES.get(language, language if len(language) == 2 else None)
    index = _child(record, "index")
    for point in index if index is not None else ():
        if _local(point.tag) != "point":
            continue
        start = _clock(_text(point, "time"))
        if start is None:
            raise ValidationError(path, None, f"index point time {_text(point, 'time')!r} is "
                                  "not seconds", hint=HINT)  # fmt: skip
        words = [w.strip() for name in ("keywords", "subjects")
                 for w in _text(point, name).split(";") if w.strip()]  # fmt: skip
        transcript.headings.append(Heading(start, _text(point, "title"), tuple(words)))
    return transcript
