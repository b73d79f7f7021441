"""Filters and facets: checking the filters a caller gives, and counting facet values.

Filters narrow the query (and so the totals and facets); facets count the
values of every match, whichever way it was matched.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from whoosh import query as wq

from ..errors import QueryError
from .opened import SearchIndex

__all__ = ["FACETS", "clean_filters", "facet_counts", "filter_query"]

#: Facet name (in results and in ``filters``) -> index field.
FACETS = {"theme": "theme_tree", "language": "language", "place": "place_facet", "decade": "decade"}
#: Values listed per facet, most frequent first.
FACET_LIMIT = 50
MAX_FILTER_VALUES = 20


def clean_filters(filters: Mapping[str, Any] | None) -> dict[str, list[str]]:
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


def filter_query(filters: dict[str, list[str]]) -> wq.Query | None:
    if not filters:
        return None
    parts = [wq.Or([wq.Term(FACETS[name], v) for v in values]) for name, values in filters.items()]
    return wq.ConstantScoreQuery(wq.And(parts).normalize(), 0.0)


def facet_counts(
    index: SearchIndex, searcher: Any, docnums: Iterable[int], per_testimony: bool = False
) -> dict:
    """Per facet, its values among ``docnums`` and how many documents (or, with
    ``per_testimony``, how many testimonies) have each, most first."""
    # Documents are counted per facet row (their values for every facet at
    # once): passages of a testimony mostly share one, so a few hundred rows
    # stand for tens of thousands of passages.
    row_of, rows = _facet_rows(index, searcher)
    counts: defaultdict[tuple[int, str], int] = defaultdict(int)
    if per_testimony:
        testimony_of = index.facet_values(searcher, "testimony")
        seen: defaultdict[tuple[int, str], set] = defaultdict(set)
        for row, t in {(row_of[d], testimony_of[d]) for d in docnums}:
            for key in rows[row]:
                seen[key].add(t)
        for key, testimonies in seen.items():
            counts[key] = len(testimonies)
    for row, n in Counter(map(row_of.__getitem__, docnums) if not per_testimony else ()).items():
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


def _facet_rows(
    index: SearchIndex, searcher: Any
) -> tuple[list[int], list[tuple[tuple[int, str], ...]]]:
    """Per document, the number of its facet row: its values of every facet in FACETS,
    as ``(facet's place in FACETS, value)`` pairs (built once per index version)."""

    def build() -> tuple[list[int], list[tuple[tuple[int, str], ...]]]:
        tables = [index.facet_values(searcher, fieldname) for fieldname in FACETS.values()]
        numbers: dict[tuple[tuple[int, str], ...], int] = {}
        row_of = [
            numbers.setdefault(
                tuple((i, value) for i, values in enumerate(row) for value in values),
                len(numbers),
            )
            for row in zip(*tables, strict=True)
        ]
        return row_of, list(numbers)

    return index.cached("facet rows", searcher.reader(), build)
