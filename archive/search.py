"""Search the passage index: safe queries, a time limit, highlights, facets, citations.

:func:`search` is the one entry point the CLI and the web app call. The query
text is read by :mod:`archive.query` (never by Whoosh's own parser), turned
into Whoosh queries here with each word analyzed once per language field, and
matched and scored in bulk (see "matching and scoring" below) with the same
results as Whoosh's own collectors, under a time limit. Everything a
result shows comes from the index it was given; the public index never holds
restricted testimonies or redacted words, so neither can any hit, snippet,
facet or "did you mean" made from it.

Decisions worth knowing:

* **Time limit.** Matching stops after :data:`TIME_LIMIT` seconds; the
  result then holds what was found so far and says ``timed_out: true`` (a
  partial answer is more useful to a reader than an error, and the flag lets
  the page say so). Everything else a query can cost is bounded up front:
  prefix and typo expansions are capped, and the parser caps length, terms
  and nesting.
* **Highlights** are cut from the stored passage text at the character
  offsets kept with its terms at index time (so a stemmed match such as
  "escaped" for "escape" is marked exactly); if a passage has none, the
  stored text is re-analyzed with the field's own analyzer. Snippets are
  HTML-escaped text of the stored passage with ``<mark>`` tags: nothing else
  is ever added.
* **Anchors.** Each hit carries a quote anchor over its matched words, in
  offsets of the testimony's public text, and a URL that lands on them.
* **Totals are exact.** Every match is found and scored (facets count the
  whole result set), but only the page's hits are highlighted. "a -b" drops
  every passage with b: Whoosh's own AND NOT let the first candidate through
  unchecked when b's postings start earlier (see :class:`_AndNotMatcher`).
"""

from __future__ import annotations

import heapq
import html
import threading
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from itertools import accumulate, compress, islice
from operator import itemgetter
from pathlib import Path
from pickle import loads
from time import perf_counter
from typing import Any

from rapidfuzz.distance import OSA
from whoosh import formats, scoring, sorting
from whoosh import query as wq
from whoosh.codec.base import Automata
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.matching import binary, mcore, wrappers
from whoosh.query.spans import SpanNear2
from whoosh.util import make_binary_tree
from whoosh.util.numeric import byte_to_length

from . import query as q
from .analysis import fold
from .anchors import CONTEXT_CHARS, Anchor, make_anchor
from .errors import AnchorError, IndexError_, QueryError
from .fields import (
    TERM_OFFSETS,
    TERMS,
    TEXT_FIELDS,
    pair_terms,
    pairs_field,
    text_field,
    unpack_offsets,
    unpack_terms,
)
from .model import PASSAGE_SEPARATOR
from .urls import testimony_url

__all__ = [
    "FACETS",
    "MAX_PER_PAGE",
    "SORTS",
    "TIME_LIMIT",
    "Group",
    "Hit",
    "SearchIndex",
    "SearchResults",
    "check_quote",
    "open_search_index",
    "search",
]

#: Seconds a search may spend collecting matches before it returns what it has.
TIME_LIMIT = 1.0
MAX_PER_PAGE = 100
SORTS = ("relevance", "date")
#: Facet name (in results and in ``filters``) -> index field.
FACETS = {"theme": "theme_tree", "language": "language", "place": "place_facet", "decade": "decade"}
#: Values listed per facet, most frequent first.
FACET_LIMIT = 50
MAX_FILTER_VALUES = 20

#: Words also match these testimony-level fields, with less weight than the
#: passage text: a title word says little about which passage to read.
META_BOOSTS = {"title": 0.2, "narrator": 0.2, "place": 0.1}
#: Passages are short (a paragraph), so length normalisation is softened: a
#: long paragraph is not less about its words than a one-line answer.
WEIGHTING = scoring.BM25F(B=0.5, K1=1.2)

SNIPPET_CHARS = 240
_SNIPPET_LEAD = 60  # context kept before the first mark when the passage is cut
_MAX_ANCHOR_CHARS = 200
PREFIX_EXPANSIONS = 64  # words a prefix may stand for, most frequent first
_PREFIX_SCAN = 5000  # lexicon entries looked at for one prefix
TYPO_CANDIDATES = 5
_MIN_TYPO_CHARS = 5  # shorter words are never corrected silently...
_MIN_SUGGEST_CHARS = 4  # ...but may get a "did you mean"
_MAX_TYPO_CHARS = 32
_TYPO_BOOST = 0.8


# --- the opened index -------------------------------------------------------------


class SearchIndex:
    """An opened index and what is worth keeping between searches.

    Keep one per process (the web app keeps it with its loaded archive) so
    that the facet tables are built once; :func:`search` also accepts a plain
    path and then opens and closes the index around the one search. A newer
    generation swapped in by ``archive index`` is picked up by the next
    search. Searches on one object are serialised: a Whoosh searcher is not
    meant to be used by two threads at once.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._handle = _open(self.path)
        self._searcher: Any = None
        self._facets: dict[str, list[tuple[str, ...]]] = {}
        # Per index version: what scoring, date sorting and facet counting read
        # for every document (_length_norms, _date_keys, _facet_rows).
        self._columns: dict[Any, Any] = {}
        self._lock = threading.RLock()

    @contextmanager
    def searching(self) -> Iterator[Any]:
        """The current searcher, reopened if the index changed, held for one search."""
        with self._lock:
            if self._handle.is_stale():
                fresh = _open(self.path)
                self._close_handle()
                self._handle = fresh
            if self._searcher is None:
                self._searcher = self._handle.searcher(weighting=WEIGHTING)
            _fresh_lookups(self._searcher)
            yield self._searcher

    def facet_values(self, searcher: Any, fieldname: str) -> list[tuple[str, ...]]:
        """Values of an indexed field per document number (built once per index version)."""
        table = self._facets.get(fieldname)
        if table is None:
            reader = searcher.reader()
            table = [()] * reader.doc_count_all()
            if fieldname in searcher.schema:
                from_bytes = searcher.schema[fieldname].from_bytes
                for btext in reader.lexicon(fieldname):
                    value = (from_bytes(btext),)
                    for docnum in reader.postings(fieldname, btext).all_ids():
                        table[docnum] += value
            self._facets[fieldname] = table
        return table

    def _facet_rows(self, searcher: Any) -> tuple[list[int], list[tuple[tuple[int, str], ...]]]:
        """Per document, the number of its facet row: its values of every facet in FACETS,
        as ``(facet's place in FACETS, value)`` pairs."""
        held = self._columns.get("facet rows")
        if held is None:
            tables = [self.facet_values(searcher, fieldname) for fieldname in FACETS.values()]
            numbers: dict[tuple[tuple[int, str], ...], int] = {}
            row_of = [
                numbers.setdefault(
                    tuple((i, value) for i, values in enumerate(row) for value in values),
                    len(numbers),
                )
                for row in zip(*tables, strict=True)
            ]
            held = self._columns["facet rows"] = (row_of, list(numbers))
        return held

    def term_columns(self, searcher: Any) -> tuple[Any, Any]:
        """Readers of the two terms columns (each passage's words, and where they stand in
        its text), opened once per index version: highlighting reads 20 rows of each."""
        reader = searcher.reader()
        held = self._columns.get("term columns")
        if held is None or held[0] is not reader:
            columns = tuple(
                reader.column_reader(name, translate=False) for name in (TERMS, TERM_OFFSETS)
            )
            held = self._columns["term columns"] = (reader, columns)
        return held[1]

    def _length_norms(self, reader: Any, fieldname: str, scorer: Any) -> list[float | None]:
        """BM25F's length part, ``K1 * ((1 - B) + B * length / avgfl)``, per document of a segment.

        Computed as :func:`whoosh.scoring.bm25` computes it, from the lengths
        ``reader.doc_field_length(docnum, fieldname, 1)`` gives (``None`` where
        Whoosh has no length), once per index version.
        """
        k1, b, avgfl = scorer.K1, scorer.B, scorer.avgfl
        key = ("norms", id(reader), fieldname, k1, b, avgfl)
        held = self._columns.get(key)
        if held is None or held[0] is not reader:
            lengths = self._field_lengths(reader, fieldname)
            table = {
                fl: None if fl is None else k1 * ((1 - b) + b * fl / avgfl) for fl in set(lengths)
            }
            held = self._columns[key] = (reader, list(map(table.__getitem__, lengths)))
        return held[1]

    def _field_lengths(self, reader: Any, fieldname: str) -> list[int | None]:
        key = ("lengths", id(reader), fieldname)
        held = self._columns.get(key)
        if held is None or held[0] is not reader:
            count = reader.doc_count_all()
            raw = _length_bytes(reader, fieldname)
            if raw is None:
                lengths = [reader.doc_field_length(d, fieldname, 1) for d in range(count)]
            elif raw is _NO_COLUMN:
                lengths = [1] * count
            else:
                table = [None, *map(byte_to_length, range(1, 256))]
                lengths = [table[b] for b in raw[:count]] + [None] * (count - len(raw))
            held = self._columns[key] = (reader, lengths)
        return held[1]

    def _date_keys(self, reader: Any) -> list[int]:
        """Date sort key per document of a segment: ``date_sort``, undated last."""
        key = ("dates", id(reader))
        held = self._columns.get(key)
        if held is None or held[0] is not reader:
            column = reader.column_reader("date_sort")
            keys = [column[d] or _UNDATED for d in range(reader.doc_count_all())]
            held = self._columns[key] = (reader, keys)
        return held[1]

    def _close_handle(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None
        self._facets = {}
        self._columns = {}
        self._handle.close()

    def close(self) -> None:
        with self._lock:
            self._close_handle()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_NO_COLUMN: Any = object()  # the segment stores no lengths for the field


def _fresh_lookups(searcher: Any) -> None:
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


def _open(path: Path) -> Any:
    from .index import open_index

    try:
        return open_index(path)
    except IndexError_:
        raise
    except (OSError, ValueError) as exc:
        raise IndexError_(
            f"no usable search index at {path} ({exc.__class__.__name__})",
            hint="build it with 'archive index'",
        ) from None


def open_search_index(path: str | Path) -> SearchIndex:
    """Open an index directory for repeated searches; close it (or use ``with``) when done."""
    return SearchIndex(path)


@contextmanager
def _opened(index: str | Path | SearchIndex) -> Iterator[SearchIndex]:
    if isinstance(index, SearchIndex):
        yield index
        return
    opened = SearchIndex(index)
    try:
        yield opened
    finally:
        opened.close()


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


# --- compiling the parsed query -------------------------------------------------------

# A highlight pattern is a sequence of term alternatives: ("escap",) marks every
# occurrence of one term, ("sent", "home") only where the terms are adjacent.
Pattern = tuple[str, ...]


@dataclass
class _Compiled:
    query: wq.Query
    scored: bool  # has words that rank passages (not only filters)
    highlights: list[dict[str, set[Pattern]]]  # one per positive word/phrase/prefix
    suggestion: dict[q.Word, str]
    notices: list[str]


class _Compiler:
    """Turns the parsed tree into Whoosh queries, one word at a time, per field."""

    def __init__(self, searcher: Any, suggest: bool = True) -> None:
        self.searcher = searcher
        self.suggest = suggest  # typo corrections and "did you mean" from the index's words
        self.reader = searcher.reader()
        self.schema = searcher.schema
        self.text_fields = [f for f in TEXT_FIELDS if f in self.schema]
        self.meta_fields = {f: b for f, b in META_BOOSTS.items() if f in self.schema}
        self.highlights: list[dict[str, set[Pattern]]] = []
        self.suggestion: dict[q.Word, str] = {}
        self.notices: list[str] = []
        self.scored = False
        self._terms: dict[tuple[str, str], list[str]] = {}

    # -- helpers

    def terms(self, fieldname: str, text: str) -> list[str]:
        key = (fieldname, text)
        found = self._terms.get(key)
        if found is None:
            found = list(self.schema[fieldname].process_text(text, mode="query"))
            self._terms[key] = found
        return found

    def exists(self, fieldname: str, terms: Iterable[str]) -> bool:
        return all(self.reader.doc_frequency(fieldname, t) > 0 for t in terms)

    @staticmethod
    def _sequence(fieldname: str, terms: list[str], boost: float = 1.0) -> wq.Query:
        """Terms in a row in a field that keeps positions (title, narrator, place)."""
        if len(terms) == 1:
            return wq.Term(fieldname, terms[0], boost=boost)
        return _Phrase(fieldname, terms, boost=boost)

    @staticmethod
    def _text_sequence(fieldname: str, terms: list[str], boost: float = 1.0) -> wq.Query:
        """Terms in a row in passage text (see archive.fields).

        A phrase is its word pairs: for two words the pair is the phrase
        itself, scored by how often the phrase occurs (where Whoosh would
        score its words one by one); past two words the passages holding
        every pair are checked against their terms column.
        """
        if len(terms) == 1:
            return wq.Term(fieldname, terms[0], boost=boost)
        pairs = [wq.Term(pairs_field(fieldname), p) for p in pair_terms(terms)]
        if len(pairs) == 1:
            return pairs[0].with_boost(boost)
        return _InRow(wq.And(pairs), terms, boost=boost)

    # -- nodes

    def compile(self, node: q.Node, negative: bool = False) -> wq.Query:
        if isinstance(node, q.And):
            return self._and(node, negative)
        if isinstance(node, q.Or):
            return wq.Or([self.compile(c, negative) for c in node.children])
        if isinstance(node, q.Not):
            return wq.Not(self.compile(node.child, not negative))
        if isinstance(node, q.Word):
            return self._word(node, negative)
        if isinstance(node, q.Phrase):
            return self._phrase(node.text, negative)
        if isinstance(node, q.Prefix):
            return self._prefix(node, negative)
        if isinstance(node, q.DateRange):
            # Undated passages are stored with 0: an open start must not reach them.
            low = node.low if node.low is not None else 1
            return wq.NumericRange("date_sort", low, node.high, constantscore=True)
        if isinstance(node, q.Filter):
            return self._filter(node)
        raise TypeError(node)  # pragma: no cover - the parser makes only the nodes above

    def _and(self, node: q.And, negative: bool) -> wq.Query:
        positives = [c for c in node.children if not isinstance(c, q.Not)]
        negatives = [c.child for c in node.children if isinstance(c, q.Not)]
        compiled = [self.compile(c, negative) for c in positives]
        base: wq.Query = wq.And(compiled) if compiled else wq.Every()
        if not negatives:
            return base
        return _AndNot(base, wq.Or([self.compile(c, not negative) for c in negatives]))

    def _word(self, node: q.Word, negative: bool) -> wq.Query:
        parts: list[wq.Query] = []
        marks: dict[str, set[Pattern]] = {}
        for f in self.text_fields:
            terms = self.terms(f, node.text)
            if terms and self.exists(f, terms):
                parts.append(self._text_sequence(f, terms))
                marks.setdefault(f, set()).add(tuple(terms))
        for f, boost in self.meta_fields.items():
            terms = self.terms(f, node.text)
            if terms and self.exists(f, terms):
                parts.append(self._sequence(f, terms, boost))
        if not any(self.terms(f, node.text) for f in self.text_fields):
            return wq.NullQuery  # punctuation only, cannot match anything
        if not parts and not negative and self.suggest:
            parts = self._typo(node, marks)
        if not negative:
            self.scored = True
            if marks:
                self.highlights.append(marks)
        return wq.Or(parts) if parts else wq.NullQuery

    def _phrase(self, text: str, negative: bool) -> wq.Query:
        parts: list[wq.Query] = []
        marks: dict[str, set[Pattern]] = {}
        for f in self.text_fields:
            terms = self.terms(f, text)
            if terms and self.exists(f, terms):
                parts.append(self._text_sequence(f, terms))
                marks.setdefault(f, set()).add(tuple(terms))
        for f, boost in self.meta_fields.items():
            terms = self.terms(f, text)
            if terms and self.exists(f, terms):
                parts.append(self._sequence(f, terms, boost))
        if not negative:
            self.scored = True
            if marks:
                self.highlights.append(marks)
        return wq.Or(parts) if parts else wq.NullQuery

    def _prefix(self, node: q.Prefix, negative: bool) -> wq.Query:
        parts: list[wq.Query] = []
        marks: dict[str, set[Pattern]] = {}
        capped = False
        for f in [*self.text_fields, *self.meta_fields]:
            terms, cut = self._expand(f, node.text)
            capped = capped or cut
            boost = self.meta_fields.get(f, 1.0)
            parts.extend(wq.Term(f, t, boost=boost) for t in terms)
            if terms and f in self.text_fields:
                marks.setdefault(f, set()).update((t,) for t in terms)
        if capped:
            self.notices.append(
                f"'{node.text}*' matches many words; only the {PREFIX_EXPANSIONS} most "
                "frequent were searched (type more letters to narrow it)"
            )
        if not negative:
            self.scored = True
            if marks:
                self.highlights.append(marks)
        return wq.Or(parts) if parts else wq.NullQuery

    def _expand(self, fieldname: str, prefix: str) -> tuple[list[str], bool]:
        """Terms of ``fieldname`` for words starting with ``prefix``.

        Prefixes are matched against the words as written (the spelling
        field, when the analyzer stems or lemmatizes), then mapped to the
        field's terms: "runni*" finds "running" although its term is "run".
        """
        fieldobj = self.schema[fieldname]
        spellname = fieldobj.spelling_fieldname(fieldname)
        if spellname not in self.schema:
            spellname = fieldname
        folded = list(self.schema[fieldname].process_text(prefix, mode="query", tokenize=False))
        start = fold(prefix) if spellname != fieldname else (folded[0] if folded else "")
        if not start:
            return [], False
        from_bytes = self.schema[spellname].from_bytes
        words = [
            (freq, from_bytes(btext))
            for btext, freq in _prefix_terms(self.reader, spellname, start, _PREFIX_SCAN)
        ]
        words.sort(key=lambda x: (-x[0], x[1]))
        capped = len(words) > PREFIX_EXPANSIONS
        chosen = [w for _, w in words[:PREFIX_EXPANSIONS]]
        if spellname == fieldname:
            return chosen, capped
        terms: list[str] = []
        for word in chosen:
            for term in self.schema[fieldname].process_text(word, mode="index"):
                if term not in terms and self.reader.doc_frequency(fieldname, term):
                    terms.append(term)
        return terms, capped

    def _typo(self, node: q.Word, marks: dict[str, set[Pattern]]) -> list[wq.Query]:
        """Words within a small edit distance of a word that matches nothing.

        1 edit for 5-7 letters, 2 for longer words; shorter words only get a
        "did you mean" (4 letters, 1 edit). Candidates come from the index's
        own words, and only those still in a live document count.
        """
        word = fold(node.text)
        if not word.isalpha() or not _MIN_SUGGEST_CHARS <= len(word) <= _MAX_TYPO_CHARS:
            return []
        maxdist = 1 if len(word) < 8 else 2
        found: dict[str, tuple[int, int, str]] = {}  # word -> (distance, -freq, field)
        for f in self.text_fields:
            fieldobj = self.schema[f]
            if not getattr(fieldobj, "spelling", False):
                continue
            spellname = fieldobj.spelling_fieldname(f)
            if spellname not in self.schema:
                continue
            for cand in _terms_within(self.reader, f, word, maxdist):
                if cand == word or cand in found:
                    continue
                freq = self._live_frequency(spellname, cand)
                if freq:
                    found[cand] = (OSA.distance(word, cand), -freq, f)
        if not found:
            return []
        ranked = sorted(found.items(), key=lambda item: (item[1][0], item[1][1], item[0]))
        self.suggestion[node] = ranked[0][0]
        if len(word) < _MIN_TYPO_CHARS:
            return []
        parts: list[wq.Query] = []
        used = []
        for cand, (_, _, f) in ranked[:TYPO_CANDIDATES]:
            terms = self.terms(f, cand)
            if terms and self.exists(f, terms):
                parts.append(self._text_sequence(f, terms, _TYPO_BOOST))
                marks.setdefault(f, set()).add(tuple(terms))
                used.append(cand)
        if used:
            self.notices.append(
                f"no passage has '{node.text}'; showing passages with "
                + ", ".join(f"'{w}'" for w in used)
            )
        return parts

    def _live_frequency(self, fieldname: str, text: str) -> int:
        """Documents still holding a word: the lexicon keeps words of deleted documents."""
        matcher = self.reader.postings(fieldname, text)
        count = 0
        while matcher.is_active() and count < 1000:
            count += 1
            matcher.next()
        return count

    def _filter(self, node: q.Filter) -> wq.Query:
        if node.name == "theme":
            return wq.ConstantScoreQuery(wq.Term("theme_tree", node.value), 0.0)
        if node.name == "lang":
            # lang:uk also matches region tags as written in files (uk-UA).
            codes = [
                t
                for t in map(bytes.decode, self.reader.lexicon("language"))
                if t.lower() == node.value or t.lower().startswith(node.value + "-")
            ]
            return wq.Or([wq.Term("language", c) for c in codes]) if codes else wq.NullQuery
        fieldname = node.name  # place, narrator: words of a text field
        terms = self.terms(fieldname, node.value) if fieldname in self.schema else []
        if not terms:
            return wq.NullQuery
        if node.phrase:
            return wq.ConstantScoreQuery(self._sequence(fieldname, terms), 0.0)
        return wq.ConstantScoreQuery(wq.And([wq.Term(fieldname, t) for t in terms]), 0.0)


def _prefix_terms(reader: Any, fieldname: str, prefix: str, limit: int) -> list[tuple[bytes, int]]:
    """The first ``limit`` terms of a field starting with ``prefix``, with their doc frequency.

    What ``reader.iter_prefix`` gives, read a segment at a time: over several
    segments Whoosh merges their term lists and looks each term up again in
    every segment. The first ``limit`` terms of the merged list are among the
    first ``limit`` of each segment, and a segment with no terms in the field
    is not looked at.
    """
    frequency: dict[bytes, int] = {}
    for sub in getattr(reader, "readers", None) or [reader]:
        if fieldname not in sub.indexed_field_names():
            continue
        for btext, info in islice(sub.iter_prefix(fieldname, prefix), limit):
            frequency[btext] = frequency.get(btext, 0) + info.doc_frequency()
    return [(btext, frequency[btext]) for btext in sorted(frequency)[:limit]]


def _terms_within(reader: Any, fieldname: str, word: str, maxdist: int) -> set[str]:
    """Spelling words of a text field within ``maxdist`` edits, first letter fixed.

    One Levenshtein automaton is built and run over each segment's word list
    (Whoosh would rebuild it per segment, and its multi-segment fallback
    computes the distance to every word sharing the first letter).
    """
    spellname = reader.schema[fieldname].spelling_fieldname(fieldname)
    dfa = Automata.levenshtein_dfa(word, maxdist, 1)
    found: set[str] = set()
    for sub in getattr(reader, "readers", None) or [reader]:
        if sub.field_length(fieldname):
            found.update(Automata.find_matches(dfa, sub.cursor(spellname)))
    return found


def _compile(parsed: q.ParsedQuery, searcher: Any, suggest: bool = True) -> _Compiled:
    compiler = _Compiler(searcher, suggest)
    if parsed.root is None:
        query: wq.Query = wq.Every()
    elif isinstance(parsed.root, q.Not):
        query = _AndNot(wq.Every(), compiler.compile(parsed.root.child, True))
    else:
        query = compiler.compile(parsed.root)
    return _Compiled(
        query.normalize(),
        compiler.scored,
        compiler.highlights,
        compiler.suggestion,
        [*parsed.notices, *compiler.notices],
    )


def _suggestion_text(parsed: q.ParsedQuery, corrections: Mapping[q.Word, str]) -> str | None:
    if not corrections:
        return None
    text = parsed.text
    for word in sorted(corrections, key=lambda w: w.start, reverse=True):
        text = text[: word.start] + corrections[word] + text[word.end :]
    return " ".join(text.split())


# --- filters and facets ----------------------------------------------------------------


def _clean_filters(filters: Mapping[str, Any] | None) -> dict[str, list[str]]:
    if not filters:
        return {}
    if not isinstance(filters, Mapping):
        raise QueryError("filters must be a mapping of facet name to values")
    cleaned: dict[str, list[str]] = {}
    for name, values in filters.items():
        if name not in FACETS:
            raise QueryError(f"unknown filter '{name}'", hint=f"filters are: {', '.join(FACETS)}")
        if values is None or values == "":
            continue
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list | tuple | set | frozenset):
            raise QueryError(f"filter '{name}' must be a value or a list of values")
        values = [v for v in values if v not in (None, "")]
        if len(values) > MAX_FILTER_VALUES:
            raise QueryError(f"filter '{name}' has more than {MAX_FILTER_VALUES} values")
        for value in values:
            if not isinstance(value, str) or len(value) > 200:
                raise QueryError(f"filter '{name}' values must be short text")
            if any(ord(c) < 32 for c in value):
                raise QueryError(f"filter '{name}' contains a control character")
        if values:
            cleaned[name] = sorted(set(values))
    return cleaned


def _filter_query(filters: dict[str, list[str]]) -> wq.Query | None:
    if not filters:
        return None
    parts = [wq.Or([wq.Term(FACETS[name], v) for v in values]) for name, values in filters.items()]
    return wq.ConstantScoreQuery(wq.And(parts).normalize(), 0.0)


def _facet_counts(index: SearchIndex, searcher: Any, docnums: Iterable[int]) -> dict:
    # Documents are counted per facet row (their values for every facet at
    # once): passages of a testimony mostly share one, so a few hundred rows
    # stand for tens of thousands of passages.
    row_of, rows = index._facet_rows(searcher)
    counts: defaultdict[tuple[int, str], int] = defaultdict(int)
    for row, n in Counter(map(row_of.__getitem__, docnums)).items():
        for key in rows[row]:
            counts[key] += n
    ranked: list[list[tuple[int, str]]] = [[] for _ in FACETS]
    for (facet, value), n in counts.items():
        ranked[facet].append((-n, value))  # most frequent first, then by value
    facets = {}
    for name, items in zip(FACETS, ranked, strict=True):
        items.sort()
        facets[name] = [(value, -n) for n, value in items[:FACET_LIMIT]]
    return facets


class _DateOrder(sorting.FacetType):
    """Oldest first by ``date_sort``; undated passages (stored as 0) last."""

    def categorizer(self, global_searcher: Any) -> sorting.Categorizer:
        return _DateCategorizer()


class _DateCategorizer(sorting.Categorizer):
    _UNDATED = 99_999_999

    def set_searcher(self, segment_searcher: Any, docoffset: int) -> None:
        self._dates = segment_searcher.reader().column_reader("date_sort")

    def key_for(self, matcher: Any, segment_docnum: int) -> int:
        return self._dates[segment_docnum] or self._UNDATED


_DATE_ORDER = _DateOrder()


# --- matching and scoring ----------------------------------------------------------------
#
# Whoosh collects matches one document at a time through a tree of matcher
# objects, which in pure Python costs microseconds per document and per node:
# most of a search over a common word went there. Here the very tree Whoosh
# builds for each segment (with the context its collector would use) is
# evaluated a node at a time instead: a term's postings are read block by
# block into lists, AND, OR and AND NOT become set and dict operations, and a
# phrase (of the title, narrator and place fields; passage text has word pairs
# instead, see _Compiler._text_sequence) is checked against word positions
# only in the passages that hold all of its words. Scores are BM25F computed with Whoosh's own arithmetic and
# added in the order the tree adds them, so totals, scores and ranks are
# exactly Whoosh's. A segment whose tree holds a matcher not known here (a
# small segment's preloaded OR, "a OR -b") is run the way Whoosh runs it.

_CHECK_EVERY = 512  # documents between two looks at the clock in a long loop
_UNDATED = _DateCategorizer._UNDATED
_LEAF_SCORERS = (scoring.BM25FScorer, scoring.WeightScorer)


class _OutOfTime(Exception):
    """The time limit passed while matching."""


#: When the running search must stop matching: set by :func:`_match` around the
#: matchers it builds, for the checks inside them (see :func:`_in_row_check`).
_DEADLINE: ContextVar[float] = ContextVar("search_deadline", default=float("inf"))


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


class _Phrase(wq.Phrase):
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


class _InRow(wq.WrappingQuery):
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
            type(other) is _InRow
            and self.child == other.child
            and (self.terms, self.boost) == (other.terms, other.boost)
        )

    def __hash__(self) -> int:
        return hash((self.child, self.terms, self.boost))

    def __repr__(self) -> str:
        return f"_InRow({self.child!r}, {self.terms!r}, boost={self.boost})"

    def _rewrap(self, child: wq.Query) -> _InRow:
        return _InRow(child, list(self.terms), self.boost)

    def with_boost(self, boost: float) -> _InRow:
        return _InRow(self.child, list(self.terms), boost)

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        m = self.child.matcher(searcher, context)
        if isinstance(m, mcore.NullMatcherClass):
            return m
        check = _in_row_check(searcher.reader(), self.terms)
        return _InRowMatcher(m, check, self.boost)


class _InRowMatcher(wrappers.WrappingMatcher):
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

    def _replacement(self, newchild: Any) -> _InRowMatcher:
        return _InRowMatcher(newchild, self.check, self.boost)

    def copy(self) -> _InRowMatcher:
        return _InRowMatcher(self.child.copy(), self.check, self.boost)

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


def _in_row_check(reader: Any, terms: tuple[str, ...]) -> Any:
    """A test of one document (of ``reader``) for ``terms`` at consecutive positions.

    The ``terms`` column holds the passage's terms in order, space-separated,
    and no term holds a space: the words stand in a row exactly where their
    space-joined run is found between spaces. Whoosh's own matchers may walk
    many candidates through it (pairs often found together, seldom in a row),
    so it keeps to the time limit of the search that built it.
    """
    run = f" {' '.join(terms)} ".encode()
    column = reader.column_reader(TERMS, translate=False)
    deadline = _DEADLINE.get()
    calls = 0

    def check(docnum: int) -> bool:
        nonlocal calls
        calls += 1
        if calls % _CHECK_EVERY == 0 and perf_counter() >= deadline:
            raise _OutOfTime
        return run in b" " + column[docnum] + b" "

    return check


class _AndNotMatcher(binary.AndNotMatcher):
    """Whoosh's AND NOT matcher, with its first match checked like the others.

    ``AndNotMatcher`` looks at the excluded side for its first document only
    when both sides start on the same document: when the excluded word's
    first document comes earlier, the first document of the other side is
    returned even if it holds the excluded word ("waitin -boy" listed a
    passage with "boy").
    """

    def _find_first(self) -> None:
        if self.a.is_active() and self.b.is_active():
            self._find_next()


class _AndNot(wq.AndNot):
    def matcher(self, searcher: Any, context: Any = None) -> Any:
        # whoosh.query.AndNot.matcher, with the matcher above.
        scored = self.a.matcher(searcher, context)
        excluded = self.b.matcher(searcher, searcher.boolean_context())
        return _AndNotMatcher(scored, excluded)


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
    if kind is _AndNotMatcher:
        return _supported(m.a, scored) and _supported(m.b, False)
    if kind is wrappers.WrappingMatcher or kind is wrappers.FilterMatcher or kind is _InRowMatcher:
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
            raise _OutOfTime

    # -- whole trees, the way Whoosh's collectors walk them

    def run_scores(self, m: Any) -> dict[int, float]:
        found: dict[int, float] = {}
        count = 0
        while m.is_active():
            found[m.id()] = m.score()
            m.next()
            count += 1
            if count % _CHECK_EVERY == 0:
                self.check()
        return found

    def run_ids(self, m: Any) -> set[int]:
        found: set[int] = set()
        count = 0
        while m.is_active():
            found.add(m.id())
            m.next()
            count += 1
            if count % _CHECK_EVERY == 0:
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
        if kind is _AndNotMatcher:
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
        if kind is _InRowMatcher:
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
        if kind is _AndNotMatcher:
            a = self.ids(m.a, within)
            return a - self.ids(m.b, a) if a else set()
        if kind is wrappers.WrappingMatcher or kind is wrappers.ConstantScoreWrapperMatcher:
            return self.ids(m.child, within)
        if kind is wrappers.FilterMatcher:
            child = self.ids(m.child, within)
            return child.difference(m._ids) if m._exclude else child.intersection(m._ids)
        if kind is _InRowMatcher:
            return set(self._in_row(m, dict.fromkeys(self.ids(m.child, within))))
        if kind in _PHRASE_MATCHERS:
            return set(self._phrase(m, within))
        if kind is W3LeafMatcher or kind is mcore.ListMatcher:
            return set(self._read_postings(m, within).ids)
        return set()  # NullMatcher

    def _in_row(self, m: Any, found: dict[int, Any]) -> dict[int, Any]:
        """The entries of ``found`` whose documents pass an _InRowMatcher's check."""
        kept = {}
        check = m.check
        for count, (d, value) in enumerate(found.items(), start=1):
            if count % _CHECK_EVERY == 0:
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
        if kind is _AndNotMatcher:
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
                raise _OutOfTime
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
        norms = self.index._length_norms(self.reader, m.term()[0], scorer)
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
        norms = self.index._length_norms(self.reader, m.term()[0], scorer)
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
                raise _OutOfTime
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
            if count % _CHECK_EVERY == 0:
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


@dataclass
class _Matches:
    """Every match of a query and the page's order."""

    total: int
    docs: list[int]
    page: list[tuple[Any, int]]  # (score | date key | None, docnum), as the collector gives
    timed_out: bool


def _rank_key(item: tuple[float, int]) -> tuple[float, int]:
    return 0 - item[0], item[1]  # UnlimitedCollector's order: best first, then docnum


def _match(
    index: SearchIndex,
    searcher: Any,
    query: wq.Query,
    order: str,
    first: int,
    count: int,
    time_limit: float,
) -> _Matches:
    """Find every match of ``query`` and the page ``[first, first + count)`` in ``order``.

    ``order`` is ``"relevance"`` (BM25F), ``"date"`` or ``"index"`` (unscored).
    Matches are what Whoosh's collector for that order would find, and the
    page is in its order; the time limit is checked between segments and
    within long loops, and what was found before it passed is kept.
    """
    if order == "date":
        collector = searcher.collector(limit=None, sortedby=_DATE_ORDER)
    elif order == "relevance":
        collector = searcher.collector(limit=None)
    else:
        collector = searcher.collector(limit=None, scored=False)
    collector.prepare(searcher, query, searcher.context())
    context = collector.context  # as the collector would build matchers
    bulk = _Bulk(index, perf_counter() + time_limit)
    end = first + count
    scores: dict[int, float] = {}
    top: list[tuple[float, int]] = []  # from words scored block by block (_Bulk.top_leaf)
    keyed: list[tuple[int, int]] = []
    docs: list[int] = []
    timed_out = False
    deadline = _DEADLINE.set(bulk.deadline)
    try:
        for segment, (sub, offset) in enumerate(searcher.leaf_searchers()):
            bulk.check()
            bulk.start(segment, sub.reader())
            m = query.matcher(sub, context)
            if order == "relevance" and bulk.is_scored_leaf(m):
                docs.extend(bulk.top_leaf(m, offset, top, end))
                continue
            if order == "relevance":
                found = bulk.scores(m) if _supported(m, True) else bulk.run_scores(m)
                scores.update({d + offset: s for d, s in found.items()} if offset else found)
                continue
            ids = sorted(bulk.ids(m) if _supported(m, False) else bulk.run_ids(m))
            if order == "date":
                dates = index._date_keys(sub.reader())
                keyed.extend((dates[d], d + offset) for d in ids)
            docs.extend([d + offset for d in ids] if offset else ids)
    except _OutOfTime:
        timed_out = True
    finally:
        _DEADLINE.reset(deadline)
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
    return _Matches(len(docs), docs, page, timed_out)


# --- highlighting ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Mark:
    start: int
    end: int
    group: int


def _occurrences(
    index: SearchIndex,
    searcher: Any,
    fieldname: str,
    stored: dict[int, dict],
    terms: set[str],
) -> dict[int, dict[str, list[tuple[int, int, int]]]]:
    """(position, start, end) of each term in each document, from its terms columns.

    Falls back to re-analyzing the stored text with the field's analyzer when
    a document has no terms, or when they do not fit its text (an index built
    from other text than it stores).
    """
    found: dict[int, dict[str, list[tuple[int, int, int]]]] = {}
    misfits = []
    runs, spans = index.term_columns(searcher)
    for d, fields in stored.items():
        text = fields.get("text") or ""
        words, offsets = unpack_terms(runs[d]), unpack_offsets(spans[d])
        if not words or len(offsets) != 2 * len(words):
            misfits.append(d)
            continue
        occ: dict[str, list[tuple[int, int, int]]] = {}
        # The few words that match, picked out in C: a passage has hundreds of words.
        for i in compress(range(len(words)), map(terms.__contains__, words)):
            start, end = offsets[2 * i], offsets[2 * i + 1]
            if not 0 <= start < end <= len(text):
                misfits.append(d)
                break
            occ.setdefault(words[i], []).append((i, start, end))
        else:
            found[d] = occ
    texts = {d: stored[d].get("text") or "" for d in misfits}
    found.update(_reanalyze(searcher.schema[fieldname], misfits, terms, texts))
    return found


def _reanalyze(fieldobj: Any, docnums: list[int], terms: set[str], texts: dict[int, str]) -> dict:
    found: dict[int, dict[str, list[tuple[int, int, int]]]] = {}
    for d in docnums:
        occ: dict[str, list[tuple[int, int, int]]] = {}
        for token in fieldobj.analyzer(texts[d], positions=True, chars=True, mode="index"):
            if token.text in terms:
                occ.setdefault(token.text, []).append((token.pos, token.startchar, token.endchar))
        found[d] = occ
    return found


def _marks_for(
    patterns_by_group: list[set[Pattern]], occ: dict[str, list[tuple[int, int, int]]]
) -> list[_Mark]:
    marks: list[_Mark] = []
    for group, patterns in enumerate(patterns_by_group):
        for pattern in patterns:
            first = occ.get(pattern[0])
            if not first:
                continue
            if len(pattern) == 1:
                marks.extend(_Mark(s, e, group) for _, s, e in first)
                continue
            rest = [{p: (s, e) for p, s, e in occ.get(t, ())} for t in pattern[1:]]
            for pos, s, _ in first:
                end = None
                for i, by_pos in enumerate(rest, start=1):
                    hit = by_pos.get(pos + i)
                    if hit is None:
                        break
                    end = hit[1]
                else:
                    if end is not None:
                        marks.append(_Mark(s, end, group))
    marks.sort(key=lambda m: (m.start, -m.end))
    return marks


def _choose_window(text: str, marks: list[_Mark]) -> tuple[int, int]:
    n = len(text)
    if n <= SNIPPET_CHARS:
        return 0, n
    if not marks:
        return 0, _word_end(text, SNIPPET_CHARS)
    # The window starting just before a mark that holds the most matched groups, then
    # the most marks, then starts first. Marks are sorted by start, so the marks a
    # window may hold are a run from its own mark on: each window scans only that run.
    best: tuple[int, int, int] | None = None
    best_start = 0
    starts = [m.start for m in marks]
    ends = [m.end for m in marks]
    if len({m.group for m in marks}) == 1 and ends == sorted(ends):
        # One word, prefix or phrase, marks in a row: the marks a window holds are
        # those from its own up to the last ending inside it.
        for i, start in enumerate(starts):
            lo = max(0, start - _SNIPPET_LEAD)
            key = (1, bisect_right(ends, lo + SNIPPET_CHARS, i) - i, -lo)
            if best is None or key > best:
                best, best_start = key, lo
    else:
        for i, m in enumerate(marks):
            lo = max(0, m.start - _SNIPPET_LEAD)
            hi = lo + SNIPPET_CHARS
            inside = [x for x in marks[i : bisect_right(starts, hi, i)] if x.end <= hi]
            key = (len({x.group for x in inside}), len(inside), -lo)
            if best is None or key > best:
                best, best_start = key, lo
    lo = best_start
    if lo + SNIPPET_CHARS >= n:
        lo = max(0, n - SNIPPET_CHARS)
    hi = min(n, lo + SNIPPET_CHARS)
    return _word_start(text, lo, marks), _word_end(text, hi)


def _word_start(text: str, lo: int, marks: list[_Mark]) -> int:
    if lo <= 0:
        return 0
    first_mark = min((m.start for m in marks if m.start >= lo), default=lo)
    i = lo
    while i < first_mark and not text[i - 1].isspace():
        i += 1
    return i if i <= first_mark else lo


def _word_end(text: str, hi: int) -> int:
    if hi >= len(text):
        return len(text)
    i = hi
    while i > 0 and not text[i].isspace() and hi - i < 30:
        i -= 1
    return i if i > 0 and text[i].isspace() else hi


def _snippet(text: str, marks: list[_Mark]) -> tuple[str, tuple[tuple[str, bool], ...], int, int]:
    """HTML snippet, plain parts, and the window it shows."""
    lo, hi = _choose_window(text, marks)
    merged: list[list[int]] = []
    for m in marks:
        s, e = max(m.start, lo), min(m.end, hi)
        if s >= e:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    parts: list[tuple[str, bool]] = []
    if lo > 0:
        parts.append(("\u2026", False))
    pos = lo
    for s, e in merged:
        if s > pos:
            parts.append((text[pos:s], False))
        parts.append((text[s:e], True))
        pos = e
    if pos < hi:
        parts.append((text[pos:hi], False))
    if hi < len(text):
        parts.append(("\u2026", False))
    return _snippet_html(parts), tuple(parts), lo, hi


def _snippet_html(parts: list[tuple[str, bool]]) -> str:
    """The parts escaped, marked ones in ``<mark>``: escaped in one go between two
    control characters that stand for the tags, unless the text holds one."""
    joined = "".join(f"\x01{t}\x02" if marked else t for t, marked in parts)
    if joined.count("\x01") + joined.count("\x02") == 2 * sum(m for _, m in parts):
        return html.escape(joined).replace("\x01", "<mark>").replace("\x02", "</mark>")
    return "".join(
        f"<mark>{html.escape(t)}</mark>" if marked else html.escape(t) for t, marked in parts
    )


def _anchor_span(marks: list[_Mark], lo: int, hi: int) -> tuple[int, int] | None:
    """The shortest run of marks in the window that covers every matched group in it."""
    inside = [m for m in marks if m.start >= lo and m.end <= hi]
    if not inside:
        return None
    groups = {m.group for m in inside}
    if len(groups) == 1:  # one word or phrase: the run is its shortest mark, the first of equals
        shortest = min(inside, key=lambda m: m.end - m.start)
        best: tuple[int, int] | None = (shortest.start, shortest.end)
    else:
        best = None
        counts: dict[int, int] = {}
        ends = [m.end for m in inside]
        left = 0
        for right, m in enumerate(inside):
            counts[m.group] = counts.get(m.group, 0) + 1
            while len(counts) == len(groups):
                span = (inside[left].start, max(ends[left : right + 1]))
                if best is None or span[1] - span[0] < best[1] - best[0]:
                    best = span
                group = inside[left].group
                counts[group] -= 1
                if not counts[group]:
                    del counts[group]
                left += 1
    if best is None or best[1] - best[0] > _MAX_ANCHOR_CHARS:
        first = inside[0]
        return first.start, first.end
    return best


# --- neighbours and anchors ------------------------------------------------------------


def _stored_fields(reader: Any, docnum: int) -> dict:
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


def _neighbour(searcher: Any, docnum: int, fields: dict, step: int) -> dict | None:
    """The stored fields of the passage before (-1) or after (+1), if it is in the index."""
    testimony, position = fields.get("testimony"), fields.get("position")
    if testimony is None or position is None or position + step < 0:  # positions count from 0
        return None
    count = fields.get("passages")
    if count is not None and position + step >= count:  # no lookup for a passage not there
        return None
    candidate = docnum + step
    reader = searcher.reader()
    other = None
    if 0 <= candidate < searcher.doc_count_all() and not reader.is_deleted(candidate):
        stored = _stored_fields(reader, candidate)
        if stored.get("testimony") == testimony and stored.get("position") == position + step:
            other = stored
    if other is None:
        # The first match in document order: what search(..., limit=1) gives for
        # these equally scored matches, without a collector and a scoring pass.
        lookup = wq.And(
            [
                wq.Term("testimony", testimony),
                wq.NumericRange("position", position + step, position + step),
            ]
        )
        found = next(iter(lookup.docs(searcher)), None)
        other = dict(searcher.stored_fields(found)) if found is not None else None
    if other is None:
        return None
    # Only a passage that really touches this one gives context.
    text, offset = fields.get("text") or "", fields.get("offset")
    other_text, other_offset = other.get("text") or "", other.get("offset")
    if offset is None or other_offset is None:
        return None
    sep = len(PASSAGE_SEPARATOR)
    if step < 0 and other_offset + len(other_text) + sep != offset:
        return None
    if step > 0 and offset + len(text) + sep != other_offset:
        return None
    return other


def _make_anchor(fields: dict, start: int, end: int) -> Anchor | None:
    text = fields.get("text") or ""
    offset = fields.get("offset")
    if offset is None:
        return None
    local, shift = text, 0
    # The neighbours' edges are stored with the passage (archive.index.schema).
    before, after = fields.get("before"), fields.get("after")
    if start < CONTEXT_CHARS and before is not None:
        local = before + PASSAGE_SEPARATOR + local
        shift = len(before) + len(PASSAGE_SEPARATOR)
    if len(text) - end < CONTEXT_CHARS and after is not None:
        local = local + PASSAGE_SEPARATOR + after
    try:
        return make_anchor(
            local,
            start + shift,
            end + shift,
            testimony=fields.get("testimony"),
            passage=fields.get("passage"),
            offset=offset - shift,
        )
    except AnchorError:
        return None


# --- search ---------------------------------------------------------------------------


def search(
    index: str | Path | SearchIndex,
    query: str,
    *,
    filters: Mapping[str, Any] | None = None,
    page: int = 1,
    per_page: int = 20,
    sort: str = "relevance",
    base_url: str = "",
    time_limit: float = TIME_LIMIT,
    exclude: Collection[str] = (),
) -> SearchResults:
    """Run a query typed by anyone; return one page of highlighted, linked hits.

    ``index`` is an index directory (opened for this call) or an open
    :class:`SearchIndex`. ``filters`` selects facet values (``{"theme":
    "furlough", "language": ["ru", "uk"]}``: any value within a facet, every
    facet), applied on top of the query; an empty query lists the passages the
    filters select. ``page`` past the last page gives no hits and
    ``past_end``; a page below 1, an unknown sort or a bad query raises
    :class:`QueryError`. See :class:`SearchResults` for the JSON shape.

    ``exclude`` names testimonies whose indexed text may be out of date (their
    file changed since the index was built, maybe with a new redaction):
    none of their passages is matched, counted or shown, and no typo
    correction or "did you mean" is offered, since the index's word lists
    still hold their old words.
    """
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise QueryError("page must be a whole number from 1", hint="use page=1 for the first page")
    if (
        isinstance(per_page, bool)
        or not isinstance(per_page, int)
        or not 1 <= per_page <= MAX_PER_PAGE
    ):
        raise QueryError(f"per_page must be between 1 and {MAX_PER_PAGE}")
    if sort not in SORTS:
        raise QueryError(f"unknown sort '{sort}'", hint=f"use one of: {', '.join(SORTS)}")
    if query is None:
        query = ""
    parsed = q.parse_query(query)
    cleaned_filters = _clean_filters(filters)
    with _opened(index) as opened, opened.searching() as searcher:
        compiled = _compile(parsed, searcher, suggest=not exclude)
        # Filters go into the query: matching (and its time limit) treats them
        # like any other clause, and they narrow the totals and facets too.
        filter_query = _filter_query(cleaned_filters)
        query = compiled.query
        if filter_query is not None:
            query = filter_query if parsed.root is None else wq.And([query, filter_query])
        if exclude:
            left_out = wq.Or([wq.Term("testimony", t) for t in sorted(exclude)])
            query = _AndNot(query, left_out).normalize()
        order = "date" if sort == "date" else "relevance" if compiled.scored else "index"
        matches = _match(
            opened, searcher, query, order, (page - 1) * per_page, per_page, time_limit
        )
        timed_out = matches.timed_out
        total = matches.total
        facets = _facet_counts(opened, searcher, matches.docs)
        show_score = order == "relevance"
        # Private hits must not become shareable links: their offsets count in the
        # private text, and an anchor would carry redacted words into a URL.
        linkable = opened._handle.manifest.get("kind") != "private"
        hits = _hits(opened, searcher, compiled, matches, show_score, base_url, linkable)
        notices = list(compiled.notices)
        if exclude:
            notices.append(
                "testimonies changed since the search index was built are left out "
                "until it is rebuilt"
            )
        if timed_out:
            notices.append(
                f"the search stopped after {time_limit:g} s and shows what it found by then; "
                "add words or filters for complete results"
            )
        suggestion = _suggestion_text(parsed, compiled.suggestion)
    groups: dict[str, list[Hit]] = {}
    for hit in hits:
        groups.setdefault(hit.testimony, []).append(hit)
    return SearchResults(
        query=" ".join(parsed.text.split()),
        total=total,
        page=page,
        per_page=per_page,
        hits=tuple(hits),
        groups=tuple(Group(t, hs[0].title, tuple(hs)) for t, hs in groups.items()),
        facets=facets,
        suggestion=suggestion,
        notices=tuple(notices),
        timed_out=timed_out,
        sort=sort,
        filters=cleaned_filters,
    )


def _hits(
    index: SearchIndex,
    searcher: Any,
    compiled: _Compiled,
    matches: _Matches,
    show_score: bool,
    base_url: str,
    linkable: bool = True,
) -> list[Hit]:
    items = matches.page
    reader = searcher.reader()
    stored = {docnum: _stored_fields(reader, docnum) for _, docnum in items}
    texts = {d: (f.get("text") or "") for d, f in stored.items()}
    by_field: dict[str, list[int]] = {}
    for d, f in stored.items():
        by_field.setdefault(text_field(f.get("language")), []).append(d)
    marks: dict[int, list[_Mark]] = {d: [] for d in stored}
    for fieldname, docnums in by_field.items():
        groups = [g.get(fieldname, set()) for g in compiled.highlights]
        terms = {t for patterns in groups for pattern in patterns for t in pattern}
        if not terms or fieldname not in searcher.schema:
            continue
        occ = _occurrences(index, searcher, fieldname, {d: stored[d] for d in docnums}, terms)
        for d in docnums:
            marks[d] = _marks_for(groups, occ.get(d, {}))
    hits = []
    for score, d in items:
        f = stored[d]
        snippet, parts, lo, hi = _snippet(texts[d], marks[d])
        span = _anchor_span(marks[d], lo, hi)
        anchor = _make_anchor(f, *span) if span and linkable else None
        testimony, passage = f.get("testimony", ""), f.get("passage", "")
        hits.append(
            Hit(
                testimony=testimony,
                passage=passage,
                title=f.get("title") or testimony,
                narrator=f.get("narrator"),
                date=f.get("date"),
                language=f.get("language"),
                score=round(float(score), 4) if show_score and score is not None else None,
                snippet=snippet,
                url=testimony_url(testimony, passage, anchor, base_url),
                anchor=anchor,
                snippet_parts=parts,
            )
        )
    return hits


def check_quote(*args: Any, **kwargs: Any) -> Any:
    """Find the source of a pasted quote: see :func:`archive.quotecheck.check_quote`."""
    from .quotecheck import check_quote as _check_quote

    return _check_quote(*args, **kwargs)
