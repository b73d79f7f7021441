"""Prove that an exported site (or any response of the app) holds nothing that is not public.

The pages are rendered from the public side of the model; this check does
not trust that, nor the parser behind it. Its list of secrets comes from
:mod:`archive.secrets`, a second, deliberately simple reader of the raw
testimony files that shares no code with the parser or the renderer:

* every inline redaction (bracketed span followed by anything like
  ``{.redact}``, look-alikes and misspellings included, front matter too);
* every block marked redacted;
* every word of every testimony that is not public on the export date
  (restricted, embargoed, a translation of or translated by one, no status);
* absolute paths of the testimony and index directories.
* any file whose bytes are those of a file in the testimonies directory (an original
  recording, a word-time sidecar, a testimony), found by content hash;
* recordings: every media file must be a published copy the export made (a recording of a
  public testimony), and every range that copy must silence is decoded and measured: one
  at or above :data:`archive.muting.SILENCE_DBFS`, or a file that cannot be decoded,
  fails the check.

Every file is searched after undoing every encoding a page may apply:
HTML entities (in text and attribute values alike), percent-encoding (as many
times as it was applied, ``+`` as a space), JSON strings and ``\\uXXXX`` escapes,
tags and comments (a word split by ``<b></b>`` reads as one), and gzip (Pagefind's
index and fragments, or any file that starts as gzip does). Texts are compared as
sequences of case-folded words without marks (as Pagefind compares them, so
"й" is "и"; ``_`` separates words); a secret is also looked for as its slug (python-slugify:
``Вербівці`` -> ``verbivtsi``), the form it takes in a URL like
``/browse/place/SLUG/``.

The matching rule, for secrets that are short or made of common words:

* each secret is looked for whole when it has at most :data:`NGRAM` words,
  else as each run of :data:`NGRAM` consecutive words;
* a *short* secret (an inline redaction, a front matter value or id of a
  non-public testimony: names, places, units) is also looked for as each of
  its words of at least :data:`MIN_WORD_CHARS` letters; a *long* one (a
  redacted block, a paragraph of a non-public testimony) as each of its
  words of at least :data:`MIN_BODY_WORD_CHARS` letters;
* a word is dropped when a word of the public text *begins* with it (the
  public text being what :mod:`archive.secrets` leaves of the public files,
  the themes, the site's templates, scripts and pages that show no
  testimony): a stem or a word-start entry of a public word would otherwise
  look like a leak; a sequence is dropped when it occurs in public text. A
  dropped inline redaction is counted and reported as not checked.

A finding names the file, the byte position and where the private text comes
from (``file:line``), never the text itself: the report may end up in a log.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import html
import json
import os
import re
import zlib
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from slugify import slugify

from archive.analysis import INWORD, analyze
from archive.muting import MEDIA_SUFFIX, MediaUnreadable, loud_ranges
from archive.secrets import Secrets
from archive.wordforms import pagefind_form

__all__ = [
    "ALLOWED_SUFFIXES",
    "MIN_BODY_WORD_CHARS",
    "MIN_WORD_CHARS",
    "NGRAM",
    "Leak",
    "LeakReport",
    "PrivateSide",
    "check_bytes",
    "check_export",
    "source_digests",
]

NGRAM = 5
MIN_WORD_CHARS = 4
MIN_BODY_WORD_CHARS = 6
#: Kinds of secret that are short (a name, a place): every word of them counts.
_SHORT_KINDS = frozenset({"inline redaction", "non-public id", "non-public field"})
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
_WORD_RE = re.compile(r"[^\W_]+")  # "_" separates words: a slug may be written with it
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_RAW_WORD_RE = re.compile(rf"(?:[^\W_]|{INWORD})+")
_TAG_RE = re.compile(r"<!--.*?-->|<[^>]*>", re.DOTALL)
_PERCENT_ROUNDS = 6
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
    def from_secrets(
        cls,
        secrets: Secrets,
        *,
        public_extra: Iterable[str] = (),
        paths: Iterable[str] = (),
    ) -> PrivateSide:
        """What must not be published, from :func:`archive.secrets.read_secrets`.

        ``public_extra`` is text that is public whatever the archive holds (the
        site's templates and scripts, the themes); ``paths`` are literal strings
        (absolute directories) that must not appear either.
        """
        public_words: set[str] = set()
        public_seqs: list[list[str]] = []
        extra = list(public_extra)
        languages = [*secrets.public_languages, *(["en"] * len(extra))]
        for text, language in zip([*secrets.public_text, *extra], languages, strict=True):
            # Slugs of public text are public too (a place's browse URL), as secrets'
            # slugs are looked for; so are the stems and lemmas of its Cyrillic words,
            # which the word-start table lists.
            for words in (_words(text), _words(slugify(text)) if not text.isascii() else []):
                public_words.update(words)
                public_seqs.append(words)
            if _CYRILLIC.search(text):
                public_words.update(pagefind_form(term) for term in analyze(text, language))
        ordered = sorted(public_words)

        def begins_public_word(word: str) -> bool:
            at = bisect_left(ordered, word)
            return at < len(ordered) and ordered[at].startswith(word)

        needles: dict[tuple[str, ...], Origin] = {}
        redactions: dict[tuple[str, ...], int] = {}
        unchecked = 0
        for secret in secrets.secrets:
            origin = Origin(secret.kind, secret.where)
            short = secret.kind in _SHORT_KINDS
            forms = [_words(secret.text)]
            slug = _words(slugify(secret.text))  # how it reads in a URL path
            if slug and slug != forms[0]:
                forms.append(slug)
            for words in forms:
                if not words:
                    continue
                if len(words) <= NGRAM:
                    grams = [tuple(words)]
                else:
                    grams = [tuple(words[i : i + NGRAM]) for i in range(len(words) - NGRAM + 1)]
                if len(grams) == 1 and len(grams[0]) == 1 and begins_public_word(words[0]):
                    unchecked += secret.kind == "inline redaction" and words is forms[0]
                    continue  # one word that a public word begins with proves nothing
                for gram in grams:
                    needles.setdefault(gram, origin)
                if secret.kind == "inline redaction":
                    redactions[tuple(words)] = redactions.get(tuple(words), 0) + 1
                least = MIN_WORD_CHARS if short else MIN_BODY_WORD_CHARS
                for word in words:
                    if len(word) >= least and not word.isdigit() and not begins_public_word(word):
                        needles.setdefault((word,), origin)

        lengths = sorted({len(k) for k in needles})
        firsts = {k[0] for k in needles}
        for words in public_seqs if needles else ():
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
    # Percent-encoded links, with "+" for a space in a query: decoded until nothing changes
    # (a link encoded three times is still a link), at most _PERCENT_ROUNDS times.
    layer = [v for v in views + extra if "%" in v or "+" in v]
    for _ in range(_PERCENT_ROUNDS):
        layer = [d for d in (unquote_plus(v) for v in layer) if d not in extra and d not in views]
        extra += layer
        if not layer:
            break
    extra += [html.unescape(v) for v in extra if "&" in v]
    # Text as a reader sees it: tags and comments join what they split ("Kre<b></b>minna").
    extra += [_TAG_RE.sub("", v) for v in views + extra if "<" in v]
    views += list(dict.fromkeys(v for v in extra if v not in views))
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


def check_bytes(
    name: str, raw: bytes, private: PrivateSide, *, suffix: str | None = None
) -> Leak | None:
    """The first leak in one file or response body ``raw`` (named ``name``), or None.

    ``suffix`` (default: that of ``name``) says how to read it: ``.json``, ``.html``...
    """
    suffix = Path(name).suffix if suffix is None else suffix
    path = Path(f"x{suffix}")
    data, decompressed = _decompressed(path, raw)
    if data is None:
        origin = Origin("unreadable compressed file", "the search index")
        return Leak(name, 0, origin, what="a file that cannot be checked")
    found = _find_path(data, [p.encode("utf-8") for p in private.paths], name, decompressed)
    if found is not None:
        return found
    if not len(private) or (suffix in _BINARY_SUFFIXES and not decompressed):
        return None
    text, views = _views(path, data)
    single = suffix not in _CODE_SUFFIXES
    for view in views:
        words = _words(view)
        hit = private.first_match(words, single_words=single)
        if hit is not None:
            index, length, origin = hit
            position = _position(text, view, words, index, length)
            return Leak(name, position, origin, decompressed)
    return None


def check_export(
    root: Path, private: PrivateSide, files: Iterable[Path] | None = None
) -> LeakReport:
    """Look for every private text in every file under ``root`` (or in ``files``, all of
    them under ``root``); the report lists the leaks."""
    root = Path(root)
    report = LeakReport(needles=len(private), unchecked_redactions=private.unchecked_redactions)
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
        leak = check_bytes(name, raw, private, suffix=path.suffix)
        if leak is not None:
            report.leaks.append(leak)
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
