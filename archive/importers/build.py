"""Cues to passages, passages to a testimony file (and its word-time sidecar).

Merging (subtitle-like formats): cues are put in time order (out-of-order cues are sorted,
with a note); a new passage starts at a change of speaker, at a pause of
:data:`PAUSE_SECONDS` or more between one cue's end and the next one's start, and before
a passage would run past :data:`MAX_PASSAGE_SECONDS`. Overlapping cues of one speaker
stay in one passage. A passage's time code spans its cues and words.

The file is written with ``status: restricted``: nothing is published before an editor
has read it. It is parsed and checked before it is written, with its sidecar.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from slugify import slugify

from ..errors import ValidationError, ValidationErrors
from ..media import check_sidecar_entries, format_seconds, sidecar_path
from ..model import Passage, Vocabulary
from ..parse import LANGUAGE_RE, parse_text
from ..themes import load_vocabulary, suggest_passage
from . import Transcript, Word, read_transcript

__all__ = ["MAX_PASSAGE_SECONDS", "PAUSE_SECONDS", "ImportResult", "build", "import_file"]

#: A silence this long (seconds) between two cues starts a new passage.
PAUSE_SECONDS = 2.0
#: A passage is cut before it would last longer than this (seconds): passages are what
#: search hits and quotes point at, and a ten-minute one points at nothing in particular.
MAX_PASSAGE_SECONDS = 60.0


@dataclass
class _Draft:
    speaker: str | None
    texts: list[str]
    start: float | None
    end: float | None
    words: list[Word] | None
    heading: str | None = None


@dataclass
class ImportResult:
    testimony_id: str
    path: Path
    markdown: str
    sidecar: dict | None
    passages: int
    notes: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)  # theme suggestions, never applied


# --- merging ---------------------------------------------------------------------------


def _merge(transcript: Transcript) -> list[_Draft]:
    cues = [c for c in transcript.cues if c.text.strip()]
    timed = all(c.start is not None for c in cues)
    if timed and transcript.merge:
        ordered = sorted(cues, key=lambda c: (c.start, c.end))
        if ordered != cues:
            transcript.notes.append("some cues were out of time order: they were put in order")
        cues = ordered
    drafts: list[_Draft] = []
    for cue in cues:
        last = drafts[-1] if drafts else None
        joins = (
            transcript.merge and timed and last is not None
            and cue.speaker == last.speaker
            and cue.start - last.end < PAUSE_SECONDS
            and max(last.end, cue.end) - last.start <= MAX_PASSAGE_SECONDS
        )  # fmt: skip
        if joins:
            last.texts.append(cue.text)
            last.end = max(last.end, cue.end)
            last.words = last.words + cue.words if last.words is not None and cue.words else None
        else:
            drafts.append(_Draft(cue.speaker, [cue.text], cue.start, cue.end,
                                 list(cue.words) if cue.words else None))  # fmt: skip
    for draft in drafts:
        if draft.words and draft.start is not None:
            _order_words(draft)
    return drafts


def _order_words(draft: _Draft) -> None:
    """Word times never go back (overlapping cues) and the span holds every word."""
    previous = draft.start
    for word in draft.words:
        word.start = max(word.start, previous)
        word.end = max(word.end, word.start)
        previous = word.start
    draft.start = min(draft.start, draft.words[0].start)
    draft.end = max(draft.end, max(w.end for w in draft.words))


def _place_headings(drafts: list[_Draft], transcript: Transcript) -> None:
    for heading in sorted(transcript.headings, key=lambda h: h.start):
        target = next((d for d in drafts if d.start is not None and d.start >= heading.start
                       and d.heading is None), None)  # fmt: skip
        if target is not None and heading.title:
            target.heading = heading.title


# --- Markdown ----------------------------------------------------------------------------

_INLINE_SPECIAL = re.compile(r"([\\`*_{}\[\]])")
_ENTITY_LIKE = re.compile(r"&(?=#?\w+;)")
_BLOCK_START = re.compile(r"^(?:[#>+=-]|\d+(?=[.)]))")


def escape_markdown(text: str) -> str:
    """Transcript words as Markdown that renders back to exactly these words, never markup."""
    text = " ".join(text.split())
    text = _ENTITY_LIKE.sub("&amp;", text)
    text = _INLINE_SPECIAL.sub(r"\\\1", text).replace("<", "&lt;")
    match = _BLOCK_START.match(text)
    if match:  # a list item, heading, quote or rule if left at the start of a line
        end = match.end()
        text = (text[:end] + "\\" + text[end:]) if text[0].isdigit() else "\\" + text
    return text


def _passage_markdown(draft: _Draft) -> str:
    words = escape_markdown(" ".join(draft.texts))
    if draft.speaker:
        words = f"**{escape_markdown(draft.speaker)}:** {words}"
    if draft.start is not None and draft.end is not None and draft.end > draft.start:
        words += f'\n{{: t="{format_seconds(draft.start)}-{format_seconds(draft.end)}" }}'
    return words


def _front_matter(fields: dict) -> str:
    lines = ["---"]
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, list):
            lines.append(f"{key}: [{', '.join(json.dumps(v, ensure_ascii=False) for v in value)}]")
        elif key in ("id", "language", "status"):
            lines.append(f"{key}: {value}")
        else:  # a JSON string is a YAML double-quoted scalar
            lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
    return "\n".join([*lines, "---"])


# --- the whole import ----------------------------------------------------------------------


def build(
    transcript: Transcript,
    source: Path,
    testimony_id: str,
    directory: Path,
    language: str | None = None,
    media: str | None = None,
    vocabulary: Vocabulary | None = None,
) -> ImportResult:
    """The testimony text and sidecar for a transcript; checked, not written."""
    where = str(source)
    language = language or transcript.language or "en"
    if not LANGUAGE_RE.match(language):
        raise ValidationError(where, None, f"language {language!r} is not a BCP 47 tag",
                              hint="give --language en (or ru, uk, ...)")  # fmt: skip
    drafts = _merge(transcript)
    _place_headings(drafts, transcript)
    timed = [d for d in drafts if d.start is not None]
    fields = {
        "id": testimony_id,
        "title": transcript.title or f"Transcript imported from {source.name}",
        "language": language,
        "status": "restricted",
        "source": f"Imported from {source.name} on {dt.date.today().isoformat()}",
        "media": media,
    }
    blocks = []
    for draft in drafts:
        if draft.heading:
            blocks.append(f"## {escape_markdown(draft.heading)}")
        blocks.append(_passage_markdown(draft))
    markdown = _front_matter(fields) + "\n\n" + "\n\n".join(blocks) + "\n"
    path = directory / f"{testimony_id}.md"
    vocabulary = vocabulary or load_vocabulary(directory)
    testimony = parse_text(markdown, path, vocabulary)  # raises: the import would be invalid
    sidecar = _sidecar(drafts)
    notes = list(transcript.notes)
    if sidecar is not None:
        errors = check_sidecar_entries(testimony, sidecar, sidecar_path(path, testimony_id))
        if errors:
            raise ValidationErrors(errors)
    if timed and not media:
        notes.append("time codes kept; add media: once the recording is in the testimonies "
                     "directory (then validate checks them against its length)")  # fmt: skip
    result = ImportResult(testimony_id, path, markdown, sidecar, len(testimony.passages), notes)
    result.suggestions = _suggestions(transcript, testimony, vocabulary)
    return result


def _sidecar(drafts: list[_Draft]) -> dict | None:
    entries = []
    for d in drafts:
        if d.words and d.start is not None:
            span = f"{format_seconds(d.start)}-{format_seconds(d.end)}"
            entries.append({"t": span, "words": [
                {"w": w.w, "start": round(w.start, 3), "end": round(w.end, 3)} for w in d.words
            ]})  # fmt: skip
    return {"version": 1, "passages": entries} if entries else None


def _suggestions(transcript: Transcript, testimony, vocabulary: Vocabulary) -> list[str]:
    """Index keywords (OHMS) matched against the vocabulary: reported, never applied."""
    out = []
    language = testimony.language
    for heading in transcript.headings:
        if not heading.keywords:
            continue
        probe = Passage("probe", "p", "; ".join(heading.keywords), "; ".join(heading.keywords), "")
        found = {slug for slug, _ in suggest_passage(probe, language, vocabulary)}
        for keyword in heading.keywords:
            key = slugify(keyword)
            for slug, theme in vocabulary.themes.items():
                labels = {slugify(label) for label in theme.labels.values()}
                if key == slug or key in labels:
                    found.add(slug)
        themes = ", ".join(sorted(found)) or "no theme of the vocabulary"
        out.append(f"index segment at {format_seconds(heading.start)} "
                   f"'{heading.title}': keywords {'; '.join(heading.keywords)} -> {themes}")  # fmt: skip
    return out


def import_file(
    source: Path,
    directory: Path,
    testimony_id: str | None = None,
    language: str | None = None,
    media: str | None = None,
    fmt: str | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Import one transcript into the testimonies directory (or only build it: dry run).

    Refuses to overwrite: an existing ``<id>.md`` or sidecar is an error.
    """
    testimony_id = testimony_id or slugify(source.stem)
    if not testimony_id or slugify(testimony_id) != testimony_id:
        raise ValidationError(str(source), None, f"id {testimony_id!r} is not a lowercase slug",
                              hint=f"give --id {slugify(testimony_id) or 'an-id'}")  # fmt: skip
    transcript = read_transcript(source, fmt)
    result = build(transcript, source, testimony_id, directory, language, media)
    side = sidecar_path(result.path, testimony_id)
    for target in (result.path, side):
        if target.exists():
            raise ValidationError(str(target), None, "already exists: the import never "
                                  "overwrites", hint="choose another --id")  # fmt: skip
    if dry_run:
        return result
    _write_new(result.path, result.markdown)
    if result.sidecar is not None:
        try:
            _write_new(side, json.dumps(result.sidecar, ensure_ascii=False, indent=1) + "\n")
        except BaseException:
            result.path.unlink()  # the testimony without its word times would lose them
            raise
    return result


def _write_new(path: Path, text: str) -> None:
    """Create the file, failing if it exists (a concurrent import included)."""
    try:
        with open(path, "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise ValidationError(str(path), None, "already exists: the import never overwrites",
                              hint="choose another --id") from None  # fmt: skip
    except OSError as exc:
        raise ValidationError(str(path), None, f"cannot write: {exc.strerror}") from None
