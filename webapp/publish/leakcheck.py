"""Prove that an exported site holds nothing that is not public.

The pages are rendered from the public side of the model only; this check
does not trust that. It takes the *private* side of the same archive and
looks for it in every file of the export, after undoing every encoding a
page may apply (HTML entities, percent-encoding in links, JSON strings,
Pagefind's gzip-compressed index and fragments):

* every inline redaction (``Passage.redactions``) and the private text of
  every whole-passage redaction;
* every passage, title, narrator, place and source of the testimonies that
  are not public on the export date (restricted, or still under embargo);
* absolute paths of the testimony and index directories;
* any file whose bytes are those of a file in the testimonies directory (an original
  recording, a word-time sidecar, a testimony), found by content hash;
* recordings: every media file must be a published copy the export made (a recording of a
  public testimony), and every range that copy must silence is decoded and measured: one
  at or above :data:`archive.muting.SILENCE_DBFS`, or a file that cannot be decoded,
  fails the check.

Texts are compared as sequences of case-folded words without marks (as
Pagefind compares them, and as the search's word-start table spells them,
so "й" is "и"). A private text is
looked for as each run of :data:`NGRAM` consecutive words (or whole, when
shorter); an inline redaction (typically a name or a place) also as each
of its distinctive words (at least :data:`MIN_WORD_CHARS` characters, not a
number). Anything that also occurs in the public side (public passages and
metadata, the themes vocabulary, the site's templates, scripts and pages
that hold no testimony) is dropped: it cannot tell a leak from a legitimate
page, and the export states how many redactions it could not check so. A finding names the file, the byte position and where the
private text comes from (``file:line``), never the text itself: the report
may end up in a terminal log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import html
import json
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from archive.analysis import INWORD
from archive.model import Archive, Testimony
from archive.muting import MEDIA_SUFFIX, MediaUnreadable, loud_ranges
from archive.wordforms import pagefind_form

__all__ = [
    "ALLOWED_SUFFIXES",
    "MIN_WORD_CHARS",
    "NGRAM",
    "Leak",
    "LeakReport",
    "PrivateSide",
    "check_export",
    "source_digests",
]

NGRAM = 5
MIN_WORD_CHARS = 4
#: What an export may hold. A testimony (``.md``), a vocabulary (``.yaml``) or a
#: search index file (Whoosh ``.toc``/``.seg``) has none of these endings.
ALLOWED_SUFFIXES = frozenset(
    {
        ".html", ".json", ".xml", ".txt", ".css", ".js", ".svg", ".ico",
        ".png", ".jpg", ".webp", ".woff2", ".pf_fragment", ".pf_index", ".pf_meta",
        ".pf_filter", ".pagefind", MEDIA_SUFFIX,
    }
)  # fmt: skip
ALLOWED_NAMES = frozenset({"_headers"})
#: Program files (ours and Pagefind's): checked for private phrases, not single words,
#: which code is full of.
_CODE_SUFFIXES = frozenset({".js", ".css", ".svg", ".pagefind"})
_GZIP_SUFFIXES = frozenset({".pf_fragment", ".pf_index", ".pf_meta", ".pf_filter", ".pagefind"})
_BINARY_SUFFIXES = frozenset({".png", ".jpg", ".webp", ".woff2", ".ico", ".pagefind", MEDIA_SUFFIX})
_PAGEFIND_MAGIC = b"pagefind_dcd"
_WORD_RE = re.compile(r"\w+")
_RAW_WORD_RE = re.compile(rf"(?:\w|{INWORD})+")
_TAG_RE = re.compile(r"<[^>]*>")
_JSON_ESCAPE_RE = re.compile(r"\\u([0-9a-fA-F]{4})")


def _words(text: str) -> list[str]:
    # Without marks, as the word-start table spells words for Pagefind ("й" is "и" there).
    return _WORD_RE.findall(pagefind_form(text.casefold()))


@dataclass(frozen=True)
class Origin:
    """Where a private text comes from (never the text itself)."""

    kind: str
    where: str

    def __str__(self) -> str:
        return f"{self.kind} at {self.where}"


@dataclass(frozen=True)
class Leak:
    file: str  # relative to the export root
    position: int  # byte offset in the file (or in its decompressed content), -1 if unknown
    origin: Origin
    decompressed: bool = False
    what: str = "private text"

    def __str__(self) -> str:
        where = f"byte {self.position}" if self.position >= 0 else "unknown position"
        if self.decompressed:
            where += " of its decompressed content"
        return f"{self.file}: {where}: {self.what} ({self.origin})"


@dataclass
class LeakReport:
    files: int = 0
    bytes: int = 0
    needles: int = 0
    unchecked_redactions: int = 0
    leaks: list[Leak] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.leaks

    def __add__(self, other: LeakReport) -> LeakReport:
        """Two checks of parts of one tree, against the same private side, as one."""
        return LeakReport(
            self.files + other.files,
            self.bytes + other.bytes,
            max(self.needles, other.needles),
            max(self.unchecked_redactions, other.unchecked_redactions),
            sorted(self.leaks + other.leaks, key=lambda leak: (leak.file, leak.position)),
        )


def _public_fields(t: Testimony) -> list[str]:
    values = [t.id, t.title, t.narrator, t.interviewer, t.place, t.source, t.license]
    values += [p.id for p in t.passages]
    values += [p.public_text for p in t.passages]
    values += [_TAG_RE.sub(" ", html.unescape(b.html)) for b in t.blocks if b.html]
    return [v for v in values if v]


def _private_items(t: Testimony, public: bool) -> Iterator[tuple[str, Origin]]:
    if public:
        for p in t.passages:
            where = f"{t.path}:{p.line}"
            for text in p.redactions:
                yield text, Origin("inline redaction", where)
            if p.redacted:
                yield p.text, Origin("redacted passage", where)
        return
    kind = "embargoed testimony" if t.status == "embargoed" else "restricted testimony"
    for value in (t.id, t.title, t.narrator, t.interviewer, t.place, t.source):
        if value:
            yield value, Origin(kind, str(t.path))
    for block in t.blocks:
        if block.html:
            yield _TAG_RE.sub(" ", html.unescape(block.html)), Origin(kind, str(t.path))
        for p in block.passages:
            yield p.text, Origin(kind, f"{t.path}:{p.line}")


class PrivateSide:
    """What must not be in an export: word sequences, distinctive words, literal paths."""

    def __init__(
        self,
        needles: dict[tuple[str, ...], Origin],
        paths: Iterable[str] = (),
        unchecked_redactions: int = 0,
    ) -> None:
        self.needles = needles
        self.paths = sorted({p for p in paths if p and len(p) > 1})
        self.unchecked_redactions = unchecked_redactions
        self._lengths = sorted({len(k) for k in needles})
        self._firsts = {k[0] for k in needles}
        #: sha256 -> a file of the testimonies directory (relative name): never exported.
        self.originals: dict[str, str] = {}
        #: Export path of each published recording -> the (start, end) seconds it silences.
        self.media: dict[str, tuple[tuple[float, float], ...]] = {}

    def __len__(self) -> int:
        return len(self.needles)

    @classmethod
    def from_archive(
        cls,
        archive: Archive,
        today: dt.date,
        *,
        public_extra: Iterable[str] = (),
        paths: Iterable[str] = (),
    ) -> PrivateSide:
        """The private side of ``archive`` on ``today``, minus what is public anyway.

        ``public_extra`` is text that is public whatever the archive holds (the
        site's templates and scripts); ``paths`` are literal strings (absolute
        directories) that must not appear either.
        """
        public_texts: list[str] = list(public_extra)
        items: list[tuple[str, Origin]] = []
        for testimony_id in sorted(archive.testimonies):
            t = archive.testimonies[testimony_id]
            public = t.is_public(today)
            if public:
                public_texts += _public_fields(t)
            items += _private_items(t, public)
        for theme in archive.vocabulary.themes.values():
            public_texts += [theme.slug, theme.description, *theme.labels.values()]
            public_texts += [k for words in theme.keywords.values() for k in words]

        needles: dict[tuple[str, ...], Origin] = {}
        redactions: dict[tuple[str, ...], int] = {}
        for text, origin in items:
            words = _words(text)
            if not words:
                continue
            if len(words) <= NGRAM:
                grams = [tuple(words)]
            else:
                grams = [tuple(words[i : i + NGRAM]) for i in range(len(words) - NGRAM + 1)]
            if origin.kind == "inline redaction":
                redactions[tuple(words)] = redactions.get(tuple(words), 0) + 1
            for gram in grams:
                needles.setdefault(gram, origin)
            if origin.kind != "inline redaction":
                continue  # whole texts are found by their word sequences
            for word in words:
                if len(word) >= MIN_WORD_CHARS and not word.isdigit():
                    needles.setdefault((word,), origin)

        lengths = sorted({len(k) for k in needles})
        firsts = {k[0] for k in needles}
        unchecked = 0
        for text in public_texts if needles else ():
            words = _words(text)
            for i, word in enumerate(words):
                if word not in firsts:
                    continue
                for length in lengths:
                    if i + length > len(words):
                        break
                    gram = tuple(words[i : i + length])
                    if gram in needles:
                        del needles[gram]
                        if gram in redactions:
                            unchecked += redactions.pop(gram)
        return cls(needles, paths, unchecked)

    # -- matching ------------------------------------------------------------------------

    def first_match(
        self, words: list[str], *, single_words: bool
    ) -> tuple[int, int, Origin] | None:
        """(first word index, word count, origin) of the first needle in ``words``."""
        firsts, needles, lengths = self._firsts, self.needles, self._lengths
        for i, word in enumerate(words):
            if word not in firsts:
                continue
            for length in lengths:
                if length == 1 and not single_words:
                    continue
                if i + length > len(words):
                    break
                origin = needles.get(tuple(words[i : i + length]))
                if origin is not None:
                    return i, length, origin
        return None


# --- reading an export file back as text --------------------------------------------------


def _json_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):  # keys are data too: the word-start table's are words
        for k, v in value.items():
            yield k
            yield from _json_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _json_strings(v)


def _decompressed(path: Path, raw: bytes) -> tuple[bytes | None, bool]:
    """The bytes a reader of the file gets: Pagefind's files are gzip-compressed.

    ``None`` for a compressed file that cannot be read whole: what cannot be
    checked does not pass.
    """
    if path.suffix in _GZIP_SUFFIXES or raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw).removeprefix(_PAGEFIND_MAGIC), True
        except (OSError, EOFError, zlib.error):
            if path.suffix in _GZIP_SUFFIXES:
                return None, True
    return raw, False


def _views(path: Path, raw: bytes) -> tuple[str, list[str]]:
    """(the file's text, decoded views of it to search)."""
    suffix = path.suffix
    text = raw.decode("utf-8", errors="replace")
    views: list[str] = []
    if suffix in (".json", ".pf_fragment"):
        with contextlib.suppress(ValueError):
            views.append("\n".join(_json_strings(json.loads(text))))
    if not views:
        views.append(html.unescape(text) if "&" in text else text)
    # JSON inside a page (tojson writes ' < > & as \u0027...) and percent-encoded links.
    extra = [
        _JSON_ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)), v) for v in views if "\\u" in v
    ]
    extra += [unquote(v) for v in views + extra if "%" in v]
    views += [v for v in extra if v not in views]
    return text, views


def _position(text: str, view: str, words: list[str], index: int, length: int) -> int:
    """Byte offset in ``text`` of the words found at ``words[index:index+length]`` of ``view``."""
    matches = list(_RAW_WORD_RE.finditer(view))
    # ``words`` came from the case-folded view without marks; re-tokenising the view with
    # its marks inside words splits it alike and keeps offsets.
    if len(matches) != len(words) or index >= len(matches):
        return -1
    start = matches[index].start()
    end = matches[min(index + length, len(matches)) - 1].end()
    found = view[start:end]
    for candidate in (
        found,
        html.escape(found, quote=False),
        found.split()[0] if found.split() else found,
    ):
        at = text.find(candidate)
        if at >= 0:
            return len(text[:at].encode("utf-8"))
    return -1


def source_digests(directory: Path) -> dict[str, str]:
    """sha256 of every non-empty file under the testimonies directory -> its relative name."""
    digests = {}
    for path in sorted(Path(directory).rglob("*")):
        if path.is_file() and path.stat().st_size:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            digests.setdefault(digest, path.relative_to(directory).as_posix())
    return digests


def _check_media(path: Path, name: str, private: PrivateSide) -> Leak | None:
    """A recording in the export: one of its published copies, silent where it must be."""
    ranges = private.media.get(name)
    if ranges is None:
        return Leak(name, 0, Origin("media file", "no published recording"), what="a recording")
    try:
        loud = loud_ranges(path, ranges)
    except MediaUnreadable:
        return Leak(
            name, 0, Origin("media file", "cannot be decoded"), what="an unverified recording"
        )
    if loud:
        where = ", ".join(str(r) for r in loud)
        return Leak(name, -1, Origin("redacted range not silent", where), what="audible redaction")
    return None


def check_export(
    root: Path, private: PrivateSide, files: Iterable[Path] | None = None
) -> LeakReport:
    """Look for every private text in every file under ``root`` (or in ``files``, all of
    them under ``root``); the report lists the leaks."""
    root = Path(root)
    report = LeakReport(needles=len(private), unchecked_redactions=private.unchecked_redactions)
    paths = [p.encode("utf-8") for p in private.paths]
    chosen = (p for p in root.rglob("*") if p.is_file()) if files is None else files
    # Names as strings: sorting and relative_to() on 8,000 Path objects took half the check.
    prefix = os.fspath(root).rstrip(os.sep) + os.sep
    for path in sorted(chosen, key=os.fspath):
        where = os.fspath(path)
        if where.startswith(prefix):
            name = where[len(prefix) :].replace(os.sep, "/")
        else:  # given otherwise than root is (relative, or root is ".")
            name = path.relative_to(root).as_posix()
        raw = path.read_bytes()
        report.files += 1
        report.bytes += len(raw)
        if path.suffix not in ALLOWED_SUFFIXES and path.name not in ALLOWED_NAMES:
            report.leaks.append(
                Leak(name, 0, Origin("unexpected file type", path.suffix or path.name), what="file")
            )
            continue
        if private.originals and hashlib.sha256(raw).hexdigest() in private.originals:
            origin = Origin("copy of a testimonies-directory file", "an original")
            report.leaks.append(Leak(name, 0, origin, what="a private file"))
            continue
        if path.suffix == MEDIA_SUFFIX:
            found = _check_media(path, name, private)
            if found is not None:
                report.leaks.append(found)
                continue
        data, decompressed = _decompressed(path, raw)
        if data is None:
            origin = Origin("unreadable compressed file", "the search index")
            report.leaks.append(Leak(name, 0, origin, what="a file that cannot be checked"))
            continue
        found = _find_path(data, paths, name, decompressed)
        if found is not None:
            report.leaks.append(found)
            continue
        if not len(private) or (path.suffix in _BINARY_SUFFIXES and not decompressed):
            continue
        text, views = _views(path, data)
        single = path.suffix not in _CODE_SUFFIXES
        for view in views:
            words = _words(view)
            hit = private.first_match(words, single_words=single)
            if hit is not None:
                index, length, origin = hit
                position = _position(text, view, words, index, length)
                report.leaks.append(Leak(name, position, origin, decompressed))
                break
    return report


def _find_path(data: bytes, paths: list[bytes], name: str, decompressed: bool) -> Leak | None:
    for p in paths:
        at = data.find(p)
        if at >= 0:
            return Leak(
                name,
                at,
                Origin("private path", "the archive's directories"),
                decompressed,
                "a path",
            )
    return None
