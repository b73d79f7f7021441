"""The archive's data model: what a testimony *is* once its file has been read.

Two sides live in one object on purpose. ``Passage.text`` is the private
plain text (redacted words included) that only the archivist's own tools may
see; ``Passage.public_text`` and ``Passage.html`` are what may ever leave the
archive. Every public output (index, pages, anchors, export) reads the public
side through :func:`public_text` and :attr:`Passage.public_text`, so there is
one definition of what is public.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from .errors import ValidationError

__all__ = [
    "REDACTED_MARKER",
    "STATUSES",
    "Archive",
    "Block",
    "Passage",
    "Testimony",
    "Theme",
    "TimeSpan",
    "Vocabulary",
    "PartialDate",
    "decade_of",
    "public_text",
    "stricter_status",
    "account_statuses",
    "translation_accounts",
    "PASSAGE_SEPARATOR",
]

#: What public output shows where words were redacted.
REDACTED_MARKER = "[redacted]"
#: Passages are joined with a blank line in a testimony's plain text; anchor
#: offsets count in that joined text.
PASSAGE_SEPARATOR = "\n\n"
STATUSES = ("public", "restricted", "embargoed")


def decade_of(year: int) -> str:
    """The decade a year falls in, as the archive names it: 1937 -> "1930s"."""
    return f"{year // 10 * 10}s"


@dataclass(frozen=True)
class PartialDate:
    """An ISO 8601 date that may stop at the year or the month (``1937``, ``1937-05``)."""

    year: int
    month: int | None = None
    day: int | None = None

    def __str__(self) -> str:
        text = f"{self.year:04d}"
        if self.month is not None:
            text += f"-{self.month:02d}"
        if self.day is not None:
            text += f"-{self.day:02d}"
        return text

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month or 1, self.day or 1)

    @property
    def last_day(self) -> dt.date:
        """The last day the date may mean: an embargo ``until 2027`` lasts all of 2027."""
        if self.day is not None:
            return dt.date(self.year, self.month or 1, self.day)
        if self.month is not None:
            next_month = dt.date(self.year + self.month // 12, self.month % 12 + 1, 1)
            return next_month - dt.timedelta(days=1)
        return dt.date(self.year, 12, 31)

    @property
    def decade(self) -> str:
        return decade_of(self.year)


@dataclass(frozen=True)
class TimeSpan:
    """Where a passage is heard: seconds in one of the testimony's recordings (see media.py)."""

    start: float
    end: float
    recording: int = 1  # 1-based: the first path of Testimony.media


@dataclass(frozen=True)
class Passage:
    """A paragraph, list item or block quote: the unit search, themes and anchors point at."""

    id: str
    kind: str  # "p", "li" or "blockquote"
    text: str  # PRIVATE plain text, redacted words included
    public_text: str  # redactions replaced by REDACTED_MARKER
    html: str  # public inner HTML, sanitised
    themes: tuple[str, ...] = ()
    speaker: str | None = None
    redacted: bool = False  # the whole passage is redacted
    redactions: tuple[str, ...] = ()  # PRIVATE: the inline redacted strings
    explicit_id: bool = False
    line: int = 0  # first source line (1-based, counted in the whole file)
    end_line: int = 0  # last source line, the attr_list line included
    attr_line: int | None = None  # the line holding this passage's `{: ... }`, if any
    indent: str = ""  # indentation an attr_list line for this passage needs
    time: TimeSpan | None = None  # from {: t="START-END" }: where the recording says it

    @property
    def has_redactions(self) -> bool:
        return self.redacted or bool(self.redactions)


@dataclass(frozen=True)
class Block:
    """One top-level piece of the body, in order, for rendering.

    ``p`` and ``blockquote`` hold one passage, ``ul``/``ol`` one per item;
    other blocks (headings, rules, code) are shown but are not passages.
    """

    tag: str
    passages: tuple[Passage, ...] = ()
    html: str = ""  # public inner HTML for non-passage blocks
    id: str | None = None  # an explicit id on a non-passage block (a heading)


@dataclass(frozen=True)
class Testimony:
    id: str
    title: str
    path: Path
    language: str
    status: str
    narrator: str | None = None
    interviewer: str | None = None
    date: PartialDate | None = None
    place: str | None = None
    publish_after: PartialDate | None = None
    source: str | None = None
    license: str | None = None
    themes: tuple[str, ...] = ()
    translation_of: str | None = None
    media: tuple[str, ...] = ()  # recordings, relative to the testimonies directory: ORIGINALS
    blocks: tuple[Block, ...] = ()
    content_hash: str = ""  # sha256 of the file's bytes: what incremental indexing compares

    # Worked out once per testimony (a frozen dataclass's cached_property is set in its
    # __dict__, not through __setattr__): listings and pages ask for them again and again.
    @cached_property
    def passages(self) -> tuple[Passage, ...]:
        return tuple(p for b in self.blocks for p in b.passages)

    def passage(self, passage_id: str) -> Passage | None:
        return next((p for p in self.passages if p.id == passage_id), None)

    def is_public(self, today: dt.date | None = None) -> bool:
        """Public now? Embargoed testimonies become public the day after ``publish_after``."""
        if self.status == "public":
            return True
        if self.status == "embargoed" and self.publish_after is not None:
            return (today or dt.date.today()) > self.publish_after.last_day
        return False

    @cached_property
    def all_themes(self) -> frozenset[str]:
        return frozenset(self.themes).union(*(p.themes for p in self.passages))

    @cached_property
    def word_count(self) -> int:
        """Words of the public text: what a reader of the published archive sees."""
        return sum(len(p.public_text.split()) for p in self.passages)


def public_text(testimony: Testimony) -> str:
    """The testimony's public plain text: the one string anchors, index and export agree on."""
    return PASSAGE_SEPARATOR.join(p.public_text for p in testimony.passages)


def passage_offsets(testimony: Testimony) -> dict[str, int]:
    """Where each passage starts in :func:`public_text`."""
    offsets, pos = {}, 0
    for p in testimony.passages:
        offsets[p.id] = pos
        pos += len(p.public_text) + len(PASSAGE_SEPARATOR)
    return offsets


@dataclass(frozen=True)
class Theme:
    slug: str
    labels: dict[str, str]
    description: str = ""
    broader: str | None = None
    keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)
    line: int = 0

    def label(self, language: str = "en") -> str:
        return self.labels.get(language) or self.labels["en"]


@dataclass(frozen=True, eq=False)  # identity hash: caches key on the loaded vocabulary
class Vocabulary:
    themes: dict[str, Theme]
    path: Path | None = None  # None: the default vocabulary shipped with the program

    def __contains__(self, slug: object) -> bool:
        return slug in self.themes

    def narrower(self, slug: str) -> list[Theme]:
        return [t for t in self.themes.values() if t.broader == slug]

    def with_broader(self, slugs: Iterable[str]) -> list[str]:
        """The themes, then every broader one, each once: a passage tagged with a theme
        counts, is found and is filtered for its broader themes too."""
        slugs = list(slugs)
        family = list(slugs)
        for slug in slugs:
            family += [t.slug for t in self.ancestors(slug)]
        return list(dict.fromkeys(family))

    def ancestors(self, slug: str) -> list[Theme]:
        """Broader themes from the nearest up; the vocabulary is checked to be a tree."""
        chain, theme = [], self.themes.get(slug)
        while theme is not None and theme.broader:
            theme = self.themes.get(theme.broader)
            if theme is not None:
                chain.append(theme)
        return chain


@dataclass
class Archive:
    """Every testimony that loaded, plus every problem found, so no bad file hides another."""

    directory: Path
    vocabulary: Vocabulary
    testimonies: dict[str, Testimony]
    errors: list = field(default_factory=list)  # list[ValidationError]
    warnings: list = field(default_factory=list)  # list[ValidationError]: reported, not fatal
    _grouped: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def bind_translations(self) -> None:
        """A translation is public only while its original is public too (FORMAT 1.1): the
        stricter status and the later embargo of an account apply to all its versions.
        Applied once, here, so every reader of the archive judges the versions alike;
        each version whose own file says otherwise gets a warning."""
        versions = {
            t.id: (t.translation_of, t.status, t.publish_after) for t in self.testimonies.values()
        }
        shared = account_statuses(versions)
        for group in translation_accounts({t: v[0] for t, v in versions.items()}):
            for tid in group:
                t = self.testimonies.get(tid)
                if t is None or (t.status, t.publish_after) == shared[tid]:
                    continue
                status, until = shared[tid]
                missing = [m for m in group if m not in self.testimonies]
                self.warnings.append(
                    _warning(
                        t.path,
                        f"its account's versions differ in status: it is treated as {status}"
                        + (f" until {until}" if until else "")
                        + f", like {', '.join(m for m in group if m != tid)}"
                        + (f" ({', '.join(missing)} did not load)" if missing else ""),
                    )
                )
                self.testimonies[tid] = replace(t, status=status, publish_after=until)
        self._grouped = None

    def public(self, today: dt.date | None = None) -> list[Testimony]:
        return [t for t in self.testimonies.values() if t.is_public(today)]

    def non_public(self, today: dt.date | None = None) -> list[Testimony]:
        return [t for t in self.testimonies.values() if not t.is_public(today)]

    def get_public(self, testimony_id: str, today: dt.date | None = None) -> Testimony | None:
        """Restricted, embargoed and missing ids all look the same from outside."""
        t = self.testimonies.get(testimony_id)
        return t if t is not None and t.is_public(today) else None

    def translations(self, testimony: Testimony) -> list[Testimony]:
        """The original and every other translation of the same account."""
        root = testimony.translation_of or testimony.id
        return [t for t in self._accounts().get(root, ()) if t.id != testimony.id]

    def _accounts(self) -> dict[str, list[Testimony]]:
        """Original id -> the original and its translations, by id: grouped in one pass
        when first asked (pages ask for every testimony), again once testimonies are added
        or removed."""
        key = (id(self.testimonies), len(self.testimonies))
        if self._grouped is None or self._grouped[0] != key:
            accounts: dict[str, dict[str, Testimony]] = {}
            for t in self.testimonies.values():
                if t.translation_of:
                    accounts.setdefault(t.translation_of, {})[t.id] = t
            for root, members in accounts.items():
                if root in self.testimonies:
                    members[root] = self.testimonies[root]
            grouped = {root: sorted(m.values(), key=lambda t: t.id) for root, m in accounts.items()}
            self._grouped = (key, grouped)
        return self._grouped[1]


_STRICTNESS = {"public": 0, "embargoed": 1, "restricted": 2}


def stricter_status(versions) -> tuple[str, PartialDate | None]:
    """The strictest status of several versions, with the latest embargo among them."""
    status, until = "public", None
    for s, after in versions:
        if _STRICTNESS.get(s, 2) > _STRICTNESS[status]:
            status = s if s in _STRICTNESS else "restricted"
        later = until is None or (after is not None and after.last_day > until.last_day)
        if s == "embargoed" and after is not None and later:
            until = after
    return status, (until if status == "embargoed" else None)


def translation_accounts(originals: dict[str, str | None]) -> list[list[str]]:
    """Accounts of more than one version: everything linked by ``translation_of``
    (``originals`` maps an id to the id it translates, or None), followed in both
    directions and through chains. An original named but not given is a member too."""
    parent: dict[str, str] = {}

    def root(tid: str) -> str:
        parent.setdefault(tid, tid)
        while parent[tid] != tid:
            parent[tid] = parent[parent[tid]]
            tid = parent[tid]
        return tid

    for tid, original in originals.items():
        root(tid)
        if original:
            parent[root(tid)] = root(original)
    groups: dict[str, list[str]] = {}
    for tid in parent:
        groups.setdefault(root(tid), []).append(tid)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def account_statuses(
    versions: dict[str, tuple[str | None, str | None, PartialDate | None]],
) -> dict[str, tuple[str, PartialDate | None]]:
    """The status each version of an account shares: ``versions`` maps an id to its
    ``(translation_of, status, publish_after)``; the result holds every given id that
    belongs to an account of more than one version (see :func:`translation_accounts`).

    It fails closed: a version that is named but did not load (missing, invalid) or has
    no known status counts as restricted, so an original withheld by an error never
    leaves its translation public.
    """
    result: dict[str, tuple[str, PartialDate | None]] = {}
    for group in translation_accounts({t: v[0] for t, v in versions.items()}):
        shared = stricter_status(
            (versions[tid][1] or "restricted", versions[tid][2])
            if tid in versions
            else ("restricted", None)
            for tid in group
        )
        result.update((tid, shared) for tid in group if tid in versions)
    return result


def _warning(path: Path, message: str) -> ValidationError:
    return ValidationError(path, None, message, hint="give the original and its translations "
                           "the same status and publish_after")  # fmt: skip
