"""``archive import``: transcripts from transcription tools become testimony files.

Each format has a reader module (``vtt``, ``subrip``, ``whisper``, ``ohms``, ``word``,
``text``) that turns a file into a :class:`Transcript` of cues; :mod:`.build` merges the
cues into passages and writes the Markdown (and the word-time sidecar). Readers raise one
:class:`~archive.errors.ValidationError` with the input's file:line for a malformed input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ValidationError

__all__ = ["Cue", "FORMATS", "Heading", "Transcript", "Word", "read_transcript"]


@dataclass
class Word:
    w: str
    start: float | None
    end: float | None


@dataclass
class Cue:
    """One piece of the transcript as the tool gave it: a cue, segment or paragraph."""

    text: str
    start: float | None = None
    end: float | None = None
    speaker: str | None = None
    line: int = 0  # where it is in the input file (0: the format has no lines)
    words: list[Word] | None = None


@dataclass
class Heading:
    """A section title at a time (an OHMS index segment): a heading before that passage."""

    start: float
    title: str
    keywords: tuple[str, ...] = ()


@dataclass
class Transcript:
    cues: list[Cue]
    title: str | None = None
    language: str | None = None
    #: Merge cues into passages at speaker turns and pauses (subtitle-like formats); False:
    #: every cue is already a paragraph of its own.
    merge: bool = True
    headings: list[Heading] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _readers() -> dict[str, object]:
    from . import ohms, subrip, text, vtt, whisper, word

    return {"vtt": vtt, "srt": subrip, "whisper": whisper, "ohms": ohms, "docx": word, "text": text}


#: File name ending -> format name.
FORMATS = {".vtt": "vtt", ".srt": "srt", ".json": "whisper", ".xml": "ohms", ".docx": "docx",
           ".txt": "text", ".text": "text"}  # fmt: skip


def read_transcript(path: Path, fmt: str | None = None) -> Transcript:
    """Read one input file; raise :class:`ValidationError` (with its line) when malformed."""
    fmt = fmt or FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValidationError(
            path, None, f"unknown transcript format '{path.suffix}'",
            hint=f"name it with one of {', '.join(sorted(FORMATS))} or give --format",
        )  # fmt: skip
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValidationError(path, None, f"cannot read: {exc.strerror}") from None
    transcript = _readers()[fmt].read(path, raw)
    if not any(c.text.strip() for c in transcript.cues):
        raise ValidationError(path, None, "the transcript has no text to import")
    return transcript


def decode_text(path: Path, raw: bytes) -> str:
    """UTF-8 text with a byte-order mark and Windows line ends removed; errors say where."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValidationError(path, line, "not valid UTF-8", hint="save it as UTF-8") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")
