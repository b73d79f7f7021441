"""Publish the public part of the archive as a static website any web host can serve.

As in Frozen-Flask, the export *is* the app: every file is a response of
the same views, templates and ``url_for`` links, asked for through
``app.test_client()`` with ``STATIC_EXPORT`` set (see
:mod:`webapp.publish.staticmode` for the little the templates add then). As in
Pelican and MkDocs, it runs in phases, so nothing is written while sources
are still being read:

1. **read**: every testimony file is parsed and validated; any error stops
   the export with every ``file:line`` problem listed. Embargoes are judged
   on the export date (``now``).
2. **plan**: :func:`plan_site` computes every page, its request, its public
   URL and its output file, in one place, from the app's own data (its
   sitemap, themes and browse pages, pagination, feeds, static assets, the
   404 page). Citations are not files: each testimony page saves the ones
   it shows (see ``citation_downloads`` in :mod:`webapp.data`). Later pages
   of a listing get path URLs (``/themes/furlough/page/2/``), since a static
   host ignores ``?page=2``.
3. **write**: every planned page is rendered into a temporary directory
   beside ``out`` (testimony pages first, by forked workers where there are
   several cores); Pagefind indexes the testimony pages for search in the
   browser while the rest is rendered (:mod:`webapp.publish.pagefind`), and the
   table that finds other forms of Russian and Ukrainian words is written
   beside it (:mod:`archive.wordforms`); the result is checked for anything
   non-public (:mod:`webapp.publish.leakcheck`) and, with ``check``, for broken
   links (:mod:`webapp.publish.linkcheck`); then it replaces ``out`` in one rename.
   On any failure ``out`` stays as it was.

Two exports of the same archive on the same date are byte-identical: every
page comes from sorted data, nothing carries a build time (the dates in
citations and the feed come from ``now``), and the Pagefind files that
Pagefind itself writes in a random order are rewritten in a canonical one.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import fnmatch
import json
import multiprocessing
import os
import re
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask, request, url_for
from werkzeug.test import EnvironBuilder

from archive.config import Config, resolve_config
from archive.errors import ExportError, UnreadableFileError, ValidationErrors
from archive.ledger import Ledger, check_ledger, load_ledger
from archive.model import Archive, Testimony
from archive.parse import iter_testimony_files, load_archive
from archive.progress import progress
from archive.search import results as search_results
from archive.secrets import read_secrets
from archive.wordforms import chunks, word_starts

from ..media import MediaLeak, publish_all
from ..resources import get_resources
from .leakcheck import LeakReport, PrivateSide, check_export, source_digests
from .linkcheck import LinkReport, check_links
from .pagefind import BUNDLE, PAGEFIND_GLOB, index_site, write_word_starts
from .staticmode import (
    EXPORT_MEDIA,
    EXPORT_NOINDEX,
    EXPORT_PREVIEW,
    EXPORT_WORD_STARTS,
    STATIC_EXPORT,
    export_headers,
)

__all__ = [
    "PREVIEW_BASE_URL",
    "ExportReport",
    "Page",
    "check_site",
    "export_app",
    "export_site",
    "exported_base_url",
    "output_path",
    "plan_site",
    "private_side",
    "read_archive",
    "render_site",
]

#: Where absolute links point when no base URL is given: fit for a local preview only.
PREVIEW_BASE_URL = "http://localhost:8000/"
#: Endpoints whose later pages get a path URL of their own (``.../page/2/``).
PAGINATED = (
    "archive.theme",
    "archive.browse_place",
    "archive.browse_date",
    "archive.browse_language",
)
#: HTML pages with no place in the sitemap that the export still needs.
FIXED_PAGES = (
    "archive.home",
    "archive.search_page",
    "archive.search_help",
    "archive.themes",
    "archive.browse",
    "archive.quote",
)
DOCUMENTS = ("archive.feed", "archive.sitemap", "archive.opensearch", "archive.robots")
_NOT_A_PAGE = "/--export-404--/"


@dataclass(frozen=True)
class Page:
    """One file of the export: what to ask the app for, where it is linked from, where it goes."""

    request: str  # path below the site root, with a query when the page needs one
    url: str  # public URL path, the site root (sub-path) included: what links say
    path: str  # output file, relative to the export directory
    endpoint: str
    values: tuple[tuple[str, Any], ...] = ()
    status: int = 200


@dataclass
class ExportReport:
    out: Path
    base_url: str
    pages: int = 0
    files: int = 0
    bytes: int = 0
    testimonies: int = 0
    indexed: int = 0
    leaks: LeakReport | None = None
    links: LinkReport | None = None
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"Exported {self.testimonies} public testimonies in {self.pages} pages "
            f"({self.files} files, {self.bytes / 1e6:.1f} MB) to {self.out}",
            f"Search index: {self.indexed} pages. Base URL: {self.base_url}",
        ]
        if self.leaks is not None:
            unchecked = self.leaks.unchecked_redactions
            lines.append(
                f"Leak check: passed, {self.leaks.needles} private word sequences looked for in "
                f"{self.leaks.files} files"
                + (f" ({unchecked} redactions also occur in public text)" if unchecked else "")
            )
        if self.links is not None:
            lines.append(
                f"Link check: {self.links.links} internal links and assets resolve "
                f"({self.links.external} external links not followed)"
            )
        timings = ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items())
        lines.append(f"Time: {timings}")
        lines += [f"Warning: {w}" for w in self.warnings]
        return "\n".join(lines)


# --- URLs and files -----------------------------------------------------------------------


#: A clean published address: http(s), an ASCII host (IDNs in their xn-- form) or an
#: IPv6 literal, an optional port, and a path of unreserved characters and %XX escapes.
#: No user or password, query, fragment, quote, space or control character: the
#: address is written into attributes, XML, robots.txt and _headers as it is.
_BASE_URL_RE = re.compile(
    r"(?P<scheme>https?)://(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
    r"(?P<port>:[0-9]{1,5})?(?P<path>(?:/(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})*)*)",
    re.ASCII,
)


def normalise_base_url(base_url: str) -> str:
    """``https://example.org/archive`` -> ``https://example.org/archive/``; refuse anything else.

    Only a clean http(s) address passes (see ``_BASE_URL_RE``); the message names
    what is wrong without echoing control characters.
    """
    hint = "give the address the site will be published at, e.g. https://example.org/archive/"
    shown = ascii(base_url)
    match = _BASE_URL_RE.fullmatch(base_url)
    if match is None:
        try:
            parts = urlsplit(base_url) if base_url.isprintable() else None
        except ValueError:  # an unclosed IPv6 bracket, say
            raise ExportError(f"base URL {shown} is refused: it is not a valid address",
                              hint=hint) from None  # fmt: skip
        reason = (
            "it holds a control character" if parts is None
            else "it is not an http(s) address" if parts.scheme.lower() not in ("http", "https")
            else "it holds a user name or password" if "@" in parts.netloc
            else "it holds a query or fragment" if "?" in base_url or "#" in base_url
            else "it holds a space, a quote or another character a clean address has no "
            "need of (write it percent-encoded)"
        )  # fmt: skip
        raise ExportError(f"base URL {shown} is refused: {reason}", hint=hint)
    port = match["port"]
    if port is not None and not 0 < int(port[1:]) < 65536:
        raise ExportError(
            f"base URL {shown} is refused: port {port[1:]} is out of range", hint=hint
        )
    path = match["path"].strip("/")
    # Dot segments written percent-encoded are dot segments too, to a web server.
    if any(unquote(part) in (".", "..") for part in path.split("/")):
        raise ExportError(f"base URL {shown} is refused: its path has '.' or '..'", hint=hint)
    path = f"/{path}/" if path else "/"
    return f"{match['scheme']}://{match['host'].lower()}{port or ''}{path}"


def output_path(url: str, script_root: str = "") -> str:
    """The file a public URL path is written to: ``/archive/t/x/`` -> ``t/x/index.html``."""
    path = urlsplit(url).path
    if script_root and (path == script_root or path.startswith(script_root + "/")):
        path = path[len(script_root) :]
    path = unquote(path)
    if not path.startswith("/"):
        raise ExportError(f"page URL {url!r} is not under the site root {script_root or '/'}")
    if path.endswith("/"):
        path += "index.html"
    rel = path.lstrip("/")
    if not rel or any(part in ("", ".", "..") for part in rel.split("/")):
        raise ExportError(f"page URL {url!r} does not name a file inside the export")
    return rel


def _strip_root(url: str, script_root: str) -> str:
    parts = urlsplit(url)
    path = parts.path
    if script_root and path.startswith(script_root + "/"):
        path = path[len(script_root) :]
    return path + (f"?{parts.query}" if parts.query else "")


# --- the app, in export mode --------------------------------------------------------------


def export_app(
    config: Config,
    archive: Archive,
    base_url: str,
    today: dt.date,
    *,
    noindex: bool = False,
    ledger: Ledger | None = None,
    media: dict | None = None,
    preview: bool = False,
) -> Flask:
    """The app over an archive already read, with the settings a static site needs.

    ``base_url`` is the published address: its path becomes the script root
    every ``url_for`` link starts with, and absolute links (citations, feed,
    sitemap) use it whole. ``preview`` marks every page as a preview (a banner
    and ``noindex``). The word-start table of the public text (see
    :mod:`archive.wordforms`) is worked out here, once: the search page names
    its files, and the export writes them. ``media`` are the published copies of
    recordings (:func:`webapp.media.publish_all`): the pages offer those, and only those.
    """
    from .. import create_app
    from ..resources import use_archive

    root = urlsplit(base_url).path.rstrip("/")
    app = create_app(
        {
            "testimonies": config.testimonies,
            "index": config.index,
            "site_url": base_url,
            "today": today,
            "GENERATION_CHECK_SECONDS": float("inf"),
            "APPLICATION_ROOT": root or "/",
            "PREFERRED_URL_SCHEME": urlsplit(base_url).scheme,
            STATIC_EXPORT: True,
            EXPORT_NOINDEX: noindex or preview,
            EXPORT_PREVIEW: today.isoformat() if preview else None,
            EXPORT_WORD_STARTS: chunks(word_starts(archive.public(today))),
            EXPORT_MEDIA: dict(media or {}),
        }
    )
    for endpoint in PAGINATED:
        for rule in list(app.url_map.iter_rules(endpoint)):
            app.add_url_rule(f"{rule.rule}page/<int:page>/", endpoint=endpoint, build_only=True)
    use_archive(app, archive, ledger if ledger is not None else load_ledger(config.testimonies))
    return app


class _Renderer:
    """Asks the app for pages, as a browser at ``base_url`` would; keeps what planning read.

    Requests go straight to the app's WSGI callable, as a web server sends them, with an
    environment built once for the export's base URL: the test client would build a new
    one, keep cookies and wrap every response, which costs more than small pages such as
    a place's JSON take to render.
    """

    def __init__(self, app: Flask, base_url: str) -> None:
        self.app = app
        self.base_url = base_url
        self.cache: dict[str, bytes] = {}
        with app.test_client() as client:  # the environment its requests start from
            builder = EnvironBuilder(path="/", base_url=base_url, environ_base=client.environ_base)
            try:
                self._environ = builder.get_environ()
            finally:
                builder.close()

    def _respond(self, request: str) -> tuple[int, bytes]:
        path, _, query = request.partition("?")
        environ = dict(self._environ)
        environ["PATH_INFO"] = unquote(path, encoding="latin-1")  # WSGI's "bytes as latin-1"
        environ["QUERY_STRING"] = query
        environ["REQUEST_URI"] = environ["RAW_URI"] = environ["SCRIPT_NAME"] + request
        environ["wsgi.input"] = BytesIO()
        status: list[str] = []

        def start_response(line: str, headers: list, exc_info: Any = None) -> None:
            status[:] = [line]

        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return int(status[0].split(" ", 1)[0]), body

    def get(self, request: str, status: int = 200, *, keep: bool = False) -> bytes:
        if request in self.cache:
            return self.cache.pop(request) if not keep else self.cache[request]
        code, body = self._respond(request)
        if code != status:
            message = body.decode("utf-8", errors="replace")[:300]
            raise ExportError(
                f"{request} answered {code}, not {status}: {message}",
                hint="the app cannot render this page; run 'archive serve' and open it to see why",
            )
        if keep:
            self.cache[request] = body
        return body

    def json(self, request: str) -> Any:
        return json.loads(self.get(request, keep=True))


def _page_count(data: Any) -> int:
    """Pages of a paginated listing, from its JSON (``{"page": 1, "pages": N, ...}``)."""
    if isinstance(data, dict):
        if isinstance(data.get("pages"), int) and "page" in data:
            return data["pages"]
        for value in data.values():
            count = _page_count(value)
            if count:
                return count
    return 0


def _theme_slugs(nodes: list[dict]) -> Iterator[str]:
    for node in nodes:
        yield node["slug"]
        yield from _theme_slugs(node.get("narrower", []))


def plan_site(app: Flask, renderer: _Renderer) -> list[Page]:
    """Every file of the export, computed in one place from the app's own data."""
    pages: dict[str, Page] = {}
    with app.test_request_context("/", base_url=renderer.base_url):
        root = request.script_root
        adapter = app.url_map.bind("localhost", script_name=root or "/")

        def add(url: str, endpoint: str, values: dict, request_path: str | None = None) -> None:
            path = output_path(url, root)
            if path not in pages:
                items = tuple(sorted(values.items()))
                pages[path] = Page(
                    request_path or _strip_root(url, root), url, path, endpoint, items
                )

        def add_page(endpoint: str, **values: Any) -> None:
            add(url_for(endpoint, **values), endpoint, values)
            add(url_for(f"{endpoint}_json", **values), f"{endpoint}_json", values)

        for endpoint in FIXED_PAGES:
            add_page(endpoint)
        # Every page the app lists in its sitemap: testimonies, themes in use, browse pages.
        sitemap = renderer.get(_strip_root(url_for("archive.sitemap"), root), keep=True)
        for loc in re.findall(r"<loc>([^<]*)</loc>", sitemap.decode("utf-8")):
            path = urlsplit(loc.replace("&amp;", "&")).path
            endpoint, values = adapter.match(_strip_root(path, root))
            add_page(endpoint, **values)
        # The themes index links every theme of the vocabulary, used or not.
        themes = renderer.json(_strip_root(url_for("archive.themes_json"), root))
        for slug in _theme_slugs(themes["themes"]):
            add_page("archive.theme", slug=slug)
        # Later pages of paginated listings, at path URLs of their own.
        for page in list(pages.values()):
            if page.endpoint in PAGINATED:
                values = dict(page.values)
                data = renderer.json(_strip_root(url_for(f"{page.endpoint}_json", **values), root))
                for number in range(2, _page_count(data) + 1):
                    add(
                        url_for(page.endpoint, page=number, **values),
                        page.endpoint,
                        {**values, "page": number},
                        f"{page.request}?page={number}",
                    )
        # A page per ledger quote of a public testimony (the others are 404s, as on the server).
        snap = get_resources()
        for quote in snap.ledger().quotes:
            if snap.archive.get_public(quote.testimony, snap.today) is not None:
                add_page("archive.ledger_quote", quote_id=quote.id)
        for endpoint in DOCUMENTS:
            add(url_for(endpoint), endpoint, {})
        # The published copies of recordings (never the originals), as the pages link them.
        for testimony_id, number in sorted(app.config.get(EXPORT_MEDIA) or {}):
            add_media = {"testimony_id": testimony_id, "number": number}
            add(url_for("archive.media", **add_media), "archive.media", add_media)
        static = Path(app.static_folder or "")
        for file in sorted(p for p in static.rglob("*") if p.is_file()):
            if any(part.startswith(".") for part in file.relative_to(static).parts):
                continue  # an editor's or the system's hidden file, not an asset
            filename = file.relative_to(static).as_posix()
            add(url_for("static", filename=filename), "static", {"filename": filename})
        pages["404.html"] = Page(_NOT_A_PAGE, f"{root}/404.html", "404.html", "404", (), 404)
    return sorted(pages.values(), key=lambda p: p.path)


# --- writing ------------------------------------------------------------------------------


def _progress(
    total: int, enabled: bool, label: str
) -> AbstractContextManager[Callable[[int], None]]:
    return progress(total, label, enabled=enabled)


def _robots(body: bytes, noindex: bool) -> bytes:
    """The app's robots policy; ``noindex`` closes the whole site to crawlers."""
    if not noindex:
        return body
    return body.replace(b"User-agent: *\n", b"User-agent: *\nDisallow: /\n", 1)


def _headers_file(root: str, noindex: bool) -> bytes:
    """Security headers for hosts that read a ``_headers`` file (the pages carry a CSP meta too)."""
    lines = [f"{root}/*"]
    lines += [f"  {name}: {value}" for name, value in export_headers(noindex).items()]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _write_pages(
    renderer: _Renderer, pages: list[Page], site: Path, noindex: bool
) -> Iterator[int]:
    """Render and write ``pages``; yields after each, for a progress bar."""
    made: set[Path] = set()
    for page in pages:
        body = renderer.get(page.request, page.status)
        if page.endpoint == "archive.robots":
            body = _robots(body, noindex)
        target = site / page.path
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        target.write_bytes(body)
        yield 1


#: What forked workers inherit: (renderer, site, noindex). Set only around a pool's life.
_WORKER: tuple[_Renderer, Path, bool] | None = None
#: Pages per task handed to a worker, and the fewest pages worth starting workers for.
_BATCH = 100
_PARALLEL_FROM = 1000


#: How much lower than the export's own the priority of the workers rendering the pages
#: Pagefind does not read is (for the rest of the render: a process cannot raise it again).
_BACKGROUND_NICENESS = 10
_niced = False


def _write_batch(pages: list[Page], background: bool = False) -> int:
    global _niced
    assert _WORKER is not None
    if background and not _niced:
        # Pagefind, the longest step, must not wait for pages it does not need: this
        # worker (a forked process, gone when the export ends) yields the CPU to it.
        _niced = True
        with contextlib.suppress(OSError):
            os.nice(_BACKGROUND_NICENESS)
    renderer, site, noindex = _WORKER
    return sum(_write_pages(renderer, pages, site, noindex))


def _run_batches(pool: Any, pages: list[Page], workers: int, background: bool) -> Iterator[int]:
    """Render ``pages`` in batches, ``workers`` at a time, at a lower priority if
    ``background``; yields pages done."""
    batches = [pages[i : i + _BATCH] for i in range(0, len(pages), _BATCH)]
    running: deque = deque()
    for batch in batches:
        while len(running) >= workers:
            yield running.popleft().get()
        running.append(pool.apply_async(_write_batch, (batch, background)))
    while running:
        yield running.popleft().get()


def _workers(count: int, worth: int = _PARALLEL_FROM) -> int:
    """Worker processes for ``count`` pages (or files): forked copies of this process, so
    only where fork is safe (POSIX, no other thread running) and worth it."""
    if count < worth or not hasattr(os, "fork") or threading.active_count() > 1:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def render_site(
    app: Flask,
    site: Path,
    *,
    base_url: str,
    noindex: bool = False,
    progress: bool = False,
    searchable_written: Callable[[], None] | None = None,
) -> list[Page]:
    """Plan and write every page of ``app`` into the empty directory ``site``.

    The pages search indexes (testimony pages) are written first, then
    ``searchable_written`` is called, so Pagefind can index them while the
    rest is rendered, by workers at a lower priority than Pagefind's (it is
    what the export waits for; they keep it to the end of the render).
    Pages are independent files: on a machine with several cores they are
    rendered by forked copies of this process (each with the app and the
    archive already loaded); what is written does not depend on the order.
    """
    global _WORKER
    renderer = _Renderer(app, base_url)
    pages = plan_site(app, renderer)
    root = urlsplit(base_url).path.rstrip("/")
    searchable = [p for p in pages if fnmatch.fnmatchcase(p.path, PAGEFIND_GLOB)]
    others = [p for p in pages if not fnmatch.fnmatchcase(p.path, PAGEFIND_GLOB)]
    done_searchable = searchable_written or (lambda: None)
    workers = _workers(len(pages))
    with _progress(len(pages), progress, "Exporting") as advance:
        if workers == 1:
            for stage in (searchable, others):
                for done in _write_pages(renderer, stage, site, noindex):
                    advance(done)
                if stage is searchable:
                    done_searchable()
        else:
            _WORKER = (renderer, site, noindex)
            try:
                # The workers are forked here, before any other thread can exist.
                with multiprocessing.get_context("fork").Pool(workers) as pool:
                    # Every core renders the pages Pagefind reads; then Pagefind indexes
                    # them while the workers render the rest at a lower priority.
                    for stage, background in ((searchable, False), (others, True)):
                        for done in _run_batches(pool, stage, workers, background):
                            advance(done)
                        if stage is searchable:
                            done_searchable()
            finally:
                _WORKER = None
    (site / "_headers").write_bytes(_headers_file(root, noindex))
    return pages


class _Background:
    """Runs ``work(*args)`` in a thread; :meth:`join` returns its result or raises its error."""

    def __init__(self, work: Callable[..., Any], *args: Any) -> None:
        self._work, self._args = work, args
        self._thread: threading.Thread | None = None
        self._result: Any = None
        self._error: BaseException | None = None
        self.seconds = 0.0

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            self._result = self._work(*self._args)
        except BaseException as exc:  # handed to the caller by join()
            self._error = exc
        self.seconds = time.perf_counter() - started

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="export-pagefind", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Let a started run finish, whatever its outcome."""
        if self._thread is not None:
            self._thread.join()

    def join(self) -> Any:
        if self._thread is None:
            self._run()
        else:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result


#: The search JSON's keys (``SearchResults``, ``Hit``, ``Group``).
SEARCH_RESULTS_MODULE = Path(search_results.__file__)
#: Pages that show no testimony: what they say is public whatever the archive holds.
CHROME_PAGES = ("404.html", "search/index.html", "help/search/index.html", "quote/index.html")


def _string_literals(source: str) -> str:
    """The string constants of a Python module, docstrings left out: the JSON pages' keys
    and the app's own messages, not the prose of its comments."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return "\n".join(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and id(node) not in docstrings
    )  # fmt: skip


def _public_chrome(app: Flask, site: Path | None) -> list[str]:
    """Text that is public whatever the archive holds: templates, scripts, pages with no
    testimony, and the string constants of the web app's modules, which name the JSON
    pages' keys (a restricted transcript's ``SPEAKER_00`` is not a leak in every
    ``"speaker":``). Comments and docstrings are not: their words would blind the check."""
    modules = [*sorted(Path(app.root_path).glob("*.py")), SEARCH_RESULTS_MODULE]
    texts = [_string_literals(f.read_text(encoding="utf-8")) for f in modules]
    files = []
    for folder in (app.template_folder, app.static_folder):
        base = Path(app.root_path, folder or "")
        files += [
            f for f in sorted(base.rglob("*")) if f.suffix in (".html", ".xml", ".js", ".css")
        ]
    if site is not None:
        files += [site / name for name in CHROME_PAGES]
    return texts + [f.read_text(encoding="utf-8", errors="replace") for f in files if f.is_file()]


def private_side(
    app: Flask, archive: Archive, config: Config, today: dt.date, site: Path | None = None
) -> PrivateSide:
    """What the export on ``today`` must not hold (see :mod:`webapp.publish.leakcheck`).

    The secrets are read from the files' bytes by :mod:`archive.secrets`, never from
    ``archive`` (the parsed model the pages came from), which gives only the themes.
    Besides text: the bytes of every file of the testimonies directory (recordings,
    sidecars, testimonies), and, for each published recording's file, the ranges that
    must be silent in it.
    """
    paths = [str(config.testimonies.resolve()), str(config.index.resolve())]
    if site is not None:
        paths.append(str(site.resolve()))
    public = _public_chrome(app, site) + [app.config.get("site_url") or "", today.isoformat()]
    for theme in archive.vocabulary.themes.values():
        public += [theme.slug, theme.description, *theme.labels.values()]
        public += [k for words in theme.keywords.values() for k in words]
    secrets = read_secrets(config.testimonies, today)
    private = PrivateSide.from_secrets(secrets, public_extra=public, paths=paths)
    private.originals = source_digests(config.testimonies)
    with app.test_request_context("/", base_url=app.config["ARCHIVE"].site_url or None):
        root = request.script_root
        for (testimony_id, number), copy in (app.config.get(EXPORT_MEDIA) or {}).items():
            url = url_for("archive.media", testimony_id=testimony_id, number=number)
            private.media[output_path(url, root)] = copy.ranges
    return private


# --- the whole export -----------------------------------------------------------------------


def _looks_like_export(out: Path) -> bool:
    return (out / "index.html").is_file() and (out / "404.html").is_file()


def _check_target(out: Path, force: bool, config: Config) -> None:
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a directory")
    target = out.resolve()
    for name, directory in (("testimony", config.testimonies), ("index", config.index)):
        source = directory.resolve()
        if target == source or source.is_relative_to(target) or target.is_relative_to(source):
            raise ExportError(
                f"{out} would overlap the {name} directory {directory}",
                hint="export to a directory outside the archive and its index",
            )
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise ExportError(
                f"{out} is not empty", hint="use --force to replace an earlier export there"
            )
        if not _looks_like_export(out):
            raise ExportError(
                f"{out} is not empty and does not look like an earlier export "
                "(no index.html and 404.html): it is not replaced, even with --force",
                hint="choose an empty or new directory",
            )


def _swap(built: Path, out: Path) -> None:
    """Put the finished export in place with renames: a reader never sees half a site."""
    if not out.exists():
        built.rename(out)
        return
    if not any(out.iterdir()):
        out.rmdir()
        built.rename(out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    old.rmdir()
    out.rename(old)
    built.rename(out)
    shutil.rmtree(old)


#: What forked readers inherit: (directory, vocabulary). Set only around a pool's life.
_READING: tuple[Path, Any] | None = None
#: The fewest testimony files worth starting readers for.
_READ_PARALLEL_FROM = 100


def _read_part(paths: list[Path]) -> tuple[dict[str, Testimony], list]:
    assert _READING is not None
    directory, vocabulary = _READING
    part = load_archive(directory, paths=paths, vocabulary=vocabulary)
    return part.testimonies, part.errors


def _load(directory: Path, workers: int) -> Archive:
    """:func:`load_archive`, with the files parsed by ``workers`` forked processes.

    Each reader parses a run of consecutive files (checked against the whole directory,
    as :func:`load_archive` checks one file alone); the runs come back in file order, so
    the archive is the one :func:`load_archive` reads, problems included.
    """
    global _READING
    paths = list(iter_testimony_files(directory))
    if workers == 1:
        return load_archive(directory, paths=paths)
    head = load_archive(directory, paths=[])  # the vocabulary, and any problem with it
    size = -(-len(paths) // (workers * 4))
    runs = [paths[i : i + size] for i in range(0, len(paths), size)]
    testimonies: dict[str, Testimony] = {}
    errors = list(head.errors)
    _READING = (directory, head.vocabulary)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for part, problems in pool.imap(_read_part, runs):
                testimonies.update(part)
                errors += problems
    finally:
        _READING = None
    archive = Archive(directory, head.vocabulary, testimonies, errors)
    archive.bind_translations()  # across runs: a translation and its original may be in two
    return archive


def read_archive(config: Config, skipped: list[str] | None = None) -> Archive:
    """Phase 1: every file, validated; one error anywhere refuses the whole export.

    Except a file that cannot be read as a testimony at all
    (:class:`UnreadableFileError`: a FIFO, a device, a link out of the directory,
    over the size limit, not UTF-8): a hostile file must not stop the archive,
    so it is left out and its error added to ``skipped`` (when given; else it
    refuses the export too). Nothing in it could have been published anyway.
    """
    if not config.testimonies.is_dir():
        raise ExportError(
            f"{config.testimonies}: no such directory",
            hint="set --testimonies DIR or ARCHIVE_TESTIMONIES",
        )
    files = sum(1 for _ in iter_testimony_files(config.testimonies))
    archive = _load(config.testimonies, _workers(files, _READ_PARALLEL_FROM))
    errors = sorted(archive.errors, key=lambda e: (e.path, e.line or 0))
    if skipped is not None and all(isinstance(e, UnreadableFileError) for e in errors):
        skipped += [str(e) for e in errors]
        errors = []
    if errors:
        raise ValidationErrors(errors)
    return archive


def _files(root: Path, skip: str | None = None) -> list[Path]:
    """Every file under ``root``, leaving out the top-level directory ``skip`` (which may
    be being written meanwhile)."""
    found = []
    for top in root.iterdir():
        if top.name == skip:
            continue
        found += [p for p in top.rglob("*") if p.is_file()] if top.is_dir() else [top]
    return found


def export_site(
    out: str | Path,
    config: Config | None = None,
    *,
    base_url: str | None = None,
    force: bool = False,
    now: dt.date | None = None,
    check: bool = False,
    noindex: bool = False,
    preview: bool = False,
    progress: bool = False,
) -> ExportReport:
    """Export the public archive to ``out``; raise :class:`ExportError` and leave ``out`` as it was on any failure.

    ``base_url`` is where the site will be published (default: the
    ``site_url`` setting); ``now`` is the date embargoes are judged on
    (default: ``today``, then the real date); ``check`` also proves every
    internal link resolves; ``noindex`` asks search engines to stay away.
    A ``now`` after the real date publishes what is still under embargo today:
    it is refused unless ``preview`` is given, which marks every page as a
    preview (a visible banner, and ``noindex``).
    """
    config = config or resolve_config()
    out = Path(out)
    started = time.perf_counter()
    today = now or config.today_or_now()
    real_today = dt.date.today()
    if today > real_today and not preview:
        given_as = "--now" if now is not None else "ARCHIVE_TODAY"
        raise ExportError(
            f"{given_as} {today.isoformat()} is after today ({real_today.isoformat()}): the "
            "export would publish testimonies still under embargo",
            hint="add --preview to make a marked preview (banner, noindex), not for publication",
        )
    report = ExportReport(out=out, base_url="")
    given = base_url or config.site_url
    if not given:
        report.warnings.append(
            f"no --base-url (or ARCHIVE_SITE_URL): citations, the feed and the sitemap "
            f"point at {PREVIEW_BASE_URL}, fit for a local preview only"
        )
    report.base_url = base = normalise_base_url(given or PREVIEW_BASE_URL)
    _check_target(out, force, config)

    skipped: list[str] = []
    archive = read_archive(config, skipped)
    report.warnings += [f"left out, cannot be read: {problem}" for problem in skipped]
    ledger = load_ledger(config.testimonies)
    if ledger.errors:
        raise ValidationErrors(ledger.errors)
    report.warnings += [str(p) for p in check_ledger(ledger, archive, today)]
    report.testimonies = len(archive.public(today))
    report.timings["read"] = time.perf_counter() - started

    # Published copies of the public recordings: made (or found in the cache) and measured
    # before any page is planned, so the pages offer exactly the copies that passed.
    mark = time.perf_counter()
    try:
        media = publish_all(config, archive.public(today), report.warnings)
    except MediaLeak as exc:
        raise ExportError(
            f"a recording is not silent where it must be; nothing was published: {exc}"
        ) from None
    report.timings["recordings"] = time.perf_counter() - mark

    app = export_app(
        config, archive, base, today, noindex=noindex, ledger=ledger, media=media, preview=preview
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    built = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        built.chmod(0o755)  # mkdtemp's 0700 would hide the site from the web server
        mark = time.perf_counter()
        indexing = _Background(index_site, built)  # Pagefind runs while the rest is rendered
        try:
            pages = render_site(
                app, built, base_url=base, noindex=noindex, progress=progress,
                searchable_written=indexing.start,
            )  # fmt: skip
            write_word_starts(built, app.config[EXPORT_WORD_STARTS])
            # While Pagefind still works, the pages (all written now) are checked for
            # anything non-public; its bundle is checked once it is done.
            checking = time.perf_counter()
            private = private_side(app, archive, config, today, built)
            written = _files(built, skip=BUNDLE)
            leaks = check_export(built, private, written)
            checking = time.perf_counter() - checking
        except BaseException:
            indexing.wait()  # a running Pagefind must stop reading before the files go
            raise
        report.indexed = indexing.join()
        report.pages = len(pages)
        missing = [page.path for page in pages if not (built / page.path).is_file()]
        if missing:
            raise ExportError(
                f"{len(missing)} of {len(pages)} pages are missing from {built} (first: "
                f"{missing[0]}): was it changed while the export ran?"
            )
        # The pages' leak check ran meanwhile: it is counted under "leak check".
        report.timings["render and index"] = time.perf_counter() - mark - checking
        report.timings["pagefind (alongside)"] = indexing.seconds
        if report.indexed != len(archive.public(today)):
            raise ExportError(
                f"Pagefind indexed {report.indexed} pages for {len(archive.public(today))} "
                "public testimonies"
            )

        mark = time.perf_counter()
        leaks += check_export(built, private, set(_files(built)) - set(written))
        report.timings["leak check"] = checking + time.perf_counter() - mark
        if not leaks.ok:
            shown = "\n".join(f"  {leak}" for leak in leaks.leaks[:20])
            more = len(leaks.leaks) - 20
            raise ExportError(
                f"the export holds non-public material; nothing was published:\n{shown}"
                + (f"\n  ... and {more} more" if more > 0 else ""),
                hint="this is a bug in the export: report it with the files named above",
            )
        report.leaks = leaks
        report.files, report.bytes = leaks.files, leaks.bytes

        if check:
            mark = time.perf_counter()
            report.links = links = check_links(built, base)
            report.timings["link check"] = time.perf_counter() - mark
            if not links.ok:
                shown = "\n".join(f"  {b}" for b in links.broken[:20])
                raise ExportError(f"{len(links.broken)} broken links in the export:\n{shown}")
        _swap(built, out)
    except BaseException:
        shutil.rmtree(built, ignore_errors=True)
        raise
    report.timings["total"] = time.perf_counter() - started
    return report


def exported_base_url(out: Path) -> str | None:
    """The base URL an export was made for, read back from its ``robots.txt`` sitemap line."""
    try:
        robots = (out / "robots.txt").read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^Sitemap:\s*(\S+)sitemap\.xml\s*$", robots, re.MULTILINE)
    return match.group(1) if match else None


def check_site(out: str | Path, base_url: str | None = None) -> LinkReport:
    """Check the links of an export already written (``archive export --check OUT``)."""
    out = Path(out)
    if not _looks_like_export(out):
        raise ExportError(f"{out} holds no export (no index.html and 404.html)")
    base = base_url or exported_base_url(out) or PREVIEW_BASE_URL
    return check_links(out, normalise_base_url(base))
