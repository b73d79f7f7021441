"""Whoosh query and matcher classes of our own, through Whoosh's extension points.

Used by both ways of matching (the stock path of :mod:`.match` and
:mod:`.fastpath`), so they decide what a query means:

* :class:`InRow`: passages where words stand in a row, by their terms column
  (passage text keeps no positions; see :mod:`archive.fields`);
* :class:`AndNot`: AND NOT that also checks its first candidate (Whoosh's
  lets it through when the excluded side starts earlier);
* :data:`DATE_ORDER`: oldest first, undated last;
* :class:`UnionOr`: an OR always matched as a tree of two-way unions;
* :class:`DateFilter`: a date range read from the ``date_sort`` column.

Checks that run inside matchers keep to the running search's time limit
(:data:`DEADLINE`, set by whoever matches) and raise :class:`OutOfTime`.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from contextvars import ContextVar
from time import perf_counter
from typing import Any
from weakref import WeakKeyDictionary

from whoosh import query as wq
from whoosh import sorting
from whoosh.matching import binary, mcore, wrappers

from ..fields import TERMS

__all__ = [
    "CHECK_EVERY",
    "DATE_ORDER",
    "DEADLINE",
    "DateFilter",
    "UNDATED",
    "AndNot",
    "AndNotMatcher",
    "InRow",
    "InRowMatcher",
    "OutOfTime",
    "UnionOr",
    "in_row_check",
]

CHECK_EVERY = 512  # documents between two looks at the clock in a long loop


class OutOfTime(Exception):
    """The time limit passed while matching."""


#: When the running search must stop matching: set around the matchers it
#: builds, for the checks inside them (see :func:`in_row_check`).
DEADLINE: ContextVar[float] = ContextVar("search_deadline", default=float("inf"))


class DateOrder(sorting.FacetType):
    """Oldest first by ``date_sort``; undated passages (stored as 0) last."""

    def categorizer(self, global_searcher: Any) -> sorting.Categorizer:
        return DateCategorizer()


class DateCategorizer(sorting.Categorizer):
    UNDATED = 99_999_999

    def set_searcher(self, segment_searcher: Any, docoffset: int) -> None:
        self._dates = segment_searcher.reader().column_reader("date_sort")

    def key_for(self, matcher: Any, segment_docnum: int) -> int:
        return self._dates[segment_docnum] or self.UNDATED


DATE_ORDER = DateOrder()
UNDATED = DateCategorizer.UNDATED


class UnionOr(wq.Or):
    """An OR matched as Whoosh matches it in a large index (a binary tree of
    UnionMatchers), whatever the index's size and the collector.

    Whoosh's OR of three or more parts preloads every match into an array in
    an index of 5,000 documents or fewer when its collector does not ask for
    the current match: the fast path cannot read that matcher and would walk
    it (best match ORs a query's words, and ORs each word's fields).
    """

    matcher_type = wq.Or.DEFAULT_MATCHER


#: Per segment reader, its ``date_sort`` column as an array (read once).
_DATES: WeakKeyDictionary[Any, array] = WeakKeyDictionary()


class DateFilter(wq.Query):
    """Passages dated ``low`` to ``high`` (``yyyymmdd`` numbers, inclusive), unscored.

    A range of the ``date_sort`` terms would be an OR of every distinct date in
    it, each looked up and its postings read: over the WPA corpus's hundreds of
    interview days, more than a second. Here each segment's column (one number
    per passage) is read once and kept while the segment is open, and a range
    is one pass over it, matched as a plain list of documents.
    """

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high
        self.boost = 1.0

    def __eq__(self, other: object) -> bool:
        return type(other) is DateFilter and (self.low, self.high) == (other.low, other.high)

    def __hash__(self) -> int:
        return hash((DateFilter, self.low, self.high))

    def __repr__(self) -> str:
        return f"DateFilter({self.low}, {self.high})"

    def field(self) -> str:
        return "date_sort"

    def estimate_size(self, ixreader: Any) -> int:
        return ixreader.doc_count_all()

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        reader = searcher.reader()
        values = _DATES.get(reader)
        if values is None:
            # A deleted passage reads as undated (0), which no range reaches.
            column = reader.column_reader("date_sort")
            gone = reader.is_deleted if reader.has_deletions() else None
            values = _DATES[reader] = array(
                "l",
                (
                    0 if gone is not None and gone(d) else column[d]
                    for d in range(reader.doc_count_all())
                ),
            )
        low, high = self.low, self.high
        ids = [d for d, v in enumerate(values) if low <= v <= high]
        if not ids:
            return mcore.NullMatcher()
        return mcore.ListMatcher(ids, all_weights=0.0)


class InRow(wq.WrappingQuery):
    """Passages of ``child`` where ``terms`` stand in a row, by their terms column.

    ``child`` finds and scores the candidates (the words and their pairs);
    the terms of each candidate are then read to check the order,
    which costs one small read per candidate instead of every position of
    every word in the index.
    """

    def __init__(self, child: wq.Query, terms: list[str], boost: float = 1.0):
        super().__init__(child)
        self.terms = tuple(terms)
        self.boost = boost

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is InRow
            and self.child == other.child
            and (self.terms, self.boost) == (other.terms, other.boost)
        )

    def __hash__(self) -> int:
        return hash((self.child, self.terms, self.boost))

    def __repr__(self) -> str:
        return f"InRow({self.child!r}, {self.terms!r}, boost={self.boost})"

    def _rewrap(self, child: wq.Query) -> InRow:
        return InRow(child, list(self.terms), self.boost)

    def with_boost(self, boost: float) -> InRow:
        return InRow(self.child, list(self.terms), boost)

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        m = self.child.matcher(searcher, context)
        if isinstance(m, mcore.NullMatcherClass):
            return m
        check = in_row_check(searcher.reader(), self.terms)
        return InRowMatcher(m, check, self.boost)


class InRowMatcher(wrappers.WrappingMatcher):
    """The child's documents that pass ``check``, scored as the child (times ``boost``)."""

    def __init__(self, child: Any, check: Any, boost: float = 1.0) -> None:
        super().__init__(child, boost)
        self.check = check
        # The first passing document is looked for when first asked: matching in
        # bulk reads the child's postings and checks them itself, never walking here.
        self._settled = False

    def _settle(self) -> None:
        if not self._settled:
            self._settled = True
            self._skip_failing()

    def _skip_failing(self) -> None:
        while self.child.is_active() and not self.check(self.child.id()):
            self.child.next()

    def is_active(self) -> bool:
        self._settle()
        return self.child.is_active()

    def id(self) -> int:
        self._settle()
        return self.child.id()

    def reset(self) -> None:
        self.child.reset()
        self._settled = False

    def weight(self) -> float:
        self._settle()
        return super().weight()

    def score(self) -> float:
        self._settle()
        return super().score()

    def value(self) -> Any:
        self._settle()
        return super().value()

    def _replacement(self, newchild: Any) -> InRowMatcher:
        return InRowMatcher(newchild, self.check, self.boost)

    def copy(self) -> InRowMatcher:
        return InRowMatcher(self.child.copy(), self.check, self.boost)

    def supports_block_quality(self) -> bool:
        return False

    def replace(self, minquality: float = 0) -> Any:
        if not self.is_active():
            return mcore.NullMatcher()
        return self

    def next(self) -> bool:
        self._settle()
        self.child.next()
        self._skip_failing()
        return False

    def skip_to(self, id: int) -> bool:  # noqa: A002 - Whoosh's name
        self._settle()
        self.child.skip_to(id)
        self._skip_failing()
        return False

    def all_ids(self) -> Iterator[int]:
        while self.is_active():
            yield self.id()
            self.next()


def in_row_check(reader: Any, terms: tuple[str, ...]) -> Any:
    """A test of one document (of ``reader``) for ``terms`` at consecutive positions.

    The ``terms`` column holds the passage's terms in order, space-separated,
    and no term holds a space: the words stand in a row exactly where their
    space-joined run is found between spaces. Whoosh's own matchers may walk
    many candidates through it (pairs often found together, seldom in a row),
    so it keeps to the time limit of the search that built it.
    """
    run = f" {' '.join(terms)} ".encode()
    column = reader.column_reader(TERMS, translate=False)
    deadline = DEADLINE.get()
    calls = 0

    def check(docnum: int) -> bool:
        nonlocal calls
        calls += 1
        if calls % CHECK_EVERY == 0 and perf_counter() >= deadline:
            raise OutOfTime
        return run in b" " + column[docnum] + b" "

    return check


class AndNotMatcher(binary.AndNotMatcher):
    """Whoosh's AND NOT matcher, with its first match checked like the others.

    ``AndNotMatcher`` looks at the excluded side for its first document only
    when both sides start on the same document: when the excluded word's
    first document comes earlier, the first document of the other side is
    returned even if it holds the excluded word ("waitin -boy" listed a
    passage with "boy").
    """

    def __init__(self, a: Any, b: Any) -> None:
        super().__init__(a, b)
        self._exclude_first()

    def reset(self) -> None:
        super().reset()
        self._exclude_first()

    def _exclude_first(self) -> None:
        a, b = self.a, self.b
        if a.is_active() and b.is_active() and b.id() < a.id():
            b.skip_to(a.id())
            if b.is_active() and b.id() == a.id():
                self.next()  # moves on past every excluded document


class AndNot(wq.AndNot):
    def matcher(self, searcher: Any, context: Any = None) -> Any:
        # whoosh.query.AndNot.matcher, with the matcher above.
        scored = self.a.matcher(searcher, context)
        excluded = self.b.matcher(searcher, searcher.boolean_context())
        return AndNotMatcher(scored, excluded)
