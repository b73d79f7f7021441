"""Whisper and WhisperX JSON: ``segments`` with ``start``/``end``/``text``, optional
``speaker`` (WhisperX diarisation) and ``words`` (``word``, ``start``, ``end``; WhisperX
leaves some words, numbers mostly, without times: they get the gap between their
neighbours)."""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import ValidationError
from ..media import load_json_with_lines
from . import Cue, Transcript, Word, decode_text

HINT = 'Whisper JSON is {"segments": [{"start": 1.0, "end": 2.5, "text": "..."}, ...]}'


def _time(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def read(path: Path, raw: bytes) -> Transcript:
    data, lines = load_json_with_lines(decode_text(path, raw), str(path))
    if not isinstance(data, dict) or not isinstance(data.get("segments"), list):
        raise ValidationError(path, 1, "no 'segments' list", hint=HINT)
    language = data.get("language") if isinstance(data.get("language"), str) else None
    cues = []
    for segment in data["segments"]:
        line = lines.get(id(segment), 1)
        if not isinstance(segment, dict):
            raise ValidationError(path, line, "a segment must be an object", hint=HINT)
        start, end = _time(segment.get("start")), _time(segment.get("end"))
        text = segment.get("text")
        if start is None or end is None or not isinstance(text, str):
            raise ValidationError(path, line, "a segment needs numeric start and end and a text",
                                  hint=HINT)  # fmt: skip
        if end < start:
            raise ValidationError(path, line, "the segment ends before it starts", hint=HINT)
        speaker = segment.get("speaker")
        words = None
        if isinstance(segment.get("words"), list) and segment["words"]:
            words = []
            for item in segment["words"]:
                wline = lines.get(id(item), line)
                if not isinstance(item, dict) or not isinstance(item.get("word"), str):
                    raise ValidationError(path, wline, 'a word is {"word": "...", "start": ..., '
                                          '"end": ...}', hint=HINT)  # fmt: skip
                words.append(Word(item["word"].strip(), _time(item.get("start")),
                                  _time(item.get("end"))))  # fmt: skip
                if speaker is None and isinstance(item.get("speaker"), str):
                    speaker = item["speaker"]
            _fill_times(words, start, end)
        cues.append(Cue(" ".join(text.split()), start, end,
                        speaker if isinstance(speaker, str) else None, line, words))  # fmt: skip
    return Transcript(cues, language=language)


def _fill_times(words: list[Word], start: float, end: float) -> None:
    """Untimed words take the gap between the timed words around them."""
    for i, word in enumerate(words):
        if word.start is None:
            word.start = words[i - 1].end if i else start
        if word.end is None:
            following = next((w.start for w in words[i + 1 :] if w.start is not None), end)
            word.end = max(word.start, following)
