"""The opened index: :class:`SearchIndex`, its per-version caches, and reading passages.

The one way into an index for the search and for :mod:`archive.quotecheck`:
:func:`opened` takes a path or an open :class:`SearchIndex`,
:meth:`SearchIndex.searching` gives a searcher that follows ``archive
index``'s newest generation, :func:`stored_fields` and :func:`neighbour` read
a passage and the one before or after it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from whoosh import query as wq
from whoosh import scoring

from ..config import setting_flag
from ..errors import IndexError_
from ..fields import TERM_OFFSETS, TERMS
from ..model import PASSAGE_SEPARATOR
from . import fastpath

__all__ = ["WEIGHTING", "SearchIndex", "neighbour", "open_search_index", "opened", "stored_fields"]

#: Passages are short (a paragraph), so length normalisation is softened: a
#: long paragraph is not less about its words than a one-line answer.
WEIGHTING = scoring.BM25F(B=0.5, K1=1.2)


class SearchIndex:
    """An opened index and what is worth keeping between searches.

    Keep one per process (the web app keeps it with its loaded archive) so
    that the facet tables are built once; :func:`search` also accepts a plain
    path and then opens and closes the index around the one search. A newer
    generation swapped in by ``archive index`` is picked up by the next
    search. Searches on one object are serialised: a Whoosh searcher is not
    meant to be used by two threads at once.

    ``fast_path`` (default: the ``fast_path`` setting, ``ARCHIVE_FAST_PATH``)
    says whether matching and reading go through :mod:`.fastpath`; off, only
    Whoosh's own matchers, collectors and readers are used.
    """

    def __init__(self, path: str | Path, fast_path: bool | None = None) -> None:
        self.path = Path(path)
        self.fast_path = setting_flag("fast_path") if fast_path is None else fast_path
        self._handle = _open(self.path)
        self._searcher: Any = None
        self._facets: dict[str, list[tuple[str, ...]]] = {}
        # Per index version: tables built from every document (see cached()).
        self._columns: dict[Any, Any] = {}
        self._lock = threading.RLock()

    @property
    def manifest(self) -> dict:
        """The manifest of the generation open now (``kind``: public or private, ...)."""
        return self._handle.manifest

    @contextmanager
    def searching(self, fast_path: bool | None = None) -> Iterator[Any]:
        """The current searcher, reopened if the index changed, held for one search."""
        with self._lock:
            if self._handle.is_stale():
                fresh = _open(self.path)
                self._close_handle()
                self._handle = fresh
            if self._searcher is None:
                self._searcher = self._handle.searcher(weighting=WEIGHTING)
            if self.fast_path if fast_path is None else fast_path:
                fastpath.fresh_lookups(self._searcher)
            else:
                fastpath.stock_lookups(self._searcher)
            yield self._searcher

    def cached(self, key: Any, reader: Any, build: Callable[[], Any]) -> Any:
        """``build()``, kept while ``reader`` (a segment's, or the whole index's) is open."""
        held = self._columns.get(key)
        if held is None or held[0] is not reader:
            held = self._columns[key] = (reader, build())
        return held[1]

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

    def term_columns(self, searcher: Any) -> tuple[Any, Any]:
        """Readers of the two terms columns (each passage's words, and where they stand in
        its text), opened once per index version: highlighting reads 20 rows of each."""
        reader = searcher.reader()
        return self.cached(
            "term columns",
            reader,
            lambda: tuple(
                reader.column_reader(name, translate=False) for name in (TERMS, TERM_OFFSETS)
            ),
        )

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


def _open(path: Path) -> Any:
    from ..index import open_index

    try:
        return open_index(path)
    except IndexError_:
        raise
    except (OSError, ValueError) as exc:
        raise IndexError_(
            f"no usable search index at {path} ({exc.__class__.__name__})",
            hint="build it with 'archive index'",
        ) from None


def open_search_index(path: str | Path, fast_path: bool | None = None) -> SearchIndex:
    """Open an index directory for repeated searches; close it (or use ``with``) when done."""
    return SearchIndex(path, fast_path)


@contextmanager
def opened(index: str | Path | SearchIndex) -> Iterator[SearchIndex]:
    """``index`` itself if open, else the directory opened for the ``with`` block."""
    if isinstance(index, SearchIndex):
        yield index
        return
    handle = SearchIndex(index)
    try:
        yield handle
    finally:
        handle.close()


def stored_fields(reader: Any, docnum: int, fast_path: bool = True) -> dict:
    """A passage's stored fields (through :func:`.fastpath.stored_fields` when on)."""
    if fast_path:
        return fastpath.stored_fields(reader, docnum)
    return reader.stored_fields(docnum)


def neighbour(
    searcher: Any, docnum: int, fields: dict, step: int, fast_path: bool = True
) -> dict | None:
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
        stored = stored_fields(reader, candidate, fast_path)
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
