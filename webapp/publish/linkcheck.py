"""Prove that every internal link and asset of an exported site resolves to a file.

Checked: ``href``, ``src``, ``srcset``, ``action`` and ``poster`` in HTML
(``<a>``, ``<link rel=...>``, ``<script src>``, images, forms), ``url()`` and
``@import`` in CSS (files, ``<style>`` blocks and ``style=`` attributes), and
the addresses in the sitemap, the feed, the OpenSearch description and
``robots.txt``. A link resolves when the file it names exists (a path ending
in ``/`` names its ``index.html``); a ``#fragment`` on an HTML page must name
an ``id`` on that page (the ``:~:text=`` part of a fragment is for the
browser and is not checked). The site may live under a sub-path: with
``base_url="https://example.org/archive/"`` a link must start with
``/archive/`` (or the full base URL) to stay inside it, and ``/archive/t/x/``
is the file ``t/x/index.html``. Links to other sites are counted, not
followed.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

__all__ = ["BrokenLink", "LinkReport", "check_links"]

_TAG_RE = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)(\s[^<>]*?)?/?>", re.DOTALL)
_ATTR_RE = re.compile(r"""([^\s"'=<>/]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""")
_URL_ATTRS = {"href", "src", "action", "poster"}
_CSS_URL_RE = re.compile(
    r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)|@import\s+(?:"([^"]*)"|'([^']*)')"""
)
_STYLE_BLOCK_RE = re.compile(r"<style\b[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)
_XML_LINK_RE = re.compile(
    r"""<(?:loc|Image)\b[^>]*>\s*([^<\s]+)\s*<|\s(?:href|template)\s*=\s*"([^"]*)\""""
)
_ROBOTS_RE = re.compile(r"^\s*Sitemap:\s*(\S+)", re.MULTILINE | re.IGNORECASE)
_SKIP_SCHEMES = ("mailto:", "tel:", "data:", "blob:")


@dataclass(frozen=True)
class BrokenLink:
    file: str  # relative to the export root
    line: int
    url: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.url}: {self.reason}"


@dataclass
class LinkReport:
    files: int = 0
    links: int = 0
    external: int = 0
    broken: list[BrokenLink] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken


@dataclass
class _Link:
    file: str
    offset: int
    url: str


class _Site:
    def __init__(self, root: Path, base_url: str) -> None:
        self.root = root
        parts = urlsplit(base_url or "/")
        self.origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
        self.prefix = "/" + parts.path.strip("/") if parts.path.strip("/") else ""
        self.ids: dict[str, set[str]] = {}

    def page_url(self, rel: str) -> str:
        """The public URL path of the file ``rel``."""
        url = f"{self.prefix}/{rel}"
        return url[: -len("index.html")] if url.endswith("/index.html") else url

    def target(self, link: _Link) -> tuple[str | None, str, str | None]:
        """(file the link names, fragment, reason it is broken); file None for external links."""
        url = html.unescape(link.url).strip()
        if not url or url.startswith(_SKIP_SCHEMES):
            return None, "", None
        if url.lower().startswith("javascript:"):
            return "", "", "javascript: URL"
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            origin = f"{parts.scheme or 'https'}://{parts.netloc}"
            if not self.origin or origin.lower() != self.origin.lower():
                return None, "", None
            path = parts.path or "/"
        else:
            path = urlsplit(urljoin(self.page_url(link.file), url)).path
        fragment = parts.fragment
        if self.prefix:
            if path != self.prefix and not path.startswith(self.prefix + "/"):
                return "", fragment, f"outside the site's path {self.prefix}/"
            path = path[len(self.prefix) :] or "/"
        rel = unquote(path).lstrip("/")
        if rel == "" or rel.endswith("/"):
            rel += "index.html"
        if ".." in rel.split("/"):
            return "", fragment, "climbs out of the site"
        candidate = self.root / rel
        if candidate.is_file():
            return rel, fragment, None
        if candidate.is_dir() and (candidate / "index.html").is_file():
            return f"{rel}/index.html", fragment, None
        return rel, fragment, "no such file"


def _links_in_html(name: str, text: str, ids: set[str]) -> list[_Link]:
    links = []
    for tag in _TAG_RE.finditer(text):
        attrs = tag.group(2) or ""
        for attr in _ATTR_RE.finditer(attrs):
            key = attr.group(1).lower()
            value = next(v for v in attr.group(2, 3, 4) if v is not None)
            offset = tag.start(2) + attr.start()
            if key == "id" or (key == "name" and tag.group(1).lower() == "a"):
                ids.add(html.unescape(value))
            elif key in _URL_ATTRS:
                links.append(_Link(name, offset, value))
            elif key == "srcset":
                for candidate in html.unescape(value).split(","):
                    if candidate.strip():
                        links.append(_Link(name, offset, candidate.split()[0]))
            elif key == "style":
                links += _links_in_css(name, html.unescape(value), offset)
    for block in _STYLE_BLOCK_RE.finditer(text):
        links += _links_in_css(name, block.group(1), block.start(1))
    return links


def _links_in_css(name: str, text: str, base: int = 0) -> list[_Link]:
    return [
        _Link(name, base + m.start(), next(v for v in m.groups() if v is not None))
        for m in _CSS_URL_RE.finditer(text)
        if any(v for v in m.groups())
    ]


def _links_in_xml(name: str, text: str) -> list[_Link]:
    links = []
    for m in _XML_LINK_RE.finditer(text):
        url = m.group(1) or m.group(2)
        links.append(_Link(name, m.start(), url.split("{", 1)[0] if "{" in url else url))
    return links


def check_links(root: Path, base_url: str = "", *, fragments: bool = True) -> LinkReport:
    """Check every internal link of the site in ``root``, published at ``base_url``."""
    root = Path(root)
    site = _Site(root, base_url)
    report = LinkReport()
    texts: dict[str, str] = {}
    links: list[_Link] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        suffix = path.suffix
        if suffix not in (".html", ".css", ".xml") and name != "robots.txt":
            continue
        report.files += 1
        text = path.read_text(encoding="utf-8", errors="replace")
        texts[name] = text
        if suffix == ".html":
            site.ids[name] = set()
            links += _links_in_html(name, text, site.ids[name])
        elif suffix == ".css":
            links += _links_in_css(name, text)
        elif suffix == ".xml":
            links += _links_in_xml(name, text)
        else:
            links += [_Link(name, m.start(1), m.group(1)) for m in _ROBOTS_RE.finditer(text)]
    for link in links:
        target, fragment, reason = site.target(link)
        if target is None:
            report.external += 1
            continue
        report.links += 1
        if reason is None and fragments and fragment and target in site.ids:
            element = unquote(fragment.split(":~:", 1)[0])
            if element and element not in site.ids[target]:
                reason = f"no element with id '{element}' in {target}"
        if reason is not None:
            line = texts[link.file].count("\n", 0, link.offset) + 1
            report.broken.append(BrokenLink(link.file, line, html.unescape(link.url), reason))
    return report
