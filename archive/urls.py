"""One place for the public URL of every page.

The web app registers its routes from these patterns and the library builds
links (search hits, quote-check citations, CLI JSON) with the same functions,
so links and pages can never drift apart. Paths end in ``/`` so that a static
export can serve each page as ``.../index.html`` from any web host.
"""

from __future__ import annotations

from urllib.parse import quote

__all__ = [
    "ANCHOR_PARAM",
    "QUOTE",
    "TESTIMONY",
    "THEME",
    "Quoting",
    "join_base",
    "quote_all",
    "quote_path",
    "quote_url",
    "testimony_url",
    "theme_url",
]

TESTIMONY = "/t/<testimony_id>/"
THEME = "/themes/<slug>/"
#: A quote in the ledger (``archive.ledger``): short enough to print.
QUOTE = "/q/<quote_id>/"
#: The query parameter carrying a quote anchor in its compact form.
ANCHOR_PARAM = "a"


class Quoting:
    """``quote(text, safe=safe)``, with the characters of ``also`` escaped too.

    ASCII text, most of what links quote, takes one ``str.translate`` with a
    table made once: every search hit's link quotes a few snippets of text,
    and ``quote`` walks them byte by byte in Python.
    """

    def __init__(self, also: str = "", safe: str = "") -> None:
        self.safe = safe
        self.also = {c: f"%{ord(c):02X}" for c in also}
        kept = "_.-~" + safe
        self.table = {
            c: chr(c) if chr(c).isalnum() or chr(c) in kept else f"%{c:02X}" for c in range(128)
        }
        self.table.update({ord(c): escape for c, escape in self.also.items()})

    def __call__(self, text: str) -> str:
        if text.isascii():
            return text.translate(self.table)
        quoted = quote(text, safe=self.safe)
        for c, escape in self.also.items():
            quoted = quoted.replace(c, escape)
        return quoted


quote_all = Quoting()
#: ``quote(text)``: its default keeps ``/``.
quote_path = Quoting(safe="/")


def join_base(base_url: str, path: str) -> str:
    """``path`` (starting with /) under a base URL that may carry a sub-path."""
    return base_url.rstrip("/") + path if base_url else path


def testimony_url(
    testimony_id: str,
    passage: str | None = None,
    anchor=None,  # archive.anchors.Anchor; untyped here to keep this module import-free
    base_url: str = "",
) -> str:
    """Link to a testimony, optionally to a passage and exact words in it.

    With an anchor the link carries three things: ``?a=`` (offsets and a
    checksum, resolved by the server against the current text), ``#passage``
    and a ``:~:text=`` text fragment so browsers scroll natively even where the
    script cannot run.
    """
    url = join_base(base_url, TESTIMONY.replace("<testimony_id>", quote_path(testimony_id)))
    if anchor is not None:
        # START-END.CHECK: nothing to escape, so a link is never encoded twice.
        url += f"?{ANCHOR_PARAM}={anchor.to_param()}"
    fragment = quote_path(passage) if passage else ""
    if anchor is not None:
        fragment += f":~:text={anchor.to_text_fragment()}"
    return f"{url}#{fragment}" if fragment else url


def theme_url(slug: str, base_url: str = "") -> str:
    return join_base(base_url, THEME.replace("<slug>", quote_path(slug)))


def quote_url(quote_id: str, base_url: str = "") -> str:
    """The short link of a ledger quote (its id is a few letters and digits)."""
    return join_base(base_url, QUOTE.replace("<quote_id>", quote_path(quote_id)))
