"""What the public archive holds, counted once per loaded archive, and the words it is shown with.

Themes with their counts and tree, places, periods (decades and years),
languages, the newest testimonies, and the label tables (language names, theme
labels) that the pages, the JSON and the static search script all show. Pages
(:mod:`webapp.data`) add links and shape; nothing here knows a URL. Only public
testimonies are counted: everything starts from :func:`public`, which reads
``Archive.public`` with the snapshot's date.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, NamedTuple

from slugify import slugify

from archive.model import Passage, Testimony, Theme, Vocabulary, decade_of, passage_offsets

from .resources import Snapshot

#: Language code -> (English name, the language's own name).
LANGUAGES = {
    "en": ("English", "English"),
    "ru": ("Russian", "Русский"),
    "uk": ("Ukrainian", "Українська"),
}

UNDATED = "undated"

#: The search page's filters, in the order shown, with their headings.
FACET_LABELS = {"theme": "Theme", "language": "Language", "place": "Place", "decade": "Decade"}


# --- labels ---------------------------------------------------------------------------


def language_info(code: str) -> dict[str, str]:
    english, native = LANGUAGES.get(code, (code, code))
    return {"code": code, "name": english, "native": native}


def theme_label(vocabulary: Vocabulary, slug: str) -> str:
    theme = vocabulary.themes.get(slug)
    return theme.label("en") if theme else slug


def facet_labels(snap: Snapshot) -> dict[str, dict[str, str]]:
    """Facet value -> label for the facets whose values are codes (theme, language); a
    value not listed (a place, a decade) is its own label."""

    def compute() -> dict[str, dict[str, str]]:
        themes = snap.archive.vocabulary.themes
        return {
            "theme": {slug: theme.label("en") for slug, theme in themes.items()},
            "language": {code: english for code, (english, _native) in LANGUAGES.items()},
        }

    return snap.memo("facet_labels", compute)


# --- testimonies ----------------------------------------------------------------------


def newest_first(testimonies: Iterable[Testimony]) -> list[Testimony]:
    """Newest first; undated last; the id breaks ties, so any input gives one order."""
    return sorted(
        testimonies,
        key=lambda t: (t.date.first_day.toordinal() if t.date else 0, t.id),
        reverse=True,
    )


def public(snap: Snapshot) -> list[Testimony]:
    """The public testimonies, by id."""
    return snap.memo("public", lambda: sorted(snap.archive.public(snap.today), key=lambda t: t.id))


def public_by_id(snap: Snapshot) -> dict[str, Testimony]:
    return snap.memo("public_by_id", lambda: {t.id: t for t in public(snap)})


def newest(snap: Snapshot) -> list[Testimony]:
    return snap.memo("newest", lambda: newest_first(public(snap)))


def totals(snap: Snapshot) -> dict[str, int]:
    def compute() -> dict[str, int]:
        testimonies = public(snap)
        return {
            "testimonies": len(testimonies),
            "passages": sum(len(t.passages) for t in testimonies),
            "words": sum(t.word_count for t in testimonies),
            "languages": len(languages(snap)),
        }

    return snap.memo("totals", compute)


# --- themes ---------------------------------------------------------------------------


def theme_counts(snap: Snapshot) -> dict[str, dict[str, int]]:
    """Per theme (narrower themes included): public testimonies and passages."""

    def compute() -> dict[str, dict[str, int]]:
        # One pass over the passages, each counted for its themes and their broader ones.
        vocab = snap.archive.vocabulary
        counts = {slug: {"testimonies": 0, "passages": 0} for slug in vocab.themes}
        for t in public(snap):
            for slug in vocab.with_broader(t.all_themes):
                counts[slug]["testimonies"] += 1
            for p in t.passages:
                if p.themes:
                    for slug in vocab.with_broader(p.themes):
                        counts[slug]["passages"] += 1
        return counts

    return snap.memo("theme_counts", compute)


class ThemeNode(NamedTuple):
    theme: Theme
    testimonies: int
    passages: int
    narrower: list[ThemeNode]


def theme_tree(snap: Snapshot, only_used: bool) -> list[ThemeNode]:
    """The vocabulary's themes from the roots down, with their counts; ``only_used``
    leaves out the themes no public testimony is tagged with."""
    vocab, counts = snap.archive.vocabulary, theme_counts(snap)

    def node(theme: Theme) -> ThemeNode | None:
        count = counts[theme.slug]
        if only_used and not count["testimonies"]:
            return None
        children = [n for n in map(node, vocab.narrower(theme.slug)) if n]
        return ThemeNode(theme, count["testimonies"], count["passages"], children)

    roots = [t for t in vocab.themes.values() if not t.broader]
    return [n for n in map(node, roots) if n]


ThemeMembers = tuple[list[Testimony], list[tuple[Testimony, Passage, int]]]


def theme_members(snap: Snapshot) -> dict[str, ThemeMembers]:
    """Per theme: the testimonies tagged with it or a narrower one, and such passages with
    their offsets, newest first; the same for every page of a theme's listing. Made in one
    pass for every theme, since the export lists them all."""

    def compute() -> dict[str, ThemeMembers]:
        vocab = snap.archive.vocabulary
        members: dict[str, ThemeMembers] = {s: ([], []) for s in vocab.themes}
        for t in newest(snap):
            for slug in vocab.with_broader(t.themes):
                members[slug][0].append(t)
            offsets = None
            for p in t.passages:
                if p.themes:
                    offsets = offsets or passage_offsets(t)
                    for slug in vocab.with_broader(p.themes):
                        members[slug][1].append((t, p, offsets[p.id]))
        return members

    return snap.memo("theme_members", compute)


# --- places, periods, languages ---------------------------------------------------------


def place_slug(place: str) -> str:
    return slugify(place) or "place"


def places(snap: Snapshot) -> dict[str, dict[str, Any]]:
    """Place slug -> its names as written, the testimony ids, the first one's language;
    by name."""

    def compute() -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for t in public(snap):
            if not t.place:
                continue
            slug = place_slug(t.place)
            entry = found.setdefault(
                slug, {"slug": slug, "names": [], "ids": [], "language": t.language}
            )
            if t.place not in entry["names"]:
                entry["names"].append(t.place)
            entry["ids"].append(t.id)
        return dict(sorted(found.items(), key=lambda kv: kv[1]["names"][0].lower()))

    return snap.memo("places", compute)


def periods(snap: Snapshot) -> dict[str, list[str]]:
    """Decade ("1930s"), year ("1937") and :data:`UNDATED` -> testimony ids."""

    def compute() -> dict[str, list[str]]:
        found: dict[str, list[str]] = defaultdict(list)
        for t in public(snap):
            if t.date is None:
                found[UNDATED].append(t.id)
                continue
            found[t.date.decade].append(t.id)
            found[str(t.date.year)].append(t.id)
        return dict(found)

    return snap.memo("periods", compute)


def decades(snap: Snapshot) -> dict[str, list[str]]:
    """Decade -> its years (as :func:`periods` names them), both in order."""
    names = periods(snap)
    found: dict[str, list[str]] = {d: [] for d in sorted(p for p in names if p.endswith("s"))}
    for year in sorted(p for p in names if p.isdigit()):
        found[decade_of(int(year))].append(year)
    return found


def languages(snap: Snapshot) -> dict[str, list[str]]:
    """Language code -> testimony ids, by code."""

    def compute() -> dict[str, list[str]]:
        found: dict[str, list[str]] = defaultdict(list)
        for t in public(snap):
            found[t.language].append(t.id)
        return dict(sorted(found.items()))

    return snap.memo("languages", compute)
