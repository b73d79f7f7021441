"""Search the passage index: safe queries, a time limit, highlights, facets, citations.

:func:`search` is the one entry point the CLI and the web app call. The query
text is read by :mod:`archive.query` (never by Whoosh's own parser). Everything
a result shows comes from the index it was given; the public index never holds
restricted testimonies or redacted words, so neither can any hit, snippet,
facet or "did you mean" made from it.

One module per concern:

* :mod:`.results`: what a search returns (:class:`Hit`, :class:`Group`,
  :class:`SearchResults`);
* :mod:`.opened`: the opened index and its caches, the one way in (also for
  :mod:`archive.quotecheck`);
* :mod:`.compile`: parsed query to Whoosh query; :mod:`.queries`: Whoosh
  query classes of our own;
* :mod:`.match`: matching with Whoosh's own collectors, or through
  :mod:`.fastpath`, the only module that reads Whoosh's private attributes
  (``ARCHIVE_FAST_PATH=0`` turns it off; the results are the same);
* :mod:`.ranking`: best match, testimony-level lines and grouping by
  testimony, after matching;
* :mod:`.facets`: filters and facet counts; :mod:`.highlight`: snippets and
  anchors; :mod:`.searching`: :func:`search` itself.

Decisions worth knowing:

* **Time limit.** Matching stops after :data:`TIME_LIMIT` seconds; the
  result then holds what was found so far and says ``timed_out: true`` (a
  partial answer is more useful to a reader than an error, and the flag lets
  the page say so). Everything else a query can cost is bounded up front:
  prefix and typo expansions are capped, and the parser caps length, terms
  and nesting.
* **Totals are exact.** Every match is found and scored (facets count the
  whole result set), but only the page's hits are highlighted. "a -b" drops
  every passage with b (see :class:`.queries.AndNotMatcher`).
"""

from __future__ import annotations

from .compile import MODES
from .facets import FACETS
from .match import TIME_LIMIT
from .opened import SearchIndex, open_search_index
from .ranking import VIEWS
from .results import Group, Hit, SearchResults
from .searching import MAX_PER_PAGE, SORTS, search

__all__ = [
    "FACETS",
    "MAX_PER_PAGE",
    "MODES",
    "SORTS",
    "TIME_LIMIT",
    "VIEWS",
    "Group",
    "Hit",
    "SearchIndex",
    "SearchResults",
    "open_search_index",
    "search",
]
