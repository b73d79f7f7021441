"""What a search returns: :class:`Hit`, :class:`Group` and :class:`SearchResults`.

Plain frozen data with their JSON shape (``as_dict``): the CLI, the web app
and the export read these and nothing else of the search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..anchors import Anchor

__all__ = ["Group", "Hit", "SearchResults"]


# --- results ----------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One matching passage.

    ``snippet`` is HTML: escaped passage text with ``<mark>`` around matched
    words. ``snippet_parts`` is the same as ``(text, marked)`` pieces for
    renderers that are not HTML (the CLI); it is left out of :meth:`as_dict`.
    """

    testimony: str
    passage: str
    title: str
    narrator: str | None
    date: str | None
    language: str | None
    score: float | None
    snippet: str
    url: str
    anchor: Anchor | None
    snippet_parts: tuple[tuple[str, bool], ...] = field(default=(), repr=False)
    #: Where a time-coded passage is heard (seconds in recording ``recording``), or None.
    start: float | None = None
    end: float | None = None
    recording: int | None = None
    missing: tuple[str, ...] = ()  # best match: the query's words this passage lacks

    def as_dict(self) -> dict[str, Any]:
        return {
            "testimony": self.testimony,
            "passage": self.passage,
            "title": self.title,
            "narrator": self.narrator,
            "date": self.date,
            "language": self.language,
            "score": self.score,
            "snippet": self.snippet,
            "url": self.url,
            "anchor": self.anchor.as_dict() if self.anchor is not None else None,
            "start": self.start,
            "end": self.end,
            "recording": self.recording,
            "missing": list(self.missing),
        }


@dataclass(frozen=True)
class Group:
    """One testimony on this page and its hits shown, best first.

    No ``hits``: a testimony-level line, matched by its title, narrator,
    place or themes (``matched_on``) rather than by any passage's text.
    ``more``: its other matching passages, not shown (grouped view).
    """

    testimony: str
    title: str
    hits: tuple[Hit, ...]
    narrator: str | None = None
    date: str | None = None
    language: str | None = None
    more: int = 0
    matched_on: tuple[str, ...] = ()
    url: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "testimony": self.testimony,
            "title": self.title,
            "narrator": self.narrator,
            "date": self.date,
            "language": self.language,
            "url": self.url,
            "hits": [h.as_dict() for h in self.hits],
            "more": self.more,
            "matched_on": list(self.matched_on),
        }


@dataclass(frozen=True)
class SearchResults:
    """One page of results plus what describes the whole result set.

    JSON shape (:meth:`as_dict`)::

        {"query": str, "filters": {facet: [value, ...]}, "sort": "relevance"|"date",
         "mode": "best"|"all", "view": "testimonies"|"passages",
         "testimony": str | null,  # only this testimony's passages
         "total": int,             # testimonies (view testimonies) or lines (passages)
         "passages": int,          # matching passages (a testimony-level line counts 1)
         "page": int, "per_page": int, "pages": int,
         "past_end": bool,        # page is after the last one: hits is empty
         "timed_out": bool,       # the time limit cut the search short
         "total_is_lower_bound": bool,  # timed out: at least ``total`` match
         "hits": [{"testimony", "passage", "title", "narrator", "date",
                   "language", "score", "snippet", "url", "anchor", "missing"}],
         "groups": [{"testimony", "title", "narrator", "date", "language", "url",
                     "hits": [hit, ...], "more": int, "matched_on": [str, ...]}],
         "facets": {"theme": [[value, count], ...], "language": [...],
                    "place": [...], "decade": [...]},
         "unknown": [str, ...],      # words no public text holds at all
         "corrections": {word: [str, ...]},  # misspelt words and what was searched
         "showing": str | null,      # the query searched, when words were left out or fixed
         "search_instead": str | null,  # the query as typed, those words required (+word)
         "suggestion": str | null,   # "did you mean": the query with words corrected
         "notices": [str, ...]}      # what was changed or ignored, in words

    Facets count what is listed: testimonies in the testimonies view,
    passages (and testimony-level lines) in the passages view.

    ``score`` is the BM25F relevance (``null`` when sorted by date or when
    only filters were given); ``anchor`` is a quote anchor
    (:meth:`archive.anchors.Anchor.as_dict`) over the matched words, ``null``
    when nothing in the passage text matched (browsing by filters).
    """

    query: str
    total: int
    page: int
    per_page: int
    hits: tuple[Hit, ...]
    groups: tuple[Group, ...]
    facets: dict[str, list[tuple[str, int]]]
    suggestion: str | None = None
    notices: tuple[str, ...] = ()
    timed_out: bool = False
    sort: str = "relevance"
    filters: dict[str, list[str]] = field(default_factory=dict)
    mode: str = "best"
    view: str = "passages"
    passages: int = 0
    unknown: tuple[str, ...] = ()
    corrections: dict[str, tuple[str, ...]] = field(default_factory=dict)
    showing: str | None = None
    search_instead: str | None = None
    testimony: str | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def past_end(self) -> bool:
        return self.page > self.pages

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "filters": self.filters,
            "sort": self.sort,
            "mode": self.mode,
            "view": self.view,
            "testimony": self.testimony,
            "total": self.total,
            "passages": self.passages,
            "page": self.page,
            "per_page": self.per_page,
            "pages": self.pages,
            "past_end": self.past_end,
            "timed_out": self.timed_out,
            # A search cut short counted only what it found by then: at least this many.
            "total_is_lower_bound": self.timed_out,
            "hits": [h.as_dict() for h in self.hits],
            "groups": [g.as_dict() for g in self.groups],
            "facets": {
                name: [list(item) for item in values] for name, values in self.facets.items()
            },
            "unknown": list(self.unknown),
            "corrections": {k: list(v) for k, v in self.corrections.items()},
            "showing": self.showing,
            "search_instead": self.search_instead,
            "suggestion": self.suggestion,
            "notices": list(self.notices),
        }
