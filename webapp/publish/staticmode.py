"""What the page templates need when the app is rendered as a static website.

The export (:mod:`webapp.publish.export`) drives this same app through its test
client, with ``STATIC_EXPORT`` set. The templates then stay the app's own
and only add what a static host needs instead of the server: a
Content-Security-Policy ``<meta>`` (no response headers there), the page
scripts that do in the browser what the server does per request (search
with Pagefind, resolving ``?a=`` quote links, making links and citations
for selected words), and hidden notices those scripts fill in.

Nothing here changes what the live app renders: with ``STATIC_EXPORT``
unset the context only says ``static_export=False``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request

from archive.analysis import INWORD, stopwords
from archive.quotecheck import FOUND_SCORE, MIN_SCORE
from archive.search.compile import (
    MAX_TYPO_CHARS,
    MIN_SUGGEST_CHARS,
    MODES,
    min_should_match,
)
from archive.wordforms import MAX_ENDING, MIN_START, pagefind_form

from ..pageconfig import page_config_json
from ..security import CSP, SECURITY_HEADERS
from .pagefind import BUNDLE, WORD_STARTS

__all__ = [
    "EXPORT_MEDIA",
    "EXPORT_NOINDEX",
    "EXPORT_PREVIEW",
    "EXPORT_WORD_STARTS",
    "STATIC_EXPORT",
    "export_csp",
    "export_headers",
    "init_app",
]

#: ``app.config`` keys the export sets.
STATIC_EXPORT = "STATIC_EXPORT"
EXPORT_NOINDEX = "EXPORT_NOINDEX"
#: The published copies of recordings the export verified and writes:
#: ``{(testimony id, recording number): webapp.media.PublishedCopy}``.
EXPORT_MEDIA = "EXPORT_MEDIA"
#: A preview export (``--preview``): the date embargoes are judged on (ISO), else None.
EXPORT_PREVIEW = "EXPORT_PREVIEW"
#: The word-start table of the public text (:func:`archive.wordforms.chunks`): file -> part.
EXPORT_WORD_STARTS = "EXPORT_WORD_STARTS"

#: Directives a ``<meta>`` policy may not carry (browsers ignore them there and
#: log an error about it); a host that can send headers gets them from ``_headers``.
_HEADER_ONLY = ("frame-ancestors", "report-uri", "sandbox")

#: Page scripts per endpoint, loaded (deferred, in this order) before archive.js.
_SCRIPTS = {
    "archive.testimony": ("export-quote.js",),
    "archive.search_page": ("export-search.js",),
    "archive.quote": ("export-search.js",),
}


def _with_wasm(directive: str) -> str:
    """Pagefind compiles WebAssembly: the one addition its search needs."""
    name = directive.split()[0]
    return f"{directive} 'wasm-unsafe-eval'" if name == "script-src" else directive


def export_csp(*, meta: bool = True) -> str:
    """The app's own policy plus ``'wasm-unsafe-eval'``; as a ``<meta>``, without header-only directives."""
    directives = [d.strip() for d in CSP.split(";") if d.strip()]
    if meta:
        directives = [d for d in directives if d.split()[0] not in _HEADER_ONLY]
    return "; ".join(_with_wasm(d) for d in directives)


def export_headers(noindex: bool = False) -> dict[str, str]:
    """The app's security headers for hosts that read a ``_headers`` file."""
    headers = dict(SECURITY_HEADERS)
    headers["Content-Security-Policy"] = export_csp(meta=False)
    if noindex:
        headers["X-Robots-Tag"] = "noindex"
    return headers


def _search_labels() -> dict[str, dict[str, str]]:
    """Facet value -> label, so the search script shows what the server would."""
    from ..catalog import facet_labels
    from ..resources import get_resources

    return facet_labels(get_resources())


def _theme_family(slugs: list[str]) -> list[str]:
    """Themes and every broader one: filtering by a theme finds its narrower themes too."""
    from ..resources import get_resources

    return get_resources().archive.vocabulary.with_broader(slugs)


def search_rules() -> dict[str, Any]:
    """The server's best-match, "did you mean" and quote-check rules the search page applies,
    from the modules that own them (only the search and quote pages carry them)."""
    from archive.query import MAX_TERMS

    return {
        "modes": list(MODES),
        # Of n significant words, how many a testimony must hold: index n.
        "min_should_match": [min_should_match(n) for n in range(MAX_TERMS + 1)],
        # In Pagefind's spelling, as the word table's keys and the page's query words are.
        "stopwords": sorted({pagefind_form(w) for w in stopwords()}),
        # "Did you mean": words of these lengths, 1 edit below long_word letters, else 2.
        "suggest": {"min_chars": MIN_SUGGEST_CHARS, "max_chars": MAX_TYPO_CHARS, "long_word": 8},
        "quote": {"min_score": MIN_SCORE, "found_score": FOUND_SCORE},
    }


def _context() -> dict[str, Any]:
    config = current_app.config
    if not config.get(STATIC_EXPORT):
        return {"static_export": False}
    endpoint = request.endpoint or ""
    root = request.script_root
    export: dict[str, Any] = {
        "csp": export_csp(),
        "noindex": bool(config.get(EXPORT_NOINDEX)) or bool(config.get(EXPORT_PREVIEW)),
        "preview": config.get(EXPORT_PREVIEW),
        "scripts": _SCRIPTS.get(endpoint, ()),
        "pagefind": f"{root}/{BUNDLE}/pagefind.js",
        "site_root": f"{root}/",
        "theme_family": _theme_family,
        "page_config": page_config_json(),
    }
    if endpoint in ("archive.search_page", "archive.quote"):
        export["labels"] = _search_labels()
        export["search_rules"] = search_rules()
        export["word_starts"] = {
            "url": f"{root}/{WORD_STARTS}/",
            "files": " ".join(config.get(EXPORT_WORD_STARTS) or ()),
            "min_start": MIN_START,
            "max_ending": MAX_ENDING,
            "in_word": INWORD,
        }
    return {"static_export": True, "export": export}


def init_app(app: Flask) -> None:
    app.context_processor(_context)
