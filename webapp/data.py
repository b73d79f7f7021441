"""One data function per page: the dict both the HTML template and the JSON view show.

Each function takes the request's archive snapshot and query arguments and
returns plain JSON-ready data (strings, numbers, lists, dicts). Bad input is
refused with :class:`PageError` (a 4xx with a message), never an exception
that would become a 500. Only public testimonies are ever looked at: every
lookup goes through ``Archive.get_public``/``Archive.public`` with the
snapshot's date, so restricted and embargoed files stay invisible.

What the archive holds (themes with counts, places, periods, languages) and
the label tables come from :mod:`webapp.catalog`; the search page shows
:class:`archive.search.SearchResults` as it is (pages, groups, facets) and adds
only links and labels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote_plus

from flask import current_app, request, url_for
from werkzeug.datastructures import MultiDict

from archive.anchors import (
    MAX_QUOTE_CHARS,
    Anchor,
    QuoteRef,
    make_anchor,
    parse_param,
    resolve_link,
)
from archive.citations import (
    FORMATS,
    Citation,
    all_formats,
    citation_url,
    download_name,
    make_citation,
)
from archive.errors import AnchorError, ArchiveError, QueryError
from archive.ledger import Placed, PrivateText, add_quote_at
from archive.media import clock, clock_span
from archive.model import Passage, Testimony, passage_offsets, public_text
from archive.muting import MEDIA_TYPE
from archive.quotecheck import check_quote
from archive.search import FACETS, MODES, SORTS, VIEWS, search
from archive.urls import ANCHOR_PARAM, join_base, quote_url, testimony_url

from . import catalog
from .catalog import UNDATED, language_info
from .editor import EDITOR
from .publish.staticmode import EXPORT_MEDIA, STATIC_EXPORT
from .resources import Snapshot

__all__ = ["PageError"]

PER_PAGE = 20
LIST_PER_PAGE = 50
MAX_PAGE = 10_000
#: Speaker labels that mark the interviewer's turns, in the archive's languages.
QUESTION_LABELS = {"q", "question", "interviewer", "вопрос", "в", "питання", "п"}


class PageError(Exception):
    """A request the page cannot serve: shown as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


#: A citation asked for words (``cite.FORMAT?a=``) that are not in the current text.
LINK_NOT_FOUND = (
    "This link's words were not found in the current text of this testimony, so there is "
    "nothing to cite. Select the words again on the testimony's page, or cite the testimony "
    "itself (without ?a=)."
)


def not_found() -> PageError:
    """One message for every missing page: restricted, embargoed and missing look the same."""
    return PageError(404, "Page not found")


# --- small helpers ------------------------------------------------------------


def _base() -> str:
    return request.script_root


def site_base() -> str:
    """The configured public base URL (``site_url``), or "" when there is none.

    Never the request's own address: ``Host`` and ``X-Forwarded-Host`` are whatever
    the client sends, and a cache in front would keep a forged one in every citation.
    """
    from .resources import get_resources

    return get_resources().config.site_url.rstrip("/")


def absolute(path: str) -> str:
    """``path`` from ``url_for`` (which carries the script root) under ``site_url``;
    without ``site_url``, ``path`` itself: site-relative, never from the request."""
    base = site_base()
    if not base:
        return path
    root = request.script_root
    if path.startswith(root):
        path = path[len(root) :]
    return join_base(base, path)


def _turl(testimony_id: str, passage: str | None = None, anchor: Anchor | None = None) -> str:
    return testimony_url(testimony_id, passage=passage, anchor=anchor, base_url=_base())


def theme_ref(snap: Snapshot, slug: str) -> dict[str, str]:
    return {
        "slug": slug,
        "label": catalog.theme_label(snap.archive.vocabulary, slug),
        "url": url_for("archive.theme", slug=slug),
    }


def summary(snap: Snapshot, t: Testimony) -> dict[str, Any]:
    """A testimony as lists show it."""
    return {
        "id": t.id,
        "title": t.title,
        "narrator": t.narrator,
        "date": str(t.date) if t.date else None,
        "place": t.place,
        "language": language_info(t.language),
        "themes": [theme_ref(snap, s) for s in t.themes],
        "words": t.word_count,
        "url": url_for("archive.testimony", testimony_id=t.id),
        "json_url": url_for("archive.testimony_json", testimony_id=t.id),
    }


def is_question(t: Testimony, speaker: str | None) -> bool:
    if not speaker:
        return False
    label = speaker.strip().lower()
    return label in QUESTION_LABELS or (
        bool(t.interviewer) and label == (t.interviewer or "").strip().lower()
    )


def passage_time(t: Testimony, p: Passage) -> dict[str, Any] | None:
    """Where the passage is heard: seconds in recording ``recording``, and as pages show it
    (None without a time code, or when the testimony names no recording)."""
    if p.time is None or not t.media:
        return None
    return {
        "recording": p.time.recording,
        "start": p.time.start,
        "end": p.time.end,
        "label": clock(p.time.start),
        "span": clock_span(p.time),
    }


def passage_dict(
    snap: Snapshot, t: Testimony, p: Passage, offset: int | None, with_link: bool = False
) -> dict[str, Any]:
    data = {
        "id": p.id,
        "kind": p.kind,
        "offset": offset,
        "speaker": p.speaker,
        "question": is_question(t, p.speaker),
        "themes": [theme_ref(snap, s) for s in p.themes],
        "redacted": p.redacted,
        "has_redactions": p.has_redactions,
        "text": p.public_text,
        "html": p.html,
        "time": passage_time(t, p),
    }
    if with_link:
        data["url"] = _turl(t.id, passage=p.id)
    return data


def arg(args: MultiDict, name: str, default: str = "") -> str:
    value = args.get(name, default)
    return value.strip() if isinstance(value, str) else default


def page_number(args: MultiDict) -> int:
    raw = arg(args, "page", "1") or "1"
    if not raw.isascii() or not raw.isdigit():
        raise PageError(400, f"page must be a whole number from 1, not {raw[:40]!r}")
    page = int(raw)
    if not 1 <= page <= MAX_PAGE:
        raise PageError(400, f"page must be between 1 and {MAX_PAGE}")
    return page


def paginate(items: list, page: int, per_page: int, endpoint: str, **values: Any) -> dict:
    """Slice ``items`` for one page; a page past the end is a 400 with the last page named."""
    pages = max(1, math.ceil(len(items) / per_page))
    if page > pages:
        raise PageError(400, f"page {page} is past the last page ({pages})")

    def link(number: int) -> str:
        return url_for(endpoint, **values, **({"page": number} if number > 1 else {}))

    return {
        "items": items[(page - 1) * per_page : page * per_page],
        "page": page,
        "pages": pages,
        "total": len(items),
        "previous": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < pages else None,
    }


def _theme_node(snap: Snapshot, node: catalog.ThemeNode) -> dict[str, Any]:
    return {
        **theme_ref(snap, node.theme.slug),
        "description": node.theme.description,
        "testimonies": node.testimonies,
        "passages": node.passages,
        "narrower": [_theme_node(snap, n) for n in node.narrower],
    }


def _theme_tree(snap: Snapshot, only_used: bool) -> list[dict[str, Any]]:
    return [_theme_node(snap, n) for n in catalog.theme_tree(snap, only_used)]


def _languages(snap: Snapshot, by_count: bool) -> list[dict[str, Any]]:
    """The public testimonies' languages with counts: the most used first, or by code."""
    counts = [(code, len(ids)) for code, ids in catalog.languages(snap).items()]
    if by_count:
        counts.sort(key=lambda kv: (-kv[1], kv[0]))
    return [
        {**language_info(code), "count": n, "url": url_for("archive.browse_language", code=code)}
        for code, n in counts
    ]


# --- pages ----------------------------------------------------------------------


def home(snap: Snapshot, args: MultiDict) -> dict[str, Any]:
    recent = [t for t in catalog.newest(snap) if t.date][:8]
    return {
        "totals": catalog.totals(snap),
        "themes": _theme_tree(snap, only_used=True),
        "languages": _languages(snap, by_count=True),
        "recent": [summary(snap, t) for t in recent],
    }


def _filters(snap: Snapshot, args: MultiDict) -> dict[str, list[str]]:
    """The filters as the request gives them (in its order, each once): links keep that
    order. How many values a facet may have is search's rule; a theme is checked here
    only to name the themes page in the message."""
    filters: dict[str, list[str]] = {}
    for facet in FACETS:
        values = [v.strip() for v in args.getlist(facet) if v.strip()]
        if values:
            filters[facet] = list(dict.fromkeys(values))
    for slug in filters.get("theme", []):
        if slug not in snap.archive.vocabulary:
            raise PageError(400, f"unknown theme {slug[:60]!r}: choose one from the themes page")
    return filters


class _SearchLinks:
    """Links to the search page for a query, filters, sort and page: a page of results
    links to tens (a toggle for every facet value), so the search page's URL is found
    once and each value is quoted once. Parameters are written as ``urlencode`` writes
    them; their names need no quoting."""

    def __init__(self) -> None:
        self.base = url_for("archive.search_page")
        self._quoted: dict[str, str] = {}

    def _quote(self, value: str) -> str:
        quoted = self._quoted.get(value)
        if quoted is None:
            quoted = self._quoted[value] = quote_plus(value)
        return quoted

    def __call__(
        self,
        q: str,
        filters: dict[str, list[str]],
        sort: str,
        page: int = 1,
        *,
        mode: str = MODES[0],
        view: str = VIEWS[0],
        testimony: str | None = None,
    ) -> str:
        params: list[tuple[str, str]] = [("q", q)] if q else []
        for facet in FACETS:
            params += [(facet, v) for v in filters.get(facet, [])]
        if sort != "relevance":
            params.append(("sort", sort))
        if mode != MODES[0]:
            params.append(("mode", mode))
        if view != VIEWS[0]:
            params.append(("view", view))
        if testimony:
            params.append(("testimony", testimony))
        if page > 1:
            params.append(("page", str(page)))
        query = "&".join(f"{name}={self._quote(value)}" for name, value in params)
        return self.base + (f"?{query}" if query else "")


def _choice(args: MultiDict, name: str, choices: tuple[str, ...]) -> str:
    value = arg(args, name, choices[0]) or choices[0]
    if value not in choices:
        raise PageError(400, f"{name} must be one of: {', '.join(choices)}")
    return value


def search_page(snap: Snapshot, args: MultiDict) -> dict[str, Any]:
    """The search page's data, and ``/search.json`` as it is: the search's own
    JSON shape (:class:`archive.search.SearchResults`) with the page's links."""
    q = arg(args, "q")
    filters = _filters(snap, args)
    sort = _choice(args, "sort", SORTS)
    mode = _choice(args, "mode", MODES)
    view = _choice(args, "view", VIEWS)
    testimony = arg(args, "testimony") or None
    page = page_number(args)
    data: dict[str, Any] = {
        "query": q,
        "date_example": date_example(snap),
        "filters": filters,
        "sort": sort,
        "mode": mode,
        "view": view,
        "testimony": testimony,
        "page": page,
        "searched": bool(q or filters or testimony),
    }
    if not data["searched"]:
        return data
    try:
        found = search(
            snap.search_index(),
            q,
            filters=filters or None,
            page=page,
            per_page=PER_PAGE,
            sort=sort,
            base_url=_base(),
            exclude=snap.stale_testimonies(),
            mode=mode,
            view=view,
            testimony=testimony,
        )
    except QueryError as exc:
        raise PageError(400, str(exc)) from None
    if found.past_end:
        raise PageError(400, f"page {page} is past the last page ({found.pages})")
    results = found.as_dict()
    link = _SearchLinks()
    kept = {"mode": mode, "view": view, "testimony": testimony}
    labels = catalog.facet_labels(snap)
    facets = {}
    for facet in FACETS:
        chosen = set(filters.get(facet, []))
        entries = []
        for value, count in found.facets[facet]:
            selected = value in chosen
            toggled = {k: list(v) for k, v in filters.items()}
            if selected:
                toggled[facet] = [v for v in toggled[facet] if v != value]
            else:
                toggled.setdefault(facet, []).append(value)
            entries.append(
                {
                    "value": value,
                    "label": labels.get(facet, {}).get(value, value),
                    "count": count,
                    "selected": selected,
                    "url": link(q, toggled, sort, **kept),
                }
            )
        facets[facet] = entries
    results["facets"] = facets
    results["searched"] = True
    results["date_example"] = data["date_example"]
    results["previous"] = link(q, filters, sort, page - 1, **kept) if page > 1 else None
    results["next"] = link(q, filters, sort, page + 1, **kept) if page < found.pages else None
    results["sort_urls"] = {s: link(q, filters, s, mode=mode, view=view, testimony=testimony)
                            for s in SORTS}  # fmt: skip
    results["mode_urls"] = {m: link(q, filters, sort, mode=m, view=view, testimony=testimony)
                            for m in MODES}  # fmt: skip
    results["view_urls"] = {v: link(q, filters, sort, mode=mode, view=v, testimony=testimony)
                            for v in VIEWS}  # fmt: skip
    results["clear_url"] = link(q, {}, sort, **kept) if filters else None
    suggestion = found.suggestion
    results["suggestion_url"] = link(suggestion, filters, sort, **kept) if suggestion else None
    instead = found.search_instead
    results["search_instead_url"] = link(instead, filters, sort, **kept) if instead else None
    for group in results["groups"]:
        group["language_info"] = language_info(group["language"] or "")
        group["more_url"] = (
            link(q, filters, sort, mode=mode, view="passages", testimony=group["testimony"])
            if group["more"]
            else None
        )
    return results


SEARCH_HELP = [
    ("leave", "Every form of the word: leaves, leaving. Russian and Ukrainian words "
     "are found in all their forms too.", "leave"),
    ("shot themselves to get to hospital", "A description: passages with every word first, "
     "then those with most of them, each saying which words it lacks.",
     "shot themselves to get to hospital"),
    ("+leave hospital", "+ requires a word, as typed.", "+leave hospital"),
    ('"at home"', "The exact phrase. «Ёлочки» and „other“ quotes work too.", '"at home"'),
    ("leave OR furlough", "Either word (OR in capitals).", "отпуск OR отпуска"),
    ("border -Kazakhstan", "Leave out passages with a word (or NOT word).", "leave -hospital"),
    ("medic*", "Words that begin with these letters (at least three).", "medic*"),
    ("theme:furlough", "Passages tagged with a theme or a narrower one.", "theme:hiding"),
    ("lang:uk", "Only testimonies in one language (en, ru, uk).", "lang:ru отпуск"),
    ("place:Румунії", "Testimonies from a place (a word of it as written).", "place:Румунії"),
    ("narrator:Andrei", "Testimonies by a narrator.", "narrator:Andrei"),
    ("date:YEAR..YEAR", "Interviews from a year, a month (YEAR-05) or a range.", "date:"),
    ("ушел = ушёл", "Case, ё/е and the different apostrophes do not matter.", "ушел"),
]  # fmt: skip


def date_example(snap: Snapshot) -> str | None:
    """A date: filter that fits this archive: its first and last interview years."""
    years = sorted({t.date.year for t in snap.archive.public(snap.today) if t.date})
    if not years:
        return None
    return f"date:{years[0]}" if years[0] == years[-1] else f"date:{years[0]}..{years[-1]}"


def search_help(snap: Snapshot, args: MultiDict) -> dict[str, Any]:
    dates = date_example(snap)
    rows = []
    for syntax, meaning, example in SEARCH_HELP:
        if example == "date:":  # written from the archive's own years
            if dates is None:
                continue
            first = dates.removeprefix("date:").split("..")[0]
            syntax, example = dates, f"date:{first}"
            meaning = meaning.replace("YEAR", first)
        rows.append(
            {
                "syntax": syntax,
                "meaning": meaning,
                "example": example,
                "url": url_for("archive.search_page", q=example),
            }
        )
    return {
        "syntax": rows,
        "filters": list(FACETS),
        "sorts": list(SORTS),
        "per_page": PER_PAGE,
    }


def _public_testimony(snap: Snapshot, testimony_id: str) -> Testimony:
    t = snap.archive.get_public(testimony_id, snap.today)
    if t is None:
        raise not_found()
    return t


def anchor_from_args(args: MultiDict, raw_query: bytes) -> Anchor | QuoteRef | None:
    """The ``a`` parameter: a :class:`QuoteRef` (offsets and checksum, today's links) or
    an :class:`Anchor` (the words, links made before), whose ``%`` escapes may have been
    encoded once or twice: such links pasted the words' escapes in raw or escaped them
    again, so the raw query string is read as a fallback."""
    value = args.get(ANCHOR_PARAM)
    if value is None:
        return None
    try:
        return parse_param(value)
    except AnchorError as first:
        for pair in raw_query.split(b"&"):
            name, _, raw = pair.partition(b"=")
            if name == ANCHOR_PARAM.encode() and raw:
                try:
                    return parse_param(raw.decode("ascii"))
                except (AnchorError, UnicodeDecodeError):
                    break
        raise PageError(400, f"This quote link cannot be read: {first}") from None


def _passage_at(t: Testimony, offsets: dict[str, int], position: int) -> str | None:
    found = None
    for p in t.passages:
        if offsets[p.id] <= position:
            found = p.id
    return found


def _ledger_quote_at(snap: Snapshot, t: Testimony, anchor: Anchor | None) -> Placed | None:
    """The ledger quote of exactly these words, where they are now, if there is one."""
    if anchor is None:
        return None
    for placed in snap.placed_quotes().get(t.id, ()):
        if (placed.start, placed.end) == (anchor.start, anchor.end):
            return placed
    return None


def _citation(snap: Snapshot, t: Testimony, anchor: Anchor | None) -> Citation:
    """Words in the ledger are cited with their short link, in every format."""
    placed = _ledger_quote_at(snap, t, anchor)
    quote_id = placed.quote.id if placed is not None else None
    path = citation_url(t.id, anchor, quote_id=quote_id, base_url=_base())
    return make_citation(t, anchor, url=absolute(path), accessed=snap.today)


def _quoted_in_print(snap: Snapshot, t: Testimony) -> dict[str, list[dict[str, str]]]:
    """Passage id -> the ledger quotes it holds now (orphaned ones hold none)."""
    offsets = passage_offsets(t)
    marks: dict[str, list[dict[str, str]]] = {}
    for placed in snap.placed_quotes().get(t.id, ()):
        if placed.start is None:
            continue
        passage = _passage_at(t, offsets, placed.start)
        if passage is not None:
            link = quote_url(placed.quote.id, _base())
            marks.setdefault(passage, []).append({"id": placed.quote.id, "url": link})
    return marks


def _ledger_spans(snap: Snapshot, t: Testimony) -> list[dict[str, Any]]:
    """The ledger quotes of ``t`` where they are now (public data: id, code-point offsets in
    the public text, short link), so the static export's page script cites words that are
    in the ledger with the short link, as :func:`_citation` does on the server."""
    return [
        {
            "id": placed.quote.id,
            "start": placed.start,
            "end": placed.end,
            "url": absolute(quote_url(placed.quote.id, _base())),
        }
        for placed in snap.placed_quotes().get(t.id, ())
        if placed.start is not None
    ]


def _served() -> bool:
    """False in the static export, where no server answers the app's own endpoints
    (citation files, anchor.json): their URLs are None there."""
    return not current_app.config.get(STATIC_EXPORT)


def citation_downloads(t: Testimony, anchor: Anchor | None) -> list[dict[str, Any]]:
    """Each citation format as a file to download. A static site has no server to make
    the files, and one per format would multiply the files to publish by six: there
    ``url`` is None and the page's script saves the citation text it shows."""
    extra = {ANCHOR_PARAM: anchor.to_param()} if anchor else {}
    served = _served()
    return [
        {
            "format": fmt,
            "label": label,
            "filename": download_name(t.id, anchor, fmt),
            "media_type": media_type,
            "url": url_for("archive.cite", testimony_id=t.id, fmt=fmt, **extra) if served else None,
        }
        for fmt, (label, media_type, _) in FORMATS.items()
    ]


def published_media(t: Testimony) -> list[dict[str, Any]]:
    """The recordings a reader can hear: published copies only (redactions silent; see
    :mod:`webapp.media`), never the originals. The export lists the copies it verified;
    the server, every recording of the (public) testimony, made on first request."""
    exported = current_app.config.get(EXPORT_MEDIA)
    numbers = range(1, len(t.media) + 1)
    if current_app.config.get(STATIC_EXPORT):
        numbers = [n for n in numbers if (t.id, n) in (exported or {})]
    return [
        {
            "recording": n,
            "url": url_for("archive.media", testimony_id=t.id, number=n),
            "media_type": MEDIA_TYPE,
        }
        for n in numbers
    ]


def testimony(
    snap: Snapshot, args: MultiDict, testimony_id: str, raw_query: bytes = b""
) -> dict[str, Any]:
    t = _public_testimony(snap, testimony_id)
    anchor = anchor_from_args(args, raw_query)
    offsets = passage_offsets(t)
    text = public_text(t)
    highlight = None
    orphan = False
    if anchor is not None:
        match = resolve_link(anchor, text)
        if match is None:
            # Only what is true: these words are not in the text now. A link is anyone's
            # to write, so its words (links made before carried them) are never shown:
            # not as the witness's, not as a claim beside the testimony, not as an edit.
            orphan = True
        else:
            highlight = {
                "start": match.start,
                "end": match.end,
                "score": round(match.score, 3),
                "exact": match.score == 1.0,
                "passage": _passage_at(t, offsets, match.start),
                "quote": text[match.start : match.end],
                "time": None,
            }
    translations = [
        {
            "id": other.id,
            "title": other.title,
            "language": language_info(other.language),
            "original": other.id == (t.translation_of or t.id),
            "url": url_for("archive.testimony", testimony_id=other.id),
        }
        for other in snap.archive.translations(t)
        if other.is_public(snap.today)
    ]
    quoted = _quoted_in_print(snap, t)
    media = published_media(t)
    playable = {m["recording"] for m in media}
    blocks = []
    for block in t.blocks:
        passages = [
            {**passage_dict(snap, t, p, offsets[p.id]), "quoted": quoted.get(p.id, [])}
            for p in block.passages
        ]
        for p in passages:
            if p["time"] is not None:
                p["time"]["playable"] = p["time"]["recording"] in playable
        blocks.append({"tag": block.tag, "id": block.id, "html": block.html, "passages": passages})
    if highlight is not None and highlight["passage"]:
        highlighted = t.passage(highlight["passage"])
        highlight["time"] = passage_time(t, highlighted) if highlighted else None
    # Opened at words that resolved, the citation box cites them (as cite.txt?a= does).
    quoted_anchor = _anchor_at(t, match.start, match.end) if highlight is not None else None
    citation = _citation(snap, t, quoted_anchor)
    return {
        "testimony": {
            **summary(snap, t),
            "interviewer": t.interviewer,
            "source": t.source,
            "license": t.license,
            "translation_of": t.translation_of
            if t.translation_of and snap.archive.get_public(t.translation_of, snap.today)
            else None,
            "passages": len(t.passages),
            "all_themes": [theme_ref(snap, s) for s in sorted(t.all_themes)],
            "media": media,
        },
        "translations": translations,
        "blocks": blocks,
        "highlight": highlight,
        "orphan": orphan,
        "citation": {
            "url": citation.url,
            "quote": quoted_anchor.exact if quoted_anchor is not None else None,
            "testimony_url": url_for("archive.testimony", testimony_id=t.id),
            "formats": all_formats(citation),
            "downloads": citation_downloads(t, quoted_anchor),
        },
        "ledger": _ledger_spans(snap, t) if not _served() else [],
        "anchor_endpoint": url_for("archive.anchor", testimony_id=t.id) if _served() else None,
        "ledger_endpoint": url_for("editor.record_quote", testimony_id=t.id)
        if current_app.config.get(EDITOR)
        else None,
    }


def _int_arg(args: MultiDict, name: str) -> int:
    raw = arg(args, name)
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise PageError(400, f"{name} must be a character offset (a whole number from 0)")
    return int(raw)


def anchor_for_selection(
    snap: Snapshot, args: MultiDict, testimony_id: str, raw_query: bytes = b""
) -> dict[str, Any]:
    """What the page script asks for a selection: the link and citations of those words."""
    t = _public_testimony(snap, testimony_id)
    text = public_text(t)
    offsets = passage_offsets(t)
    start, end = _int_arg(args, "start"), _int_arg(args, "end")
    if 0 <= start < end <= len(text):  # a selection's stray edge whitespace is not the quote
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
    passage = _passage_at(t, offsets, start)
    try:
        anchor = make_anchor(text, start, end, testimony=t.id, passage=passage)
    except AnchorError as exc:
        raise PageError(400, str(exc)) from None
    return _selection_answer(snap, t, anchor)


def _selection_answer(snap: Snapshot, t: Testimony, anchor: Anchor) -> dict[str, Any]:
    citation = _citation(snap, t, anchor)
    return {
        "testimony": t.id,
        "passage": anchor.passage,
        "quote": anchor.exact,
        "anchor": anchor.as_dict(),
        "param": anchor.to_param(),
        "url": citation.url,
        "path": _turl(t.id, passage=anchor.passage, anchor=anchor),
        "citations": all_formats(citation),
        "downloads": citation_downloads(t, anchor),
    }


def ledger_quote(snap: Snapshot, args: MultiDict, quote_id: str) -> dict[str, Any]:
    """``/q/ID/``: a ledger quote in its passage, highlighted, with its citations.

    A quote of a testimony that is not public is a 404 like the testimony's
    own page. One whose words were edited, or are no longer found, says so and
    shows the words as the ledger recorded them: the archive's own record, never
    words from the request, and never words that are private now. An orphaned
    quote has no citation (the testimony is not the quote); a changed one is
    cited as its words read now.
    """
    quote = snap.ledger().get(quote_id)
    if quote is None:
        raise not_found()
    t = _public_testimony(snap, quote.testimony)
    text = public_text(t)
    offsets = passage_offsets(t)
    placed = next((p for p in snap.placed_quotes().get(t.id, ()) if p.quote.id == quote.id), None)
    orphaned = placed is None or placed.start is None
    changed = placed is not None and placed.changed
    # The ledger's record of the words, shown where the text no longer holds them as cited:
    # the archive's own record (never the request's), withheld if any of it is private now.
    # What is private is gathered once per snapshot, not walked again for each request.
    withheld = (orphaned or changed) and snap.memo(
        "private_text", lambda: PrivateText(snap.archive, snap.today)
    ).holds(quote.exact)
    page: dict[str, Any] = {
        "id": quote.id,
        "url": absolute(quote_url(quote.id, _base())),
        "cited": quote.cited.isoformat(),
        "testimony": {**summary(snap, t), "interviewer": t.interviewer},
        "orphaned": orphaned,
        "changed": changed,
        "recorded": quote.exact if (orphaned or changed) and not withheld else None,
        "withheld": withheld,
    }
    if placed is None or placed.start is None or placed.end is None:
        page["passage"] = None
        page["testimony_url"] = url_for("archive.testimony", testimony_id=t.id)
        # Nothing to cite: the words are not in the text, and the testimony is not the quote.
        page["citation"] = None
        return page
    passage_id = _passage_at(t, offsets, placed.start) or ""
    p = t.passage(passage_id)
    begin = offsets.get(passage_id, 0)
    finish = begin + len(p.public_text) if p is not None else len(text)
    start, end = placed.start, min(placed.end, finish)
    page["passage"] = {
        "id": passage_id,
        "before": text[begin:start],
        "quote": text[start:end],
        "after": text[end:finish],
        "continues": placed.end > finish,
    }
    anchor = make_anchor(text, placed.start, placed.end, testimony=t.id, passage=passage_id)
    page["testimony_url"] = _turl(t.id, passage=passage_id, anchor=anchor)
    citation = _citation(snap, t, anchor)  # a changed quote: the words as they read now
    page["citation"] = {"url": citation.url, "formats": all_formats(citation)}
    return page


def record_quote(snap: Snapshot, payload: Any, testimony_id: str) -> dict[str, Any]:
    """Editor mode: put a selection in the ledger and answer as ``anchor.json`` does,
    with the quote's short link."""
    t = _public_testimony(snap, testimony_id)
    if not isinstance(payload, dict):
        raise PageError(400, 'send {"start": N, "end": M} as JSON')
    start, end = payload.get("start"), payload.get("end")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
        raise PageError(400, "start and end must be character offsets (whole numbers)")
    try:
        quote, new = add_quote_at(
            snap.config.testimonies, t, int(start), int(end), today=snap.today, snap=True
        )
    except ArchiveError as exc:
        raise PageError(400, str(exc)) from None
    snap.forget("placed_quotes")
    return {"id": quote.id, "new": new, **_selection_answer(snap, t, quote.anchor)}


def citation_for(
    snap: Snapshot, args: MultiDict, testimony_id: str, fmt: str, raw_query: bytes = b""
) -> Citation:
    t = _public_testimony(snap, testimony_id)
    if fmt not in FORMATS:
        raise not_found()
    anchor = anchor_from_args(args, raw_query)
    if anchor is not None:
        match = resolve_link(anchor, public_text(t))
        if match is None:
            raise PageError(404, LINK_NOT_FOUND)
        anchor = _anchor_at(t, match.start, match.end)
    return _citation(snap, t, anchor)


def _anchor_at(t: Testimony, start: int, end: int) -> Anchor:
    """The anchor of the words a link resolved to, as they read now: what is cited."""
    passage = _passage_at(t, passage_offsets(t), start)
    return make_anchor(public_text(t), start, end, testimony=t.id, passage=passage)


def themes_index(snap: Snapshot, args: MultiDict) -> dict[str, Any]:
    return {"themes": _theme_tree(snap, only_used=False)}


def theme(snap: Snapshot, args: MultiDict, slug: str) -> dict[str, Any]:
    vocab = snap.archive.vocabulary
    if slug not in vocab:
        raise not_found()
    page = page_number(args)
    item = vocab.themes[slug]
    tagged_testimonies, passages = catalog.theme_members(snap)[slug]
    tagged = [summary(snap, t) for t in tagged_testimonies]
    window = paginate(passages, page, LIST_PER_PAGE, "archive.theme", slug=slug)
    groups: list[dict[str, Any]] = []
    for t, p, offset in window["items"]:
        if not groups or groups[-1]["testimony"]["id"] != t.id:
            groups.append({"testimony": summary(snap, t), "passages": []})
        groups[-1]["passages"].append(passage_dict(snap, t, p, offset, with_link=True))
    del window["items"]
    counts = catalog.theme_counts(snap)
    return {
        "theme": {
            **theme_ref(snap, slug),
            "labels": dict(item.labels),
            "description": item.description,
            "testimonies": counts[slug]["testimonies"],
            "passages": counts[slug]["passages"],
        },
        "broader": [theme_ref(snap, b.slug) for b in reversed(vocab.ancestors(slug))],
        "narrower": [
            {**theme_ref(snap, n.slug), "passages": counts[n.slug]["passages"]}
            for n in vocab.narrower(slug)
        ],
        "tagged_testimonies": tagged,
        "groups": groups,
        "pagination": window,
    }


def browse(snap: Snapshot, args: MultiDict) -> dict[str, Any]:
    periods = catalog.periods(snap)

    def period(name: str) -> dict[str, Any]:
        return {
            "period": name,
            "count": len(periods[name]),
            "url": url_for("archive.browse_date", period=name),
        }

    return {
        "places": [
            {
                "slug": entry["slug"],
                "name": entry["names"][0],
                "language": entry["language"],
                "count": len(entry["ids"]),
                "url": url_for("archive.browse_place", slug=entry["slug"]),
            }
            for entry in catalog.places(snap).values()
        ],
        "decades": [
            {**period(decade), "years": [period(year) for year in years]}
            for decade, years in catalog.decades(snap).items()
        ],
        "undated": {
            "count": len(periods.get(UNDATED, [])),
            "url": url_for("archive.browse_date", period=UNDATED),
        },
        "languages": _languages(snap, by_count=False),
    }


def _listing(
    snap: Snapshot, args: MultiDict, ids: Iterable[str], endpoint: str, **values: Any
) -> dict[str, Any]:
    page = page_number(args)
    public = catalog.public_by_id(snap)
    items = catalog.newest_first(public[i] for i in set(ids) if i in public)
    window = paginate(items, page, LIST_PER_PAGE, endpoint, **values)
    window["items"] = [summary(snap, t) for t in window["items"]]
    return window


def browse_place(snap: Snapshot, args: MultiDict, slug: str) -> dict[str, Any]:
    entry = catalog.places(snap).get(slug)
    if entry is None:
        raise not_found()
    return {
        "facet": "place",
        "value": slug,
        "label": " / ".join(entry["names"]),
        "label_language": entry["language"],
        "testimonies": _listing(snap, args, entry["ids"], "archive.browse_place", slug=slug),
    }


def browse_date(snap: Snapshot, args: MultiDict, period: str) -> dict[str, Any]:
    ids = catalog.periods(snap).get(period)
    if ids is None:
        raise not_found()
    label = "Undated" if period == UNDATED else period
    return {
        "facet": "date",
        "value": period,
        "label": label,
        "testimonies": _listing(snap, args, ids, "archive.browse_date", period=period),
    }


def browse_language(snap: Snapshot, args: MultiDict, code: str) -> dict[str, Any]:
    ids = catalog.languages(snap).get(code)
    if not ids:
        raise not_found()
    info = language_info(code)
    return {
        "facet": "language",
        "value": code,
        "label": info["name"],
        "language": info,
        "testimonies": _listing(snap, args, ids, "archive.browse_language", code=code),
    }


MAX_QUOTE_INPUT = MAX_QUOTE_CHARS  # a longer text could not be cited as one quote


def _diff_parts(diff: list[dict[str, str]]) -> list[dict[str, str]]:
    """The quote checker's ops, as the page shows them: what the testimony says,
    with the quote's own words struck (``delete``) and the source's words the
    quote changed or left out marked (``insert``)."""
    parts: list[dict[str, str]] = []
    for op in diff:
        kind, source, quoted = op.get("op"), op.get("source", ""), op.get("quoted", "")
        if kind == "equal":
            parts.append({"op": "equal", "text": source})
            continue
        if quoted:
            parts.append({"op": "delete", "text": quoted})
        if source:
            parts.append({"op": "insert", "text": source})
    spaced: list[dict[str, str]] = []
    for i, part in enumerate(parts):
        spaced.append({**part, "text": part["text"] + (" " if i < len(parts) - 1 else "")})
    return spaced


def quote_check(snap: Snapshot, args: MultiDict) -> dict[str, Any]:
    text = args.get("text", "")
    text = text if isinstance(text, str) else ""
    data: dict[str, Any] = {"text": text, "checked": bool(text.strip()), "matches": []}
    if not text.strip():
        return data
    if len(text) > MAX_QUOTE_INPUT:
        raise PageError(400, f"the quote is too long (at most {MAX_QUOTE_INPUT} characters)")
    try:
        result = check_quote(
            snap.search_index(),
            text,
            limit=3,
            base_url=_base(),
            exclude=snap.stale_testimonies(),
            workers=snap.quote_workers,
        ).as_dict()
    except (QueryError, AnchorError) as exc:
        raise PageError(400, str(exc)) from None
    matches = []
    for match in result.get("matches", []):
        t = snap.archive.get_public(match.get("testimony", ""), snap.today)
        if t is None:
            continue
        match = dict(match)
        anchor = None
        if match.get("anchor"):
            try:
                anchor = Anchor(**match["anchor"])
            except (AnchorError, TypeError):
                anchor = None
        match["testimony_info"] = summary(snap, t)
        match["diff_parts"] = _diff_parts(match.get("diff", []))
        match["citations"] = all_formats(_citation(snap, t, anchor))
        matches.append(match)
    data["found"] = bool(result.get("found"))
    data["timed_out"] = bool(result.get("timed_out"))
    data["matches"] = matches
    return data


def feed_entries(snap: Snapshot, limit: int = 50) -> list[Testimony]:
    return catalog.newest(snap)[:limit]


def sitemap_urls(snap: Snapshot) -> list[str]:
    urls = [url_for("archive.home"), url_for("archive.themes"), url_for("archive.browse")]
    urls += [url_for("archive.search_help"), url_for("archive.quote")]
    counts = catalog.theme_counts(snap)
    urls += [url_for("archive.theme", slug=s) for s, c in counts.items() if c["passages"]]
    urls += [url_for("archive.browse_place", slug=s) for s in catalog.places(snap)]
    urls += [url_for("archive.browse_date", period=p) for p in sorted(catalog.periods(snap))]
    urls += [url_for("archive.browse_language", code=c) for c in catalog.languages(snap)]
    urls += [url_for("archive.testimony", testimony_id=t.id) for t in catalog.public(snap)]
    return [absolute(u) for u in urls]
