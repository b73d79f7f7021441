"""Word (.docx) transcripts, read with python-docx: one passage per paragraph.

A paragraph styled Title gives the title; headings become headings; ``Name:`` prefixes
(bold or not) become speaker turns. A .docx has no lines: errors name the paragraph.
"""

from __future__ import annotations

import zipfile
from io import BytesIO
from pathlib import Path

from ..errors import ValidationError
from . import Cue, Transcript
from .speakers import split_speaker


def read(path: Path, raw: bytes) -> Transcript:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(BytesIO(raw))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ValidationError(
            path, None, f"not a Word .docx file ({type(exc).__name__}: {exc})",
            hint="save it from the word processor as .docx (or as plain text, .txt)",
        ) from None  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - lxml and zip errors of a damaged file
        raise ValidationError(path, None, f"damaged .docx file ({type(exc).__name__})") from None
    transcript = Transcript([], merge=False)
    for number, paragraph in enumerate(document.paragraphs, start=1):
        text = " ".join(paragraph.text.split())
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if style == "Title" and transcript.title is None:
            transcript.title = text
            continue
        speaker, words = split_speaker(text)
        transcript.cues.append(Cue(words, speaker=speaker, line=number))
    if document.core_properties.title and transcript.title is None:
        transcript.title = document.core_properties.title
    return transcript
