"""What the page scripts share with Python, in one JSON document made from the modules that own it.

The static export's scripts (``export-quote.js``, ``export-search.js``) do in
the browser what the server does: read and resolve quote links, make
citations, read the query syntax, fold words, build testimony links. Every
number, table and pattern they need comes from here, and here only from the
Python module that owns the concept, so the two languages cannot drift
apart: ``archive-common.js`` reads this document from its own ``<script>``
element's ``data-page-config`` (no inline script: the CSP stays as it is),
and the templates take the limits and labels they show from it too.
``tests/data/shared_cases.json`` runs the rules both languages implement
(folding, the query syntax, anchors, citation text) against one table.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from archive.anchors import BROWSER_RULES, MAX_QUOTE_CHARS
from archive.citations import (
    ANNOTATION_CONTEXT,
    BIBTEX_REPLACE,
    BIBTEX_SPECIAL,
    FORMATS,
    QUOTE_DOWNLOAD_NAME,
    QUOTE_PREVIEW,
)
from archive.model import PASSAGE_SEPARATOR
from archive.query import FIELDS, OPERATORS, QUOTE_MARKS
from archive.urls import ANCHOR_PARAM

from .catalog import FACET_LABELS

__all__ = ["page_config", "page_config_json"]


def _char_class(chars: list[int]) -> str:
    """A regex character class body (``\\uXXXX`` escapes, ranges merged) for code points of the BMP."""
    ranges: list[list[int]] = []
    for cp in sorted(chars):
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "".join(f"\\u{lo:04x}" if lo == hi else f"\\u{lo:04x}-\\u{hi:04x}" for lo, hi in ranges)


def _python_text_rules() -> dict[str, str]:
    """Python's own whitespace (``str.split``, ``isspace``) and line breaks
    (``str.splitlines``), which are not quite JavaScript's ``\\s`` and ``\\n``."""
    bmp = [chr(cp) for cp in range(0x10000)]  # Python has no space or break beyond it
    space = [ord(c) for c in bmp if c.isspace()]
    breaks = [ord(c) for c in bmp if len(f"a{c}b".splitlines()) == 2]
    return {"whitespace": _char_class(space), "line_breaks": _char_class(breaks)}


@cache
def page_config() -> dict[str, Any]:
    """The document, built once per process (everything in it is a constant)."""
    return {
        "max_quote_chars": MAX_QUOTE_CHARS,
        "passage_separator": PASSAGE_SEPARATOR,
        "anchor": BROWSER_RULES,
        "python": _python_text_rules(),
        "query": {
            "quote_marks": QUOTE_MARKS,
            "fields": FIELDS,
            "operators": list(OPERATORS),
            # The filters the static search turns into Pagefind filters: filter -> facet.
            "filter_facets": {"theme": "theme", "lang": "language"},
        },
        "facets": [[name, label] for name, label in FACET_LABELS.items()],
        "citation": {
            "formats": [[fmt, label] for fmt, (label, _, _) in FORMATS.items()],
            "quote_preview": QUOTE_PREVIEW,
            "annotation_context": ANNOTATION_CONTEXT,
            "bibtex_special": BIBTEX_SPECIAL.pattern,
            "bibtex_replace": BIBTEX_REPLACE,
            "quote_download_name": QUOTE_DOWNLOAD_NAME,
        },
        "testimony_url": {"anchor_param": ANCHOR_PARAM},
    }


@cache
def page_config_json() -> str:
    return json.dumps(page_config(), ensure_ascii=True, separators=(",", ":"))
