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
        }


@dataclass(frozen=True)
class Group:
    """The hits of one testimony on this page, in result order."""

    testimony: str
    title: str
    hits: tuple[Hit, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "testimony": self.testimony,
            "title": self.title,
            "hits": [h.as_dict() for h in self.hits],
        }


@dataclass(frozen=True)
class SearchResults:
    """One page of results plus what describes the whole result set.

    JSON shape (:meth:`as_dict`)::

        {"query": str, "filters": {facet: [value, ...]}, "sort": "relevance"|"date",
         "total": int, "page": int, "per_page": int, "pages": int,
         "past_end": bool,        # page is after the last one: hits is empty
         "timed_out": bool,       # the time limit cut the search short
         "total_is_lower_bound": bool,  # timed out: at least ``total`` passages match
         "hits": [{"testimony", "passage", "title", "narrator", "date",
                   "language", "score", "snippet", "url", "anchor"}],
         "groups": [{"testimony", "title", "hits": [hit, ...]}],
         "facets": {"theme": [[value, count], ...], "language": [...],
                    "place": [...], "decade": [...]},
         "suggestion": str | null,   # "did you mean": the query with words corrected
         "notices": [str, ...]}      # what was changed or ignored, in words

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
            "total": self.total,
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
            "suggestion": self.suggestion,
            "notices": list(self.notices),
        }
