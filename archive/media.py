"""Recordings: the ``media:`` field, passage time codes and the word-time sidecar.

Data model (what the player, the muted copies and the leak check build on):

- ``Testimony.media``: the recordings, paths relative to the testimonies directory (the
  directory holding the testimony file), checked to be regular files inside it. They are
  ORIGINALS: never published; every published copy is derived with the redacted ranges
  silent (:func:`silence_ranges`).
- ``Passage.time``: a :class:`~archive.model.TimeSpan` (recording number, start and end
  seconds) from the passage's ``{: t="..." }`` attribute, or None.
- The sidecar ``<id>.words.json`` next to the testimony (:func:`load_sidecar`), PRIVATE like
  the file itself: it lists redacted words with their times, so it is never published,
  indexed or copied into an export. Its shape (version 1)::

      {"version": 1,
       "passages": [
         {"t": "00:00:01.5-00:00:04.2",
          "words": [{"w": "I", "start": 1.5, "end": 1.62},
                    {"w": "left", "start": 1.62, "end": 1.9}, ...]},
         ...]}

  Each entry belongs to the passage whose time code is the same span (``t``, in either
  notation, ``2@...`` for the second recording). ``words`` are the passage's words in the
  order of its source text, redacted words included and the speaker label excluded;
  ``w`` is the word as the transcription tool wrote it (punctuation may cling to it).
  Compared after the search folding (case, ё/е, apostrophes) and cut into words as search
  cuts them, the entry's words must equal the passage's words; each word lies inside the
  passage's span and starts no earlier than the word before it.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import math
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .analysis import TOKEN_PATTERN, fold
from .errors import ValidationError
from .model import REDACTED_MARKER, Passage, Testimony, TimeSpan
from .safefile import UnsafeFile, read_regular_file

__all__ = [
    "SIDECAR_SUFFIX",
    "Sidecar",
    "SidecarEntry",
    "TimedWord",
    "check_recordings",
    "check_sidecar_entries",
    "clock",
    "clock_span",
    "format_seconds",
    "format_span",
    "load_sidecar",
    "media_duration",
    "parse_media_field",
    "parse_time_span",
    "passage_words",
    "redaction_ranges",
    "sidecar_path",
    "silence_ranges",
]

SIDECAR_SUFFIX = ".words.json"
SIDECAR_VERSION = 1
#: Time codes are compared to a millisecond: the precision they are written with.
EPSILON = 0.0005
_CLOCK = r"(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d{1,3})?)"  # [H:]MM:SS[.fff]
_SECONDS = r"\d+(?:\.\d{1,3})?"
_POINT_RE = re.compile(rf"^(?:{_CLOCK}|({_SECONDS}))$")
_SPAN_RE = re.compile(r"^\s*(?:(\d+)@)?([^-\s]+)\s*-\s*([^-\s]+)\s*$")
TIME_HINT = 't="00:12:34.5-00:13:02" or t="754.5-782" (2@... for the second recording)'


# --- time codes ------------------------------------------------------------------------


def _parse_point(text: str) -> float:
    match = _POINT_RE.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a time (HH:MM:SS.s, MM:SS or seconds)")
    hours, minutes, seconds, plain = match.groups()
    if plain is not None:
        return float(plain)
    if float(seconds) >= 60 or (hours is not None and int(minutes) >= 60):
        raise ValueError(f"'{text}' has minutes or seconds over 59")
    return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)


def parse_time_span(text: str) -> TimeSpan:
    """``"00:12:34.5-00:13:02"``, ``"754.5-782"`` or ``"2@..."``; ValueError says what is wrong."""
    match = _SPAN_RE.match(text)
    if not match:
        raise ValueError("a time code is START-END")
    recording, start, end = match.groups()
    span = TimeSpan(_parse_point(start), _parse_point(end), int(recording or 1))
    if span.recording < 1:
        raise ValueError("recordings are numbered from 1")
    if span.end <= span.start:
        raise ValueError("its end is not after its start")
    return span


def format_seconds(seconds: float) -> str:
    """``754.5`` -> ``"00:12:34.5"`` (milliseconds at most, trailing zeros dropped)."""
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:06.3f}".rstrip("0").rstrip(".")
    return f"{hours:02d}:{minutes:02d}:{secs}"


def clock(seconds: float, *, up: bool = False) -> str:
    """A time as pages and citations show it: ``754.5`` -> ``"12:34"``, ``3725`` ->
    ``"1:02:05"``; whole seconds, rounded down (``up``: rounded up, for the end of a span)."""
    whole = math.ceil(seconds - EPSILON) if up else math.floor(seconds + EPSILON)
    hours, rest = divmod(max(0, whole), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def clock_span(span: TimeSpan) -> str:
    """``"12:34–13:02"``: what a citation says after "at"."""
    return f"{clock(span.start)}–{clock(span.end, up=True)}"


def format_span(span: TimeSpan) -> str:
    prefix = f"{span.recording}@" if span.recording != 1 else ""
    return f"{prefix}{format_seconds(span.start)}-{format_seconds(span.end)}"


# --- the media field ---------------------------------------------------------------------


def parse_media_field(value: object) -> tuple[tuple[str, ...], list[tuple[int | None, str]]]:
    """The recordings a ``media:`` value names, and (list index or None, message) problems.

    Only the shape of each path is checked here; :func:`check_recordings` looks at the disk.
    """
    items = value if isinstance(value, list) else [value]
    paths, problems = [], []
    for i, item in enumerate(items):
        where = i if isinstance(value, list) else None
        if not isinstance(item, str) or not item.strip():
            problems.append((where, "media must be a path or a list of paths"))
            continue
        pure = PurePosixPath(item.replace("\\", "/"))
        if pure.is_absolute() or re.match(r"^[A-Za-z]:", item):
            problems.append((where, f"media path '{item}' is absolute"))
        elif ".." in pure.parts:
            problems.append((where, f"media path '{item}' leaves the testimonies directory"))
        else:
            paths.append(item)
    if isinstance(value, list) and not value:
        problems.append((None, "media is an empty list"))
    return tuple(paths), problems


_DURATIONS: dict[tuple[str, int, int], float | None] = {}


def media_duration(path: Path) -> float | None:
    """The recording's duration in seconds, read with PyAV (None when the file does not
    say); cached by path, size and modification time. Raises ValueError when it cannot be
    opened as media."""
    import av  # FFmpeg in a wheel: imported only when a testimony has a recording

    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _DURATIONS:
        try:
            with av.open(str(path)) as container:
                duration = None
                if container.duration is not None:
                    duration = container.duration / av.time_base
                else:
                    for stream in container.streams:
                        if stream.duration is not None and stream.time_base is not None:
                            duration = max(
                                duration or 0.0, float(stream.duration * stream.time_base)
                            )
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise ValueError(f"cannot be read as audio or video ({exc})") from None
        _DURATIONS[key] = duration
    return _DURATIONS[key]


def _resolve_media(directory: Path, item: str) -> tuple[Path | None, str | None]:
    """The recording's file, or why it cannot be used."""
    root = directory.resolve()
    path = directory / item
    if not path.exists() and not path.is_symlink():
        return None, f"media file '{item}' does not exist"
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None, f"media file '{item}' is a broken link"
    if not real.is_relative_to(root):
        return None, f"media file '{item}' is a link to a file outside the testimonies directory"
    if not real.is_file():
        return None, f"media path '{item}' is not a regular file"
    return real, None


# --- the sidecar -----------------------------------------------------------------------


@dataclass(frozen=True)
class TimedWord:
    w: str
    start: float
    end: float
    line: int = 0


@dataclass(frozen=True)
class SidecarEntry:
    span: TimeSpan
    words: tuple[TimedWord, ...]
    line: int = 0


@dataclass(frozen=True)
class Sidecar:
    path: Path
    entries: tuple[SidecarEntry, ...]

    def for_span(self, span: TimeSpan) -> SidecarEntry | None:
        return next((e for e in self.entries if _same_span(e.span, span)), None)


def sidecar_path(testimony_path: Path, testimony_id: str | None = None) -> Path:
    return testimony_path.with_name(f"{testimony_id or testimony_path.stem}{SIDECAR_SUFFIX}")


def _same_span(a: TimeSpan, b: TimeSpan) -> bool:
    return (
        a.recording == b.recording
        and abs(a.start - b.start) < EPSILON
        and abs(a.end - b.end) < EPSILON
    )


class _LinedDecoder(json.JSONDecoder):
    """Records the line each JSON object starts on (by identity), for file:line errors."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[int, int] = {}
        parse_object = self.parse_object

        def parse(s_and_end, *args):
            text, end = s_and_end
            obj, new_end = parse_object(s_and_end, *args)
            self.lines[id(obj)] = text.count("\n", 0, end) + 1
            return obj, new_end

        self.parse_object = parse
        self.scan_once = json.scanner.py_make_scanner(self)  # the C scanner ignores the hook


def load_json_with_lines(text: str, where: str) -> tuple[object, dict[int, int]]:
    """Parse JSON; raise one :class:`ValidationError` at the line of a syntax error."""
    decoder = _LinedDecoder()
    try:
        return decoder.decode(text), decoder.lines
    except json.JSONDecodeError as exc:
        raise ValidationError(
            where, exc.lineno, f"not valid JSON: {exc.msg}", hint="check the file's syntax"
        ) from None
    except RecursionError:
        raise ValidationError(where, None, "JSON nested too deeply") from None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def load_sidecar(path: Path) -> Sidecar:
    """Read and shape-check a sidecar; raise :class:`ValidationError` at the first problem."""
    where = str(path)
    try:  # like a testimony: a regular file beside it, never a FIFO or a device
        text = read_regular_file(path, path.parent).decode("utf-8")
    except UnsafeFile as exc:
        raise ValidationError(where, None, f"word-time sidecar {exc}", hint=exc.hint) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(where, None, f"cannot read the word-time sidecar ({exc})") from None
    data, lines = load_json_with_lines(text, where)
    return _sidecar_from_data(data, lines, path)


def _sidecar_from_data(data: object, lines: dict[int, int], path: Path) -> Sidecar:
    where = str(path)
    shape = 'see "Recordings" in README.md for the sidecar shape'
    if not isinstance(data, dict) or data.get("version") != SIDECAR_VERSION:
        raise ValidationError(where, 1, 'the sidecar must be {"version": 1, ...}', hint=shape)
    unknown = set(data) - {"version", "passages"}
    if unknown:
        raise ValidationError(where, 1, f"unknown sidecar key '{sorted(unknown)[0]}'", hint=shape)
    passages = data.get("passages")
    if not isinstance(passages, list):
        raise ValidationError(where, 1, "the sidecar needs a 'passages' list", hint=shape)
    entries = []
    for item in passages:
        line = lines.get(id(item), 1)
        if not isinstance(item, dict) or set(item) != {"t", "words"}:
            raise ValidationError(
                where,
                line,
                'each sidecar passage is {"t": "START-END", "words": [...]}',
                hint=shape,
            )
        try:
            span = parse_time_span(item["t"]) if isinstance(item["t"], str) else None
        except ValueError as exc:
            raise ValidationError(
                where, line, f"time code {item['t']!r}: {exc}", hint=TIME_HINT
            ) from None
        if span is None or not isinstance(item["words"], list):
            raise ValidationError(where, line, "'t' must be text and 'words' a list", hint=shape)
        words = []
        for word in item["words"]:
            wline = lines.get(id(word), line)
            ok = isinstance(word, dict) and set(word) == {"w", "start", "end"}
            start, end = (_number(word.get("start")), _number(word.get("end"))) if ok else (0, 0)
            if not ok or not isinstance(word["w"], str) or start is None or end is None:
                raise ValidationError(
                    where, wline, 'each word is {"w": "text", "start": seconds, "end": seconds}',
                    hint=shape,
                )  # fmt: skip
            words.append(TimedWord(word["w"], start, end, wline))
        entries.append(SidecarEntry(span, tuple(words), line))
    return Sidecar(path, tuple(entries))


# --- words of a passage ----------------------------------------------------------------


def _speaker_cut(passage: Passage) -> int:
    """Where the passage's own words start in its private text: after a ``Name:`` label."""
    if passage.speaker is None:
        return 0
    text = passage.text
    if text.startswith(passage.speaker):
        colon = text.find(":", len(passage.speaker))
        if colon != -1 and not text[len(passage.speaker) : colon].strip():
            return colon + 1
    return 0


def passage_words(passage: Passage) -> list[tuple[int, int, str]]:
    """(start, end, folded word) of each word of the passage's PRIVATE text, label excluded."""
    cut = _speaker_cut(passage)
    return [
        (m.start(), m.end(), fold(m.group())) for m in TOKEN_PATTERN.finditer(passage.text, cut)
    ]


def _entry_words(entry: SidecarEntry) -> list[tuple[int, str]]:
    """(index of the sidecar word, folded word) for every search word in the entry."""
    return [
        (i, fold(m.group())) for i, w in enumerate(entry.words) for m in TOKEN_PATTERN.finditer(w.w)
    ]


def redaction_ranges(passage: Passage) -> list[tuple[int, int]] | None:
    """Character ranges of the inline redactions in ``passage.text``, or None when they
    cannot be located exactly (then a caller must treat the whole passage as redacted)."""
    if passage.redacted:
        return [(0, len(passage.text))]
    if not passage.redactions:
        return []
    pieces = passage.public_text.split(REDACTED_MARKER)
    if len(pieces) != len(passage.redactions) + 1:
        return None
    ranges, pos, rebuilt = [], 0, []
    for piece, secret in zip(pieces, (*passage.redactions, ""), strict=True):
        pos += len(piece)
        rebuilt += [piece, secret]
        if secret:
            ranges.append((pos, pos + len(secret)))
            pos += len(secret)
    return ranges if "".join(rebuilt) == passage.text else None


def silence_ranges(testimony: Testimony, sidecar: Sidecar | None) -> list[TimeSpan]:
    """Every stretch of the recordings that a published copy must silence, merged and sorted.

    A whole-redacted passage: its span. An inline redaction: the times of the sidecar words
    that overlap it, or the passage's whole span when there are no usable word times.
    ``check_recordings`` refuses a redacted passage without a time code in a testimony with
    media, so every redaction has a range here.
    """
    spans: list[TimeSpan] = []
    for passage in testimony.passages:
        if passage.time is None or not passage.has_redactions:
            continue
        ranges = redaction_ranges(passage)
        entry = sidecar.for_span(passage.time) if sidecar else None
        if passage.redacted or ranges is None or entry is None or not _words_agree(passage, entry):
            spans.append(passage.time)
            continue
        owners = _entry_words(entry)
        for (a, b, _), (owner, _) in zip(passage_words(passage), owners, strict=True):
            if any(a < r_end and r_start < b for r_start, r_end in ranges):
                word = entry.words[owner]
                spans.append(TimeSpan(word.start, word.end, passage.time.recording))
    spans.sort(key=lambda s: (s.recording, s.start))
    merged: list[TimeSpan] = []
    for span in spans:
        last = merged[-1] if merged else None
        if last and last.recording == span.recording and span.start <= last.end:
            merged[-1] = TimeSpan(last.start, max(last.end, span.end), last.recording)
        else:
            merged.append(span)
    return merged


def _words_agree(passage: Passage, entry: SidecarEntry) -> bool:
    return [w for _, _, w in passage_words(passage)] == [w for _, w in _entry_words(entry)]


# --- validation --------------------------------------------------------------------------


def _media_item_line(key_lines: dict[str, int], index: int, listed: bool) -> int:
    key = f"media[{index}]" if listed else "media"
    return key_lines.get(key, key_lines.get("media", 1))


def check_recordings(
    testimony: Testimony, key_lines: dict[str, int], listed: bool = False
) -> list[ValidationError]:
    """Disk checks of a parsed testimony: its recordings, time codes and sidecar.

    ``key_lines`` are the front matter's key lines; ``listed``: media was written as a list.
    """
    timed = [p for p in testimony.passages if p.time is not None]
    if not testimony.media and not timed:
        return []
    where = str(testimony.path)
    errors: list[ValidationError] = []
    directory = testimony.path.parent
    durations: list[float | None] = []
    for i, item in enumerate(testimony.media):
        line = _media_item_line(key_lines, i, listed)
        real, problem = _resolve_media(directory, item)
        duration = None
        if problem is None:
            try:
                duration = media_duration(real)
            except ValueError as exc:
                problem = f"media file '{item}' {exc}"
        if problem:
            errors.append(
                ValidationError(
                    where,
                    line,
                    problem,
                    hint="media paths are relative to the testimonies directory and must "
                    "name a recording inside it",
                )  # fmt: skip
            )
        durations.append(duration)

    previous: dict[int, TimeSpan] = {}
    for p in testimony.passages:
        line = p.attr_line or p.line
        if p.time is None:
            if testimony.media and p.has_redactions:
                errors.append(
                    ValidationError(
                        where,
                        line,
                        "a redacted passage in a testimony with media needs a time "
                        "code, or its words cannot be silenced in the recording",
                        hint='add t="START-END" to its {: } line',
                    )  # fmt: skip
                )
            continue
        span = p.time
        if testimony.media and span.recording > len(testimony.media):
            errors.append(
                ValidationError(
                    where,
                    line,
                    f"time code names recording {span.recording}, but media lists "
                    f"{len(testimony.media)}",
                    hint="number the recordings as media lists them",
                )  # fmt: skip
            )
            continue
        before = previous.get(span.recording)
        if before is not None and span.start + EPSILON < before.start:
            errors.append(
                ValidationError(
                    where,
                    line,
                    f"time code starts at {format_seconds(span.start)}, before the "
                    f"passage above it ({format_seconds(before.start)})",
                    hint="passages follow the recording: check both time codes",
                )  # fmt: skip
            )
        previous[span.recording] = span
        duration = durations[span.recording - 1] if testimony.media else None
        if duration is not None and span.end > duration + EPSILON:
            errors.append(
                ValidationError(
                    where,
                    line,
                    f"time code ends at {format_seconds(span.end)}, after the end "
                    f"of the recording ({format_seconds(duration)})",
                    hint="check the time code and the media file",
                )  # fmt: skip
            )

    side = sidecar_path(testimony.path, testimony.id)
    if side.exists():
        try:
            errors += _check_sidecar(testimony, load_sidecar(side))
        except ValidationError as exc:
            errors.append(exc)
    return errors


def check_sidecar_entries(testimony: Testimony, data: dict, path: Path) -> list[ValidationError]:
    """Check sidecar data not yet written (an import) against its testimony."""
    try:
        return _check_sidecar(testimony, _sidecar_from_data(data, {}, path))
    except ValidationError as exc:
        return [exc]


def _check_sidecar(testimony: Testimony, sidecar: Sidecar) -> list[ValidationError]:
    errors = []
    where = str(sidecar.path)
    spans = {(p.time.recording, round(p.time.start, 3), round(p.time.end, 3)): p
             for p in testimony.passages if p.time is not None}  # fmt: skip
    for entry in sidecar.entries:
        key = (entry.span.recording, round(entry.span.start, 3), round(entry.span.end, 3))
        passage = spans.get(key)
        if passage is None:
            errors.append(
                ValidationError(
                    where,
                    entry.line,
                    f"no passage has the time code {format_span(entry.span)}",
                    hint="the entry's t must equal its passage's t; fix or remove the entry",
                )  # fmt: skip
            )
            continue
        previous_start = entry.span.start
        for word in entry.words:
            if not (
                entry.span.start - EPSILON <= word.start <= word.end <= entry.span.end + EPSILON
            ):
                errors.append(
                    ValidationError(
                        where,
                        word.line,
                        f"word '{word.w}' at {word.start}-{word.end} is not "
                        f"inside its passage's span {format_span(entry.span)}",
                        hint="a word starts before it ends, inside its passage's time code",
                    )  # fmt: skip
                )
                break
            if word.start + EPSILON < previous_start:
                errors.append(
                    ValidationError(
                        where,
                        word.line,
                        f"word '{word.w}' starts before the word above it",
                        hint="list the words in the order they are spoken",
                    )  # fmt: skip
                )
                break
            previous_start = word.start
        mine = [w for _, _, w in passage_words(passage)]
        theirs = [w for _, w in _entry_words(entry)]
        if mine != theirs:
            at = next(
                (i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b), None
            )
            if at is None:
                what = f"the passage has {len(mine)} words, the sidecar {len(theirs)}"
            else:
                what = (
                    f"word {at + 1} is '{mine[at]}' in the passage, '{theirs[at]}' in the sidecar"
                )
            errors.append(
                ValidationError(
                    str(testimony.path),
                    passage.attr_line or passage.line,
                    f"the word times in {sidecar.path.name} (line {entry.line}) do not match "
                    f"the passage's text: {what}",
                    hint="after editing the words of a timed passage, edit its sidecar entry "
                    "the same way (or remove the entry: the whole span is then silenced "
                    "where it holds a redaction)",
                )  # fmt: skip
            )
    return errors
