"""Matching: every match of a compiled query, and one page of them in order.

:func:`match` is the one entry. With the fast path on it hands the work to
:mod:`.fastpath`; off, Whoosh's own collectors walk Whoosh's own matchers
(and those of :mod:`.queries`). Both give the same matches, scores and order
(tests/test_fastpath.py). The time limit is checked as documents are
collected; what was found before it passed is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from time import perf_counter
from typing import Any

from whoosh import collectors
from whoosh import query as wq

from . import fastpath
from .opened import SearchIndex
from .queries import CHECK_EVERY, DATE_ORDER, DEADLINE, OutOfTime

__all__ = ["TIME_LIMIT", "Matches", "match"]

#: Seconds a search may spend collecting matches before it returns what it has.
TIME_LIMIT = 1.0


@dataclass
class Matches:
    """Every match of a query and the page's order."""

    total: int
    docs: list[int]
    page: list[tuple[Any, int]]  # (score | date key | None, docnum), as the collector gives
    timed_out: bool


def match(
    index: SearchIndex,
    searcher: Any,
    query: wq.Query,
    order: str,
    first: int,
    count: int | None,
    time_limit: float,
    fast_path: bool | None = None,
) -> Matches:
    """Find every match of ``query`` and the page ``[first, first + count)`` in ``order``.

    ``count`` None, by relevance: ``page`` is every match with its score, in
    no particular order (:mod:`.ranking` orders them itself).

    ``order`` is ``"relevance"`` (BM25F), ``"date"`` or ``"index"`` (unscored).
    Matches are what Whoosh's collector for that order finds, and the page is
    in its order. ``fast_path`` (default: the index's) picks the way.
    """
    if order == "date":
        collector = searcher.collector(limit=None, sortedby=DATE_ORDER)
    elif order == "relevance":
        collector = searcher.collector(limit=None)
    else:
        collector = searcher.collector(limit=None, scored=False)
    deadline = perf_counter() + time_limit
    if count is None and order != "relevance":
        raise ValueError("count=None is for order='relevance'")
    end = None if count is None else first + count
    if index.fast_path if fast_path is None else fast_path:
        collector.prepare(searcher, query, searcher.context())
        docs, page, timed_out = fastpath.match(
            index, searcher, query, collector, order, first, end, deadline
        )
        return Matches(len(docs), docs, page, timed_out)
    timed = _Deadline(collector, deadline)
    timed_out = False
    token = DEADLINE.set(deadline)
    try:
        searcher.search_with_collector(query, timed)
    except OutOfTime:
        timed_out = True
    finally:
        DEADLINE.reset(token)
    items = [tuple(item) for item in collector.results().top_n]
    docs = [d for _, d in items]
    if end is None:
        return Matches(len(docs), docs, items, timed_out)
    if order == "index":
        return Matches(len(docs), docs, [(None, d) for d in docs[first:end]], timed_out)
    return Matches(len(docs), docs, items[first:end], timed_out)


class _Deadline(collectors.WrappingCollector):
    """Its child's matches until ``deadline`` (:func:`time.perf_counter`), then OutOfTime.

    Whoosh's TimeLimitCollector starts a timer thread per search; this looks
    at the clock every :data:`CHECK_EVERY` documents instead.
    """

    def __init__(self, child: Any, deadline: float) -> None:
        super().__init__(child)
        self.deadline = deadline

    def collect_matches(self) -> None:
        if perf_counter() >= self.deadline:  # between segments, as the fast path looks
            raise OutOfTime
        child = self.child
        for count, sub_docnum in enumerate(child.matches(), start=1):
            if count % CHECK_EVERY == 0 and perf_counter() >= self.deadline:
                raise OutOfTime
            child.collect(sub_docnum)
