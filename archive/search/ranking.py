"""Ranking: best match over every match, then one page of testimonies or passages.

Whoosh (or :mod:`.fastpath`) finds and scores every passage the compiled query
matches (BM25F); this module then decides, per passage, what the reader sees:

* **best match** (:class:`.compile.Best`): which of the query's optional
  significant words a passage holds (in its text, or in its testimony's title,
  narrator or place), whether it holds the minimum, and which it lacks
  (``missing``). Passages holding every word come first; the others follow,
  ranked by ``score * (held / words) ** COORD_POWER``, raised by
  ``PAIR_BOOST`` for each of the query's word pairs the passage holds in a row.
* **passage or testimony level**: a passage whose own text holds none of the
  query's words matched only by its testimony's title, narrator or place (or,
  for ``theme:``, by its testimony's themes): such matches become one line for
  their testimony, never every passage of it. A passage's own themes rank
  above its testimony's.
* **view**: ``testimonies`` (each testimony once, its best passages under
  it, paged by testimony) or ``passages`` (every passage on its own).

Presence is read as sets of document numbers, one match of each item's query
(the same machinery, so the same time limit), never by reading the passages.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from whoosh import query as wq

from .compile import Compiled
from .match import Matches, match
from .opened import SearchIndex
from .queries import UnionOr

__all__ = ["GROUP_PASSAGES", "VIEWS", "Entry", "Ranked", "rank"]

VIEWS = ("testimonies", "passages")
#: Passages shown under one testimony in the grouped view.
GROUP_PASSAGES = 3
COORD_POWER = 2.0
PAIR_BOOST = 0.5
#: Best match lists at least this many testimonies when the query's words allow:
#: when fewer hold the minimum, the best-ranked of the rest fill up to it (the fill tier).
FILL_TESTIMONIES = 10
#: Grouped view: a testimony's rank is its best passage's score times the share of
#: the query's words (weighted by rarity) its passages hold, ** COVER_POWER.
COVER_POWER = 1.0
#: A passage tagged with a theme: itself, over one that inherits it from its testimony.
OWN_THEME_BOOST = 1.5


@dataclass
class Entry:
    """One line of the page: a testimony (grouped view) or a passage.

    ``docs`` are the passages to show with their scores, best first (empty
    for a testimony-level line); ``more`` the testimony's other matching
    passages not shown; ``matched_on`` where a testimony-level line matched.
    """

    testimony: str
    docs: list[tuple[float, int]]
    missing: dict[int, list[str]]
    more: int = 0
    matched_on: list[str] = field(default_factory=list)
    first_doc: int = 0  # a passage of the testimony, for its title and metadata


@dataclass
class Ranked:
    total: int
    passages: int  # passages (and testimony-level lines) that match
    entries: list[Entry]
    counted: list[int]  # documents the facets count
    per_testimony: bool  # facets count testimonies, not passages
    timed_out: bool
    filled: bool = False  # the fill tier is listed (see _fill)


class _Clock:
    def __init__(self, time_limit: float) -> None:
        self.deadline = perf_counter() + time_limit
        self.timed_out = False

    def left(self) -> float:
        return max(0.0, self.deadline - perf_counter())


def _ids(index: SearchIndex, searcher: Any, query: wq.Query, clock: _Clock, fast: bool) -> set[int]:
    if query is wq.NullQuery:
        return set()
    found: Matches = match(index, searcher, query, "index", 0, 0, clock.left(), fast)
    clock.timed_out = clock.timed_out or found.timed_out
    return set(found.docs)


def rank(
    index: SearchIndex,
    searcher: Any,
    compiled: Compiled,
    query: wq.Query,
    themes: list[str],
    *,
    sort: str,
    view: str,
    page: int,
    per_page: int,
    time_limit: float,
    fast: bool,
) -> Ranked:
    clock = _Clock(time_limit)
    if compiled.scored:
        found = match(index, searcher, query, "relevance", 0, None, clock.left(), fast)
        scores = {d: float(s or 0.0) for s, d in found.page}
        if found.timed_out:  # a search cut short may have matched more than it scored
            for d in found.docs:
                scores.setdefault(d, 0.0)
    else:
        found = match(index, searcher, query, "index", 0, 0, clock.left(), fast)
        scores = dict.fromkeys(found.docs, 0.0)
    clock.timed_out = found.timed_out
    items = compiled.items
    best = compiled.best
    testimony_of = index.facet_values(searcher, "testimony")

    def testimony(d: int) -> str:
        return testimony_of[d][0] if testimony_of[d] else ""

    presence = best is not None and bool(best.optional)
    if presence or any(m is not wq.NullQuery for item in items for m in item.meta.values()):
        text_ids = [_ids(index, searcher, item.text, clock, fast) for item in items]
        in_text = set().union(*text_ids) if text_ids else set()
    else:  # no word of the query is in a title, narrator or place: every match is in text
        text_ids, in_text = [], None

    missing: dict[int, list[str]] = {}
    fill: set[int] = set()
    cover: dict[str, float] = {}
    if presence:
        held = {}
        for i in best.optional:
            meta = [m for m in items[i].meta.values() if m is not wq.NullQuery]
            held[i] = text_ids[i] | (
                _ids(index, searcher, UnionOr(meta), clock, fast) if meta else set()
            )
        n = len(best.optional)
        pairs = [_ids(index, searcher, p, clock, fast) for p in best.pairs]
        words_of: dict[str, set[int]] = defaultdict(set)  # testimony -> words its matches hold
        below: list[int] = []
        for d in scores:
            have = [i for i in best.optional if d in held[i]]
            words_of[testimony(d)].update(have)
            if len(have) < best.minimum:
                below.append(d)
            if len(have) < n:
                missing[d] = [items[i].label for i in best.optional if d not in held[i]]
            factor = (len(have) / n) ** COORD_POWER
            if pairs:
                factor *= 1 + PAIR_BOOST * sum(d in p for p in pairs)
            scores[d] *= factor
        fill = _fill(below, scores, testimony)
        for d in below:
            if d not in fill:
                del scores[d]
                missing.pop(d, None)
        # Coverage weighs each word by its rarity (idf): the testimony that tells of
        # "stars" and "fell" covers more of the query than one with "old" and "night".
        docs = max(searcher.doc_count(), 2)
        weight = {i: math.log(1 + docs / max(1, len(held[i]))) for i in best.optional}
        total = sum(weight.values())
        cover = {t: (sum(weight[i] for i in w) / total) ** COVER_POWER for t, w in words_of.items()}

    own: set[int] = set()
    if themes:
        own = _ids(
            index,
            searcher,
            UnionOr([wq.Term("passage_theme_tree", t) for t in sorted(set(themes))]),
            clock,
            fast,
        )
        for d in scores:
            if d in own:
                scores[d] = scores[d] * OWN_THEME_BOOST if items else 1.0

    if items:
        passage_level = in_text  # None: every match
    elif themes:
        passage_level = own
    else:
        passage_level = None  # filters only: every passage is a hit of its own

    dates = _date_keys(index, searcher) if sort == "date" else None

    def key(d: int) -> tuple:
        if dates is not None:
            return (d in fill, dates[d], d)
        return (d in fill, d in missing, -scores[d], d)

    by_testimony: dict[str, list[int]] = defaultdict(list)
    title_only: dict[str, list[int]] = defaultdict(list)
    for d in scores:
        t = testimony(d)
        if passage_level is None or d in passage_level:
            by_testimony[t].append(d)
        else:
            title_only[t].append(d)
    for docs in by_testimony.values():
        docs.sort(key=key)
    for docs in title_only.values():
        docs.sort(key=key)
    lines = {t: docs for t, docs in title_only.items() if t not in by_testimony}
    counted = [d for docs in by_testimony.values() for d in docs]
    counted.extend(docs[0] for docs in lines.values())
    passages = len(counted)

    def entry_key(t: str, docs: list[int]) -> tuple:
        k = key(docs[0])
        if dates is None and cover:  # scaled by the testimony's coverage of the query's words
            k = (*k[:2], k[2] * cover.get(t, 1.0), k[3])
        return (*k[:-1], t, k[-1])

    if view == "testimonies":
        everything = [(entry_key(t, docs), t, docs, False) for t, docs in by_testimony.items()]
        everything.extend((entry_key(t, docs), t, docs, True) for t, docs in lines.items())
        everything.sort(key=lambda e: e[0])
        chosen = everything[(page - 1) * per_page : page * per_page]
        entries = []
        for _, t, docs, is_line in chosen:
            shown = [] if is_line else docs[:GROUP_PASSAGES]
            entries.append(
                Entry(
                    t,
                    [(scores[d], d) for d in shown],
                    {d: missing[d] for d in shown if d in missing},
                    more=0 if is_line else len(docs) - len(shown),
                    first_doc=docs[0],
                )
            )
        total = len(everything)
    else:
        ranked = sorted(
            [(key(d), d, False) for docs in by_testimony.values() for d in docs]
            + [(key(docs[0]), docs[0], True) for docs in lines.values()],
            key=lambda e: e[0],
        )
        entries = []
        for _, d, is_line in ranked[(page - 1) * per_page : page * per_page]:
            t = testimony(d)
            shown = [] if is_line else [d]
            entries.append(
                Entry(
                    t,
                    [(scores[d], d) for d in shown],
                    {d: missing[d] for d in shown if d in missing},
                    first_doc=d,
                )
            )
        total = len(ranked)
    line_entries = [e for e in entries if not e.docs]
    if line_entries:
        _matched_on(index, searcher, compiled, own, themes, line_entries, clock, fast)
    return Ranked(
        total, passages, entries, counted, view == "testimonies", clock.timed_out, bool(fill)
    )


def _fill(below: list[int], scores: dict[int, float], testimony: Any) -> set[int]:
    """The fill tier: passages holding fewer than the minimum of the query's words, of
    the best-ranked testimonies with no passage above that, while fewer than
    FILL_TESTIMONIES testimonies are listed (a descriptive sentence's words are seldom
    together in one passage; its best testimonies may hold them across several)."""
    shut_out = set(below)
    listed = {testimony(d) for d in scores if d not in shut_out}
    wanted = FILL_TESTIMONIES - len(listed)
    if wanted <= 0 or not below:
        return set()
    chosen: set[str] = set()
    for d in sorted(below, key=lambda d: (-scores[d], d)):
        t = testimony(d)
        if t not in listed and t not in chosen:
            if len(chosen) == wanted:
                break
            chosen.add(t)
    return {d for d in below if testimony(d) in chosen}


def _matched_on(
    index: SearchIndex,
    searcher: Any,
    compiled: Compiled,
    own: set[int],
    themes: list[str],
    entries: list[Entry],
    clock: _Clock,
    fast: bool,
) -> None:
    """Where each testimony-level line matched: title, narrator, place, themes."""
    fields: dict[str, list[wq.Query]] = defaultdict(list)
    for item in compiled.items:
        for name, q in item.meta.items():
            if q is not wq.NullQuery:
                fields[name].append(q)
    for name, queries in fields.items():
        ids = _ids(index, searcher, UnionOr(queries), clock, fast)
        for e in entries:
            if e.first_doc in ids:
                e.matched_on.append(name)
    for e in entries:
        if themes and not compiled.items and e.first_doc not in own:
            e.matched_on.append("themes")


def _date_keys(index: SearchIndex, searcher: Any) -> list[int]:
    reader = searcher.reader()

    def build() -> list[int]:
        column = reader.column_reader("date_sort")
        return [column[d] or 99_999_999 for d in range(reader.doc_count_all())]

    return index.cached("date keys", reader, build)
