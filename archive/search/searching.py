"""``search()``: one query from text to a page of results.

Parse (:mod:`archive.query`), compile (:mod:`.compile`), match
(:mod:`.match`), count facets (:mod:`.facets`), then read, highlight and link
the page's hits (:mod:`.highlight`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from whoosh import query as wq

from .. import query as q
from ..errors import QueryError
from ..fields import text_field
from ..urls import testimony_url
from .compile import MODES, Compiled, compile_query, suggestion_text
from .facets import clean_filters, facet_counts, filter_query
from .highlight import Mark, anchor_span, hit_anchor, marks_for, occurrences, snippet
from .match import TIME_LIMIT
from .opened import SearchIndex, opened, stored_fields
from .queries import AndNot
from .ranking import FILL_TESTIMONIES, VIEWS, rank
from .results import Group, Hit, SearchResults

__all__ = ["MAX_PER_PAGE", "MODES", "SORTS", "VIEWS", "search"]

MAX_PER_PAGE = 100
SORTS = ("relevance", "date")


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
    fast_path: bool | None = None,
    mode: str = "best",
    view: str = "passages",
    testimony: str | None = None,
) -> SearchResults:
    """Run a query typed by anyone; return one page of highlighted, linked hits.

    ``index`` is an index directory (opened for this call) or an open
    :class:`SearchIndex`. ``filters`` selects facet values (``{"theme":
    "furlough", "language": ["ru", "uk"]}``: any value within a facet, every
    facet), applied on top of the query; an empty query lists the passages the
    filters select. ``testimony`` keeps one testimony's passages. ``page``
    past the last page gives no hits and ``past_end``; a page below 1, an
    unknown sort, mode or view or a bad query raises :class:`QueryError`.
    See :class:`SearchResults` for the JSON shape.

    ``mode`` ``"best"`` (see :mod:`.ranking`) ranks passages holding most of
    the query's words below those holding all; ``"all"`` requires every
    word. ``view`` ``"testimonies"`` lists each testimony once (paged by
    testimony), ``"passages"`` every passage.

    ``exclude`` names testimonies whose indexed text may be out of date (their
    file changed since the index was built, maybe with a new redaction):
    none of their passages is matched, counted or shown, and no typo
    correction or "did you mean" is offered, since the index's word lists
    still hold their old words.

    ``fast_path`` (default: the index's, from the ``fast_path`` setting) says
    whether :mod:`.fastpath` does the matching and reading; the results are
    the same either way.
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
    if mode not in MODES:
        raise QueryError(f"unknown mode '{mode}'", hint=f"use one of: {', '.join(MODES)}")
    if view not in VIEWS:
        raise QueryError(f"unknown view '{view}'", hint=f"use one of: {', '.join(VIEWS)}")
    if testimony is not None and (not isinstance(testimony, str) or len(testimony) > 200):
        raise QueryError("testimony must be a testimony id")
    if query is None:
        query = ""
    parsed = q.parse_query(query)
    cleaned_filters = clean_filters(filters)
    if parsed.root is None and parsed.text.strip() and not cleaned_filters and not testimony:
        raise QueryError(
            f"'{parsed.text.strip()}' has no words to search for",
            hint="type a word or a phrase; operators and punctuation alone match nothing",
        )
    with opened(index) as handle, handle.searching(fast_path) as searcher:
        fast = handle.fast_path if fast_path is None else fast_path
        compiled = compile_query(parsed, searcher, suggest=not exclude, fast_path=fast, mode=mode)
        # Filters go into the query: matching (and its time limit) treats them
        # like any other clause, and they narrow the totals and facets too.
        narrowing = filter_query(cleaned_filters)
        query = compiled.query
        if narrowing is not None:
            query = narrowing if parsed.root is None else wq.And([query, narrowing])
        if testimony:
            only = wq.Term("testimony", testimony)
            query = only if parsed.root is None and narrowing is None else wq.And([query, only])
        if exclude:
            left_out = wq.Or([wq.Term("testimony", t) for t in sorted(exclude)])
            query = AndNot(query, left_out).normalize()
        themes = [*compiled.themes, *cleaned_filters.get("theme", [])]
        ranked = rank(
            handle,
            searcher,
            compiled,
            query,
            themes,
            sort=sort,
            view=view,
            page=page,
            per_page=per_page,
            time_limit=time_limit,
            fast=fast,
        )
        timed_out = ranked.timed_out
        facets = facet_counts(handle, searcher, ranked.counted, per_testimony=ranked.per_testimony)
        show_score = sort == "relevance" and compiled.scored
        # Private hits must not become shareable links: their offsets count in the
        # private text, and an anchor would carry redacted words into a URL.
        linkable = handle.manifest.get("kind") != "private"
        shown = [(s, d) for e in ranked.entries for s, d in e.docs]
        missing = {d: m for e in ranked.entries for d, m in e.missing.items()}
        made = _hits(
            handle, searcher, compiled, shown, missing, show_score, base_url, linkable, fast
        )
        by_doc = dict(zip([d for _, d in shown], made, strict=True))
        reader = searcher.reader()
        groups = []
        for e in ranked.entries:
            hits = tuple(by_doc[d] for _, d in e.docs)
            if groups and view == "passages" and groups[-1].testimony == e.testimony and hits:
                groups[-1] = replace(groups[-1], hits=groups[-1].hits + hits)
                continue
            f = stored_fields(reader, e.first_doc, fast)
            groups.append(
                Group(
                    testimony=e.testimony,
                    title=f.get("title") or e.testimony,
                    hits=hits,
                    narrator=f.get("narrator"),
                    date=f.get("date"),
                    language=f.get("language"),
                    more=e.more,
                    matched_on=tuple(e.matched_on),
                    url=testimony_url(e.testimony, None, None, base_url),
                )
            )
        notices = list(compiled.notices)
        if exclude:
            notices.append(
                "testimonies changed since the search index was built are left out "
                "until it is rebuilt"
            )
        if ranked.filled:
            notices.append(
                f"fewer than {FILL_TESTIMONIES} testimonies hold most of the words; "
                "below them are the best of those holding fewer, each saying what it lacks"
            )
        if timed_out:
            notices.append(
                f"the search stopped after {time_limit:g} s and shows what it found by then; "
                "add words or filters for complete results"
            )
        suggestion = suggestion_text(parsed, compiled.suggestion)
        showing, instead = _showing(parsed, compiled)
    return SearchResults(
        query=" ".join(parsed.text.split()),
        total=ranked.total,
        page=page,
        per_page=per_page,
        hits=tuple(made),
        groups=tuple(groups),
        facets=facets,
        suggestion=suggestion,
        notices=tuple(notices),
        timed_out=timed_out,
        sort=sort,
        filters=cleaned_filters,
        mode=mode,
        view=view,
        passages=ranked.passages,
        unknown=tuple(compiled.unknown),
        corrections={k: tuple(v) for k, v in compiled.corrections.items()},
        showing=showing,
        search_instead=instead,
        testimony=testimony,
    )


def _showing(parsed: q.ParsedQuery, compiled: Compiled) -> tuple[str | None, str | None]:
    """("Showing results for" query, "search instead for" query) when the search left
    out unknown words or replaced misspelt ones; the second requires each such word
    as typed (``+word``), so it finds only what holds it."""
    changed = set(compiled.dropped) | set(compiled.corrections)
    if not changed or parsed.root is None:
        return None, None
    words = []
    stack = [parsed.root]
    while stack:
        node = stack.pop()
        if isinstance(node, q.And | q.Or):
            stack.extend(node.children)
        elif isinstance(node, q.Not):
            stack.append(node.child)
        elif isinstance(node, q.Word) and node.text in changed and not node.required:
            words.append(node)
    if not words:
        return None, None
    showing = instead = parsed.text
    for word in sorted(words, key=lambda w: w.start, reverse=True):
        used = compiled.corrections.get(word.text)
        showing = showing[: word.start] + (used[0] if used else "") + showing[word.end :]
        instead = instead[: word.start] + "+" + instead[word.start :]
    return " ".join(showing.split()) or None, " ".join(instead.split())


def _hits(
    index: SearchIndex,
    searcher: Any,
    compiled: Compiled,
    items: list[tuple[float, int]],
    missing: dict[int, list[str]],
    show_score: bool,
    base_url: str,
    linkable: bool,
    fast_path: bool,
) -> list[Hit]:
    reader = searcher.reader()
    stored = {docnum: stored_fields(reader, docnum, fast_path) for _, docnum in items}
    texts = {d: (f.get("text") or "") for d, f in stored.items()}
    by_field: dict[str, list[int]] = {}
    for d, f in stored.items():
        by_field.setdefault(text_field(f.get("language")), []).append(d)
    marks: dict[int, list[Mark]] = {d: [] for d in stored}
    for fieldname, docnums in by_field.items():
        groups = [g.get(fieldname, set()) for g in compiled.highlights]
        terms = {t for patterns in groups for pattern in patterns for t in pattern}
        if not terms or fieldname not in searcher.schema:
            continue
        occ = occurrences(index, searcher, fieldname, {d: stored[d] for d in docnums}, terms)
        for d in docnums:
            marks[d] = marks_for(groups, occ.get(d, {}))
    hits = []
    for score, d in items:
        f = stored[d]
        html, parts, lo, hi = snippet(texts[d], marks[d])
        span = anchor_span(marks[d], lo, hi)
        anchor = hit_anchor(f, *span) if span and linkable else None
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
                snippet=html,
                url=testimony_url(testimony, passage, anchor, base_url),
                anchor=anchor,
                snippet_parts=parts,
                start=f.get("start"),
                end=f.get("end"),
                recording=f.get("recording"),
                missing=tuple(missing.get(d, ())),
            )
        )
    return hits
