"""Plain text: paragraphs split at blank lines and at lines that start a ``Name:`` turn."""

from __future__ import annotations

from pathlib import Path

from . import Cue, Transcript, decode_text
from .speakers import split_speaker


def read(path: Path, raw: bytes) -> Transcript:
    return Transcript(paragraph_cues(decode_text(path, raw).split("\n")), merge=False)


def paragraph_cues(lines: list[str], first_line: int = 1) -> list[Cue]:
    cues: list[Cue] = []
    current: Cue | None = None
    for number, line in enumerate(lines, start=first_line):
        if not line.strip():
            current = None
            continue
        speaker, words = split_speaker(line)
        if current is None or speaker is not None:
            current = Cue(words.strip(), speaker=speaker, line=number)
            cues.append(current)
        else:
            current.text += " " + line.strip()
    return cues
