"""The fast path: matching evaluated a node at a time, and faster reads of the index.

The only module that touches Whoosh's private attributes (``m._ids``,
``m._data``, ``reader._perdoc``, ``column._dbfile``, ...) and replaces a
method at run time (``HashReader.ranges_for_key``, memoized per search). It
is worth it: on the WPA corpus it makes search about 2.3x faster at p95 than
Whoosh's own matchers over the same query trees. It gives the same matches,
scores and order as :mod:`.match`'s stock path (tests/test_fastpath.py holds
it to that); the ``fast_path`` setting (``ARCHIVE_FAST_PATH=0``) turns it off.

Whoosh collects matches one document at a time through a tree of matcher
objects, which in pure Python costs microseconds per document and per node.
Here the very tree Whoosh builds for each segment (with the context its
collector would use) is evaluated a node at a time instead: a term's postings
are read block by block into lists, AND, OR and AND NOT become set and dict
operations, and a phrase (of the title, narrator and place fields; passage
text has word pairs instead, see :meth:`.compile.Compiler._text_sequence`) is
checked against word positions only in the passages that hold all of its
words. Scores are BM25F computed with Whoosh's own arithmetic and added in
the order the tree adds them, so totals, scores and ranks are exactly
Whoosh's. A segment whose tree holds a matcher not known here (a small
segment's preloaded OR, "a OR -b") is walked the way Whoosh walks it.

:data:`CALLS` counts, per segment matched, which way it went: tests read it
to see the fast path is taken.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Collection, Iterable
from itertools import accumulate
from operator import itemgetter
from pickle import loads
from time import perf_counter
from typing import TYPE_CHECKING, Any

from whoosh import formats, scoring
from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.matching import binary, mcore, wrappers
from whoosh.query.spans import SpanNear2
from whoosh.util import make_binary_tree
from whoosh.util.numeric import byte_to_length

from .queries import (
    CHECK_EVERY,
    DEADLINE,
    UNDATED,
    AndNotMatcher,
    InRowMatcher,
    OutOfTime,
)

if TYPE_CHECKING:
    from .opened import SearchIndex

__all__ = ["CALLS", "Phrase", "fresh_lookups", "match", "stock_lookups", "stored_fields"]

#: Segments matched, by the way they went: ``"top_leaf"`` (one word, best k
#: scored block by block), ``"scores"`` / ``"ids"`` (a tree evaluated node by
#: node, scored or not), ``"walked"`` (a tree with a matcher not known here,
#: walked as Whoosh walks it). Counted once per segment, never per document.
CALLS: Counter[str] = Counter()

_LEAF_SCORERS = (scoring.BM25FScorer, scoring.WeightScorer)


# --- reading the index --------------------------------------------------------------------


def fresh_lookups(searcher: Any) -> None:
    """Each term dictionary lookup done once per search, starting afresh.

    Making a term's matcher looks it up five or six times in every segment
    (its size estimate, its postings, BM25's idf summed over all segments),
    and each time Whoosh hashes the key and reads and compares it in the
    file. The memo holds one search's lookups only: it is emptied as the
    next search starts, so no search is answered from another's.
    """
    for sub, _ in searcher.leaf_searchers():
        table = getattr(getattr(sub.reader(), "_terms", None), "_tindex", None)
        if table is None:
            continue
        memo = table.__dict__.get("_lookups")
        if memo is None:
            memo = table._lookups = {}
            lookup = type(table).ranges_for_key.__get__(table)

            def ranges_for_key(key: bytes, memo: dict = memo, lookup: Any = lookup) -> tuple:
                found = memo.get(key)
                if found is None:
                    found = memo[key] = tuple(lookup(key))
                return found

            # HashReader's lookups (range_for_key, [], in) all go through this one.
            table.ranges_for_key = ranges_for_key
        memo.clear()


def _length_bytes(reader: Any, fieldname: str) -> Any:
    """A segment's stored field lengths (one byte per document) read in one go.

    ``None`` if this Whoosh keeps them some other way (then they are read a
    document at a time), :data:`_NO_COLUMN` if the segment has none.
    """
    try:
        column = reader._perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
        if column is None:
            return _NO_COLUMN
        if column._fixedlen != 1:
            return None
        return bytes(column._dbfile.get(column._basepos, column._count))
    except AttributeError:
        return None


def stock_lookups(searcher: Any) -> None:
    """Undo :func:`fresh_lookups`: Whoosh's own term lookups again."""
    for sub, _ in searcher.leaf_searchers():
        table = getattr(getattr(sub.reader(), "_terms", None), "_tindex", None)
        if table is not None:
            table.__dict__.pop("ranges_for_key", None)
            table.__dict__.pop("_lookups", None)


_NO_COLUMN: Any = object()  # the segment stores no lengths for the field


def length_norms(index: Any, reader: Any, fieldname: str, scorer: Any) -> list[float | None]:
    """BM25F's length part, ``K1 * ((1 - B) + B * length / avgfl)``, per document of a segment.

    Computed as :func:`whoosh.scoring.bm25` computes it, from the lengths
    ``reader.doc_field_length(docnum, fieldname, 1)`` gives (``None`` where
    Whoosh has no length), once per index version.
    """
    k1, b, avgfl = scorer.K1, scorer.B, scorer.avgfl

    def build() -> list[float | None]:
        lengths = _field_lengths(index, reader, fieldname)
        table = {fl: None if fl is None else k1 * ((1 - b) + b * fl / avgfl) for fl in set(lengths)}
        return list(map(table.__getitem__, lengths))

    return index.cached(("norms", id(reader), fieldname, k1, b, avgfl), reader, build)


def _field_lengths(index: Any, reader: Any, fieldname: str) -> list[int | None]:
    def build() -> list[int | None]:
        count = reader.doc_count_all()
        raw = _length_bytes(reader, fieldname)
        if raw is None:
            return [reader.doc_field_length(d, fieldname, 1) for d in range(count)]
        if raw is _NO_COLUMN:
            return [1] * count
        table = [None, *map(byte_to_length, range(1, 256))]
        return [table[b] for b in raw[:count]] + [None] * (count - len(raw))

    return index.cached(("lengths", id(reader), fieldname), reader, build)


def date_keys(index: Any, reader: Any) -> list[int]:
    """Date sort key per document of a segment: ``date_sort``, undated last."""

    def build() -> list[int]:
        column = reader.column_reader("date_sort")
        return [column[d] or UNDATED for d in range(reader.doc_count_all())]

    return index.cached(("dates", id(reader)), reader, build)


def stored_fields(reader: Any, docnum: int) -> dict:
    """``reader.stored_fields(docnum)`` without its check of every key against the schema,
    which drops fields a schema has lost since: this index is rebuilt whenever its
    schema changes. Each search reads 20 and more."""
    segment_reader, segment_docnum = reader, docnum
    if hasattr(reader, "_segment_and_docnum"):  # a MultiReader over several segments
        number, segment_docnum = reader._segment_and_docnum(docnum)
        segment_reader = reader.readers[number]
    perdoc = getattr(segment_reader, "_perdoc", None)
    if perdoc is None or segment_reader.is_closed:
        return reader.stored_fields(docnum)
    return perdoc.stored_fields(segment_docnum)


# --- matching -----------------------------------------------------------------------------


class _Postings:
    """One term's postings in one segment (or the part read): parallel lists by document."""

    __slots__ = ("_by_doc", "_by_weight", "ids", "values", "weights")

    def __init__(self, ids: list[int], weights: list[float], values: list[Any] | None) -> None:
        self.ids = ids
        self.weights = weights
        self.values = values
        self._by_doc: dict[int, Any] | None = None
        self._by_weight: dict[int, float] | None = None

    def by_doc(self) -> dict[int, Any]:
        """docnum -> value (built once; not to be changed)."""
        if self._by_doc is None:
            self._by_doc = dict(zip(self.ids, self.values or (), strict=True))
        return self._by_doc

    def by_weight(self) -> dict[int, float]:
        """docnum -> weight (built once; not to be changed)."""
        if self._by_weight is None:
            self._by_weight = dict(zip(self.ids, self.weights, strict=True))
        return self._by_weight


class _DeferredSpanNear2Matcher(SpanNear2.SpanNear2Matcher):
    """Whoosh's phrase matcher without the work its constructor does up front.

    SpanNear2Matcher builds the AND of its words and walks to the first
    document where they stand in a row as soon as it is made, which reads
    and decodes postings the bulk evaluation never uses (for a phrase of
    common words, more than the evaluation itself). Here that happens when
    ``child`` is first used, that is when Whoosh walks the matcher itself.
    """

    def __init__(self, ms: list[Any], slop: int = 1, ordered: bool = True, mindist: int = 1):
        self.ms = ms
        self.slop = slop
        self.ordered = ordered
        self.mindist = mindist
        self.boost = 1.0
        self._spans = None
        self._child: Any = None

    @property
    def child(self) -> Any:
        if self._child is None:  # what SpanNear2Matcher.__init__ would have done
            self._child = make_binary_tree(binary.IntersectionMatcher, self.ms)
            if self._child.is_active():
                self._find_next()
        return self._child

    @child.setter
    def child(self, value: Any) -> None:
        self._child = value


class _DeferredSpanNear2(SpanNear2):
    SpanNear2Matcher = _DeferredSpanNear2Matcher


class Phrase(wq.Phrase):
    """A phrase query whose matcher defers its set-up (see _DeferredSpanNear2Matcher)."""

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        # whoosh.query.Phrase.matcher, with the deferred SpanNear2.
        fieldname = self.fieldname
        if fieldname not in searcher.schema:
            return mcore.NullMatcher()
        fieldobj = searcher.schema[fieldname]
        if not fieldobj.format or not fieldobj.format.supports("positions"):
            raise wq.QueryError(f"Phrase search: {fieldname!r} field has no positions")
        terms = []
        reader = searcher.reader()
        for word in self.words:
            try:
                word = fieldobj.to_bytes(word)
            except ValueError:
                return mcore.NullMatcher()
            if (fieldname, word) not in reader:
                return mcore.NullMatcher()
            terms.append(wq.Term(fieldname, word))
        m = _DeferredSpanNear2(terms, slop=self.slop, ordered=True, mindist=1).matcher(
            searcher, context
        )
        if self.boost != 1.0:
            m = wrappers.WrappingMatcher(m, boost=self.boost)
        return m


class _And:
    """An AND node as make_binary_tree(IntersectionMatcher, ms) would place it, unread."""

    __slots__ = ("a", "b")

    def __init__(self, a: Any, b: Any) -> None:
        self.a, self.b = a, b


def _and_tree(ms: list[Any]) -> Any:
    if len(ms) == 1:
        return ms[0]
    half = len(ms) // 2
    return _And(_and_tree(ms[:half]), _and_tree(ms[half:]))


_PHRASE_MATCHERS = (SpanNear2.SpanNear2Matcher, _DeferredSpanNear2Matcher)


def _phrase_leaf(m: Any) -> Any:
    """The postings matcher under one word of a phrase, if its positions can be read."""
    if type(m) is wrappers.FilterMatcher:  # deleted documents: filtered by the phrase's AND
        m = m.child
    if type(m) is W3LeafMatcher:
        return m if m.format.supports("positions") else None
    if (
        type(m) is mcore.ListMatcher
        and m._format is not None
        and m._values
        and m._format.supports("positions")
        and all(isinstance(v, bytes) for v in m._values)
    ):
        return m
    return None


def _is_leaf(m: Any) -> bool:
    return type(m) is W3LeafMatcher or type(m) is mcore.ListMatcher


def _supported(m: Any, scored: bool) -> bool:
    """Whether every node of a matcher tree is one :class:`_Bulk` evaluates exactly."""
    kind = type(m)
    if kind is binary.UnionMatcher or kind is binary.IntersectionMatcher:
        return _supported(m.a, scored) and _supported(m.b, scored)
    if kind is AndNotMatcher:
        return _supported(m.a, scored) and _supported(m.b, False)
    if kind is wrappers.WrappingMatcher or kind is wrappers.FilterMatcher or kind is InRowMatcher:
        return _supported(m.child, scored)
    if kind is wrappers.ConstantScoreWrapperMatcher:
        return _supported(m.child, False)
    if kind in _PHRASE_MATCHERS:
        # Its AND is make_binary_tree(IntersectionMatcher, ms): evaluated as _and_tree(ms).
        return (
            m.slop == 1
            and m.ordered
            and m.mindist == 1
            and bool(m.ms)
            and all(_phrase_leaf(x) is not None for x in m.ms)
            and all(_supported(x, scored) for x in m.ms)
        )
    if kind is W3LeafMatcher:
        return not scored or type(m.scorer) in _LEAF_SCORERS
    if kind is mcore.ListMatcher:
        return not scored or m._scorer is None or type(m._scorer) in _LEAF_SCORERS
    return kind is mcore.NullMatcherClass


class _Bulk:
    """Evaluates supported matcher trees (see :func:`_supported`) one segment at a time.

    :meth:`scores` gives ``{docnum: score}`` with the score Whoosh's matcher
    would give, :meth:`ids` the set of matching documents. ``within``, when
    given, says only those documents matter (the caller intersects): an AND
    reads its rarer side first and the other side only where the first
    matched, skipping posting blocks that hold none of those documents, as
    Whoosh's own ``skip_to`` does.
    """

    def __init__(self, index: SearchIndex, deadline: float) -> None:
        self.index = index
        self.deadline = deadline
        self.segment = 0
        self.reader: Any = None
        self._read: dict[int, tuple[Any, _Postings]] = {}

    def start(self, segment: int, reader: Any) -> None:
        self.segment, self.reader = segment, reader
        self._read = {}

    def check(self) -> None:
        if perf_counter() >= self.deadline:
            raise OutOfTime

    # -- whole trees, the way Whoosh's collectors walk them

    def run_scores(self, m: Any) -> dict[int, float]:
        found: dict[int, float] = {}
        count = 0
        while m.is_active():
            found[m.id()] = m.score()
            m.next()
            count += 1
            if count % CHECK_EVERY == 0:
                self.check()
        return found

    def run_ids(self, m: Any) -> set[int]:
        found: set[int] = set()
        count = 0
        while m.is_active():
            found.add(m.id())
            m.next()
            count += 1
            if count % CHECK_EVERY == 0:
                self.check()
        return found

    # -- node by node

    def scores(self, m: Any, within: Collection[int] | None = None) -> dict[int, float]:
        kind = type(m)
        if kind is binary.UnionMatcher:
            a, b = self.scores(m.a, within), self.scores(m.b, within)
            if not a or not b:
                return a or b
            merged = a | b
            for d in a.keys() & b.keys():
                merged[d] = a[d] + b[d]
            return merged
        if kind is binary.IntersectionMatcher or kind is _And:
            # a.score() + b.score(): the same float whichever is added to which.
            rare, common = self._by_size(m)
            if within is None and _is_leaf(rare) and _is_leaf(common):
                return self._two_words(rare, common)
            first = self.scores(rare, within)
            if not first:
                return {}
            second = self.scores(common, first.keys())
            return {d: s + second[d] for d, s in first.items() if d in second}
        if kind is AndNotMatcher:
            a = self.scores(m.a, within)
            if not a:
                return {}
            b = self.ids(m.b, a.keys())
            return {d: s for d, s in a.items() if d not in b}
        if kind is wrappers.WrappingMatcher:
            return _boosted(self.scores(m.child, within), m.boost)
        if kind is wrappers.FilterMatcher:
            child, ids = self.scores(m.child, within), m._ids
            if m._exclude:
                kept = {d: s for d, s in child.items() if d not in ids}
            else:
                kept = {d: s for d, s in child.items() if d in ids}
            return _boosted(kept, m.boost)
        if kind is wrappers.ConstantScoreWrapperMatcher:
            return dict.fromkeys(self.ids(m.child, within), m._score)
        if kind is InRowMatcher:
            child = self._in_row(m, self.scores(m.child, within))
            return _boosted(child, m.boost)
        if kind in _PHRASE_MATCHERS:
            # Scored as its AND, make_binary_tree(IntersectionMatcher, ms), where it matched.
            kept = self._phrase(m, within)
            child = self.scores(_and_tree(m.ms), kept) if kept else {}
            return _boosted({d: child[d] for d in kept}, m.boost)
        if kind is W3LeafMatcher or kind is mcore.ListMatcher:
            return self._leaf_scores(m, within)
        return {}  # NullMatcher

    def ids(self, m: Any, within: Collection[int] | None = None) -> set[int]:
        kind = type(m)
        if kind is binary.UnionMatcher:
            return self.ids(m.a, within) | self.ids(m.b, within)
        if kind is binary.IntersectionMatcher or kind is _And:
            rare, common = self._by_size(m)
            first = self.ids(rare, within)
            return first & self.ids(common, first) if first else set()
        if kind is AndNotMatcher:
            a = self.ids(m.a, within)
            return a - self.ids(m.b, a) if a else set()
        if kind is wrappers.WrappingMatcher or kind is wrappers.ConstantScoreWrapperMatcher:
            return self.ids(m.child, within)
        if kind is wrappers.FilterMatcher:
            child = self.ids(m.child, within)
            return child.difference(m._ids) if m._exclude else child.intersection(m._ids)
        if kind is InRowMatcher:
            return set(self._in_row(m, dict.fromkeys(self.ids(m.child, within))))
        if kind in _PHRASE_MATCHERS:
            return set(self._phrase(m, within))
        if kind is W3LeafMatcher or kind is mcore.ListMatcher:
            return set(self._read_postings(m, within).ids)
        return set()  # NullMatcher

    def _in_row(self, m: Any, found: dict[int, Any]) -> dict[int, Any]:
        """The entries of ``found`` whose documents pass an InRowMatcher's check."""
        kept = {}
        check = m.check
        for count, (d, value) in enumerate(found.items(), start=1):
            if count % CHECK_EVERY == 0:
                self.check()
            if check(d):
                kept[d] = value
        return kept

    def _by_size(self, m: Any) -> tuple[Any, Any]:
        if self._estimate(m.b) < self._estimate(m.a):
            return m.b, m.a
        return m.a, m.b

    def _estimate(self, m: Any) -> int:
        """Documents a matcher may match, at most (deleted ones included)."""
        kind = type(m)
        if kind is W3LeafMatcher:
            return self.reader.doc_frequency(*m._term)
        if kind is mcore.ListMatcher:
            return len(m._ids)
        if kind is binary.UnionMatcher:
            return self._estimate(m.a) + self._estimate(m.b)
        if kind is binary.IntersectionMatcher or kind is _And:
            return min(self._estimate(m.a), self._estimate(m.b))
        if kind is AndNotMatcher:
            return self._estimate(m.a)
        if kind is mcore.NullMatcherClass:
            return 0
        if kind in _PHRASE_MATCHERS:
            return self._estimate(_and_tree(m.ms))
        return self._estimate(m.child)  # wrappers

    # -- leaves

    def _read_postings(self, m: Any, within: Collection[int] | None = None) -> _Postings:
        held = self._read.get(id(m))
        if held is not None:
            return held[1]
        if type(m) is W3LeafMatcher:
            wanted = None
            if within is not None and len(within) * 4 < self._estimate(m):
                wanted = sorted(within)
            postings = self._read_blocks(m, wanted)
        else:  # ListMatcher: inlined postings, or a synthetic list (filters, everything)
            ids = list(m._ids)
            # The weight ListMatcher.weight() gives (an all_weights of 0.0 counts as unset).
            if m._all_weights:
                weights = [m._all_weights] * len(ids)
            elif m._weights:
                weights = list(m._weights)
            else:
                weights = [1.0] * len(ids)
            postings = _Postings(ids, weights, list(m._values) if m._values else None)
        self._read[id(m)] = (m, postings)
        return postings

    def _read_blocks(self, m: Any, wanted: list[int] | None) -> _Postings:
        """A W3 posting list, block by block; only blocks holding ``wanted`` documents if given."""
        ids: list[int] = []
        weights: list[float] = []
        # Only positions are ever read from values (phrases, highlights): a
        # text field's values (its frequencies again) are left in the block.
        values: list[Any] | None = [] if m.format.supports("positions") else None
        m.reset()
        i = 0
        while m.is_active():
            if wanted is not None:
                if i >= len(wanted):
                    break
                k = bisect_right(wanted, m._maxid, i)
                if k == i:  # no wanted document in this block: its header is enough
                    m._next_block()
                    continue
            if m._data is None:
                m._read_data()
            # W3LeafMatcher._read_ids, with the deltas summed in C.
            block_ids = m._data[0] if m._byteids else list(accumulate(m._data[0]))
            m._read_weights()
            if values is not None:
                m._read_values()
            if wanted is None:
                ids.extend(block_ids)
                weights.extend(m._weights)
                if values is not None:
                    values.extend(m._values)
            else:
                block_weights, block_values = m._weights, m._values
                for d in wanted[i:k]:
                    j = bisect_left(block_ids, d)
                    if j < len(block_ids) and block_ids[j] == d:
                        ids.append(d)
                        weights.append(block_weights[j])
                        if values is not None:
                            values.append(block_values[j])
                i = k
            m._next_block()
            if perf_counter() >= self.deadline:
                raise OutOfTime
        return _Postings(ids, weights, values)

    def _leaf_scores(self, m: Any, within: Collection[int] | None) -> dict[int, float]:
        postings = self._read_postings(m, within)
        if self._bm25(m) is None:
            return postings.by_weight()
        pairs: Iterable[tuple[int, float]] = zip(postings.ids, postings.weights, strict=True)
        if within is not None and len(within) * 2 < len(postings.ids):
            weight = postings.by_weight()
            pairs = [(d, weight[d]) for d in within if d in weight]
        return self._scored(m, pairs)

    def _bm25(self, m: Any) -> tuple[float, float, list[float | None]] | None:
        """``(idf, K1 + 1, length norm per document)`` of a BM25F leaf; None if a leaf's
        score is its weight."""
        scorer = m.scorer if type(m) is W3LeafMatcher else m._scorer
        if scorer is None or type(scorer) is scoring.WeightScorer:
            return None
        norms = length_norms(self.index, self.reader, m.term()[0], scorer)
        return scorer.idf, scorer.K1 + 1, norms

    def _scored(self, m: Any, pairs: Iterable[tuple[int, float]]) -> dict[int, float]:
        """``{docnum: score}`` for ``(docnum, weight)`` pairs of the leaf ``m``."""
        bm25 = self._bm25(m)
        if bm25 is None:
            return dict(pairs)
        # BM25FScorer: bm25(idf, tf, fl, avgfl, B, K1) term for term, with the part
        # that depends only on the field length computed once per length (and the
        # same sum, in the same order, in top_leaf's loop).
        idf, k1p1, norms = bm25
        return {d: idf * ((w * k1p1) / (w + norms[d])) for d, w in pairs}

    def _two_words(self, rare: Any, common: Any) -> dict[int, float]:
        """Scores of the AND of two leaves, ``rare`` read first: only the documents both
        hold are scored (a common word's other thousands are only looked up)."""
        first = self._read_postings(rare)
        second = self._read_postings(common, first.ids).by_weight()
        both = [(d, w) for d, w in zip(first.ids, first.weights, strict=True) if d in second]
        a = self._scored(rare, both)
        b = self._scored(common, [(d, second[d]) for d in a])
        return {d: x + b[d] for d, x in a.items()}

    # -- one word: the best k straight from its postings

    @staticmethod
    def is_scored_leaf(m: Any) -> bool:
        """A lone BM25F posting list (a query of one word in one field)."""
        return type(m) is W3LeafMatcher and type(m.scorer) is scoring.BM25FScorer

    def top_leaf(self, m: Any, offset: int, top: list[tuple[float, int]], k: int) -> list[int]:
        """Every document of the leaf ``m`` (numbered from ``offset``); its scores go
        into ``top``, a heap of the best ``k`` ``(score, -docnum)`` so far.

        A common word matches thousands of passages, for 20 shown: scored block by
        block into the heap, no ``{docnum: score}`` of them all is built, ranked
        and thrown away. (Block-max pruning was tried: on this archive's passages
        a block's largest weight and shortest length bound nearly every block
        above the 20th best score, so it skipped nothing.)
        """
        scorer = m.scorer
        norms = length_norms(self.index, self.reader, m.term()[0], scorer)
        idf, k1p1 = scorer.idf, scorer.K1 + 1
        kth = top[0][0] if len(top) >= k else float("-inf")
        docs: list[int] = []
        m.reset()
        while m.is_active():
            if m._data is None:
                m._read_data()
            block_ids = m._data[0] if m._byteids else list(accumulate(m._data[0]))
            docs.extend(block_ids)
            m._read_weights()
            for d, w in zip(block_ids, m._weights, strict=True):
                score = idf * ((w * k1p1) / (w + norms[d]))  # as _scored computes it
                # Documents come in docnum order: one scoring the same as the k-th
                # comes after it, and a tie goes to the lower docnum.
                if score <= kth:
                    continue
                if len(top) < k:
                    heapq.heappush(top, (score, -(d + offset)))
                else:
                    heapq.heapreplace(top, (score, -(d + offset)))
                if len(top) >= k:
                    kth = top[0][0]
            m._next_block()
            if perf_counter() >= self.deadline:
                raise OutOfTime
        return [d + offset for d in docs] if offset else docs

    # -- phrases

    def _phrase(self, m: Any, within: Collection[int] | None) -> Collection[int]:
        """Documents where the phrase's words stand in a row (word ``i`` at ``p + i``).

        The words but the most frequent are intersected first (rarest first,
        each read only where the others matched) and their positions checked;
        the most frequent word, whose postings cost the most to read, is then
        read only in the documents still left, and checked last.
        """
        ms = m.ms
        leaves = [_phrase_leaf(x) for x in ms]
        fmt = leaves[0].format if type(leaves[0]) is W3LeafMatcher else leaves[0]._format
        decode = _positions_decoder(fmt)
        *rare, common = sorted(range(len(ms)), key=lambda i: self._estimate(ms[i]))
        docs: Collection[int] | None = within
        for i in rare:
            found = self.ids(ms[i], docs)
            docs = found if docs is None else found.intersection(docs)
            if not docs:
                return ()
        starts = None
        if len(rare) > 1:
            starts = self._starts(docs, rare, leaves, decode, None)
            docs = starts.keys()
        found = self.ids(ms[common], docs)
        docs = found if docs is None else found.intersection(docs)
        last = [common] if starts is not None else [*rare, common]
        return self._starts(docs, last, leaves, decode, starts).keys()

    def _starts(
        self,
        docs: Iterable[int],
        words: list[int],
        leaves: list[Any],
        decode: Any,
        starts: dict[int, set[int]] | None,
    ) -> dict[int, set[int]]:
        """For each document, the ``p`` with word ``i`` at ``p + i`` for every word in ``words``
        (and among ``starts``, if given); documents with none are left out."""
        lookups = [((-i).__add__, self._read_postings(leaves[i]).by_doc()) for i in words]
        kept: dict[int, set[int]] = {}
        for count, d in enumerate(docs, start=1):
            if count % CHECK_EVERY == 0:
                self.check()
            found = None if starts is None else starts[d]
            for shift, values in lookups:
                shifted = map(shift, decode(values[d]))
                found = set(shifted) if found is None else found.intersection(shifted)
                if not found:
                    break
            else:
                kept[d] = found
        return kept


def _positions_decoder(fmt: Any) -> Any:
    """A function from a posting value to its word positions, as ``fmt`` decodes them.

    Positions and Characters values are a 4-byte count and a pickled list of
    per-occurrence steps from the previous position (for Characters, the
    first item of a tuple); those are summed in C here. Whoosh appends the
    pickle's STOP when a value lacks it, so a value that does not load as it
    is goes through Whoosh's own decoder, as does any other format.
    """
    slow = fmt.decoder("positions")
    if type(fmt) is formats.Characters:
        first = itemgetter(0)

        def decode(value: bytes) -> Any:
            try:
                codes = loads(value[4:])  # noqa: S301 - the index's own postings, as Whoosh reads them
            except Exception:
                return slow(value)
            return accumulate(map(first, codes))

        return decode
    if type(fmt) is formats.Positions:

        def decode(value: bytes) -> Any:
            try:
                codes = loads(value[4:])  # noqa: S301 - the index's own postings, as Whoosh reads them
            except Exception:
                return slow(value)
            return accumulate(codes)

        return decode
    return slow


def _boosted(scores: dict[int, float], boost: float) -> dict[int, float]:
    # WrappingMatcher.score() is child score * boost; * 1.0 changes no float.
    if boost == 1.0:
        return scores
    return {d: s * boost for d, s in scores.items()}


def _rank_key(item: tuple[float, int]) -> tuple[float, int]:
    return 0 - item[0], item[1]  # UnlimitedCollector's order: best first, then docnum


def match(
    index: SearchIndex,
    searcher: Any,
    query: wq.Query,
    collector: Any,
    order: str,
    first: int,
    end: int | None,
    deadline: float,
) -> tuple[list[int], list[tuple[Any, int]], bool]:
    """Every match of ``query`` and the page ``[first, end)``, as :func:`.match.match` gives
    (``end`` None, by relevance: every match with its score, in no order).

    ``collector`` is Whoosh's collector for ``order``, prepared: its context
    builds the matchers, so the trees are the ones it would walk.
    """
    context = collector.context
    bulk = _Bulk(index, deadline)
    scores: dict[int, float] = {}
    top: list[tuple[float, int]] = []  # from words scored block by block (_Bulk.top_leaf)
    keyed: list[tuple[int, int]] = []
    docs: list[int] = []
    timed_out = False
    token = DEADLINE.set(deadline)
    try:
        for segment, (sub, offset) in enumerate(searcher.leaf_searchers()):
            bulk.check()
            bulk.start(segment, sub.reader())
            m = query.matcher(sub, context)
            if order == "relevance" and end is not None and bulk.is_scored_leaf(m):
                CALLS["top_leaf"] += 1
                docs.extend(bulk.top_leaf(m, offset, top, end))
                continue
            if order == "relevance":
                if _supported(m, True):
                    CALLS["scores"] += 1
                    found = bulk.scores(m)
                else:
                    CALLS["walked"] += 1
                    found = bulk.run_scores(m)
                scores.update({d + offset: s for d, s in found.items()} if offset else found)
                continue
            if _supported(m, False):
                CALLS["ids"] += 1
                ids = sorted(bulk.ids(m))
            else:
                CALLS["walked"] += 1
                ids = sorted(bulk.run_ids(m))
            if order == "date":
                dates = date_keys(index, sub.reader())
                keyed.extend((dates[d], d + offset) for d in ids)
            docs.extend([d + offset for d in ids] if offset else ids)
    except OutOfTime:
        timed_out = True
    finally:
        DEADLINE.reset(token)
    if order == "relevance" and end is None:  # every match, unordered (see .match)
        docs.extend(scores)
        return docs, [(s, d) for d, s in scores.items()], timed_out
    if order == "relevance":
        docs.extend(scores)
        if end >= len(scores):
            ranked = sorted(((s, d) for d, s in scores.items()), key=_rank_key)
        else:
            floor = heapq.nlargest(end, scores.values())[-1]
            ranked = sorted(((s, d) for d, s in scores.items() if s >= floor), key=_rank_key)
        if top:
            ranked = sorted([*ranked, *((s, -d) for s, d in top)], key=_rank_key)
        page: list[tuple[Any, int]] = ranked[first:end]
    elif order == "date":
        page = heapq.nsmallest(end, keyed)[first:end]
    else:
        page = [(None, d) for d in docs[first:end]]
    return docs, page, timed_out
