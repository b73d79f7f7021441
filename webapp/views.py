"""Routes: each page is registered twice, as HTML and as ``.json``, over one data function.

Route patterns for testimonies and themes come from :mod:`archive.urls`, the
same place the library builds links from, so a search hit's URL is always a
page of this app.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import nh3
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    send_file,
    url_for,
)
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.utils import redirect

from archive.anchors import MAX_PARAM_CHARS
from archive.citations import FORMATS, SITE_NAME, download_name, render
from archive.config import RELATIVE_LINKS_NOTE
from archive.errors import ArchiveError, IndexError_
from archive.media import clock
from archive.model import decade_of
from archive.urls import ANCHOR_PARAM, MEDIA, QUOTE, TESTIMONY, THEME

from . import data
from .data import PageError
from .media import (
    MEDIA_RETRY,
    MEDIA_WAIT,
    READY_WAIT_SECONDS,
    RETRY_AFTER_SECONDS,
    NotReady,
    copy_maker,
)
from .pageconfig import page_config
from .publish.staticmode import EXPORT_MEDIA, STATIC_EXPORT
from .resources import get_resources

__all__ = ["bp", "init_app"]

bp = Blueprint("archive", __name__)

MAX_ARGS = 60
#: Per-parameter length limits; everything else gets MAX_PARAM_LENGTH.
PARAM_LIMITS = {ANCHOR_PARAM: MAX_PARAM_CHARS, "text": data.MAX_QUOTE_INPUT * 2}


def _json_rule(html_rule: str) -> str:
    """``/t/<id>/`` -> ``/t/<id>.json``: the JSON twin of a page sits beside its folder."""
    return html_rule.rstrip("/") + ".json"


def _wants_json() -> bool:
    return request.path.endswith(".json") or (
        request.endpoint is not None and request.endpoint.endswith("_json")
    )


def _json_url(endpoint: str, view_args: dict[str, Any]) -> str:
    url = url_for(f"archive.{endpoint}_json", **view_args)
    query = request.query_string.decode("latin-1")
    return f"{url}?{query}" if query else url


def _page(
    html_rule: str,
    endpoint: str,
    func: Callable[..., dict[str, Any]],
    template: str,
    *,
    json_rule: str | None = None,
    error_template: str | None = None,
    raw_query: bool = False,
) -> None:
    """Register the HTML page and its JSON twin, both fed by ``func``."""

    def call(view_args: dict[str, Any]) -> dict[str, Any]:
        extra = {"raw_query": request.query_string} if raw_query else {}
        return func(get_resources(), request.args, **view_args, **extra)

    def html_view(**view_args: Any) -> Any:
        try:
            page = call(view_args)
        except PageError as exc:
            if error_template is None or exc.status == 404:
                raise
            page = {"error": exc.message, **_echo_args()}
            return render_template(error_template, data=page, status=exc.status), exc.status
        return render_template(template, data=page, json_url=_json_url(endpoint, view_args))

    def json_view(**view_args: Any) -> Response:
        return jsonify(call(view_args))

    html_view.__name__ = endpoint
    json_view.__name__ = endpoint + "_json"
    bp.add_url_rule(html_rule, endpoint, html_view)
    bp.add_url_rule(json_rule or _json_rule(html_rule), endpoint + "_json", json_view)


def _echo_args() -> dict[str, Any]:
    """What the user typed, so an error page can show the form filled in again."""
    return {
        "query": request.args.get("q", "")[:500],
        "text": request.args.get("text", "")[: data.MAX_QUOTE_INPUT],
        "filters": {},
        "sort": "relevance",
        "searched": False,
        "results": None,
        "checked": False,
        "matches": [],
    }


_page("/", "home", data.home, "home.html", json_rule="/index.json")
_page("/search/", "search_page", data.search_page, "search.html", error_template="search.html")
_page("/help/search/", "search_help", data.search_help, "search_help.html")
_page(TESTIMONY, "testimony", data.testimony, "testimony.html", raw_query=True)
_page("/themes/", "themes", data.themes_index, "themes.html")
_page(THEME, "theme", data.theme, "theme.html")
_page("/browse/", "browse", data.browse, "browse.html")
_page("/browse/place/<slug>/", "browse_place", data.browse_place, "listing.html")
_page("/browse/date/<period>/", "browse_date", data.browse_date, "listing.html")
_page("/browse/language/<code>/", "browse_language", data.browse_language, "listing.html")
_page("/quote/", "quote", data.quote_check, "quote.html", error_template="quote.html")
_page(QUOTE, "ledger_quote", data.ledger_quote, "ledger_quote.html")


@bp.route(TESTIMONY + "anchor.json")
def anchor(testimony_id: str) -> Response:
    """Link and citations for a selection (``start``/``end`` offsets in the public text)."""
    return jsonify(data.anchor_for_selection(get_resources(), request.args, testimony_id))


@bp.route(MEDIA)
def media(testimony_id: str, number: int) -> Response:
    """A published copy of a public testimony's recording: redactions silent, verified.

    Never the original. A copy that cannot be made or verified is a 404 here (and a
    warning in the log, without the testimony's path or words).
    """
    snap = get_resources()
    t = data._public_testimony(snap, testimony_id)
    if not 1 <= number <= len(t.media):
        raise data.not_found()
    if current_app.config.get(STATIC_EXPORT):
        found = (current_app.config.get(EXPORT_MEDIA) or {}).get((t.id, number))
    else:
        maker = copy_maker(current_app)
        maker.follow(snap)  # a new archive's copies are queued once
        try:
            found = maker.get(
                t, number, float(current_app.config.get(MEDIA_WAIT, READY_WAIT_SECONDS))
            )
        except NotReady:
            return Response(
                "This recording is being prepared; try again in a few seconds.\n",
                status=503,
                headers={
                    "Retry-After": str(
                        int(current_app.config.get(MEDIA_RETRY, RETRY_AFTER_SECONDS))
                    )
                },
                content_type="text/plain; charset=utf-8",
            )
        except Exception as exc:  # noqa: BLE001 - unreadable, loud or gone: never served
            current_app.logger.warning(
                "recording %d of %s withheld: %s", number, t.id, type(exc).__name__
            )
            found = None
    if found is None:
        raise data.not_found()
    return send_file(found.path, mimetype=found.media_type, conditional=True, max_age=0)


@bp.route(TESTIMONY + "cite.<fmt>")
def cite(testimony_id: str, fmt: str) -> Response:
    """A citation file; its errors are plain text too (a reference manager or ``curl`` asked,
    not a browser), with the status: 400 for a link that cannot be read, 404 for a missing
    or withheld testimony (one message for both) or words not in the current text."""
    try:
        citation = data.citation_for(
            get_resources(), request.args, testimony_id, fmt, raw_query=request.query_string
        )
    except PageError as exc:
        return Response(
            exc.message + "\n", status=exc.status, content_type="text/plain; charset=utf-8"
        )
    body = render(citation, fmt)
    response = Response(body, mimetype=None, content_type=FORMATS[fmt][1])
    name = download_name(testimony_id, citation.anchor, fmt)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


#: Why the feed, the sitemap and the OpenSearch description are refused without site_url.
NEEDS_SITE_URL = (
    "This document needs the archive's public address for its absolute links: set "
    "ARCHIVE_SITE_URL (for example https://archive.example.org/). The address a request "
    "names is never used: anyone can forge it."
)


def _absolute_document(content_type: str):
    """For a view whose document holds absolute links: without ``site_url``, a 404 saying
    what to set; with it, the text the view returns, served as ``content_type``."""

    def wrap(view):
        @functools.wraps(view)
        def guarded(*args: object, **kwargs: object) -> Response:
            if not data.site_base():
                return Response(
                    NEEDS_SITE_URL + "\n", status=404, content_type="text/plain; charset=utf-8"
                )
            return Response(view(*args, **kwargs), content_type=content_type)

        return guarded

    return wrap


@bp.route("/opensearch.xml")
@_absolute_document("application/opensearchdescription+xml; charset=utf-8")
def opensearch() -> str:
    return render_template(
        "opensearch.xml",
        html_template=data.absolute(url_for("archive.search_page")) + "?q={searchTerms}",
        json_template=data.absolute(url_for("archive.search_page_json")) + "?q={searchTerms}",
        self_url=data.absolute(url_for("archive.opensearch")),
        icon=data.absolute(url_for("static", filename="favicon.svg")),
    )


@bp.route("/feed.xml")
@_absolute_document("application/atom+xml; charset=utf-8")
def feed() -> str:
    snap = get_resources()
    entries = []
    for t in data.feed_entries(snap):
        entries.append(
            {
                "t": t,
                "url": data.absolute(url_for("archive.testimony", testimony_id=t.id)),
                "updated": (t.date.first_day if t.date else snap.today).isoformat() + "T00:00:00Z",
                "summary": " ".join(" ".join(p.public_text.split()) for p in t.passages[:2])[:400],
            }
        )
    updated = max((e["updated"] for e in entries), default=snap.today.isoformat() + "T00:00:00Z")
    return render_template(
        "feed.xml",
        entries=entries,
        updated=updated,
        self_url=data.absolute(url_for("archive.feed")),
        home_url=data.absolute(url_for("archive.home")),
    )


@bp.route("/sitemap.xml")
@_absolute_document("application/xml; charset=utf-8")
def sitemap() -> str:
    return render_template("sitemap.xml", urls=data.sitemap_urls(get_resources()))


@bp.route("/robots.txt")
def robots() -> Response:
    lines = [
        "User-agent: *",
        f"Disallow: {url_for('archive.search_page')}",
        f"Disallow: {url_for('archive.search_page_json')}",
        f"Disallow: {url_for('archive.quote')}",
        f"Disallow: {url_for('archive.quote_json')}",
        "",
    ]
    if data.site_base():  # a sitemap line must be absolute: only with site_url
        lines += [f"Sitemap: {data.absolute(url_for('archive.sitemap'))}", ""]
    return Response("\n".join(lines), content_type="text/plain; charset=utf-8")


# --- errors, limits, logging --------------------------------------------------------

_MESSAGES = {
    400: "Bad request",
    404: "Page not found",
    405: "This address does not accept that method",
    413: "Request too large",
    414: "Address too long",
    500: "Something went wrong on our side",
    503: "The archive is not ready: its search index is missing or being rebuilt",
}


def _error(status: int, message: str) -> Any:
    if _wants_json():
        response = jsonify({"error": message})
        response.status_code = status
        return response
    page = {"error": message, **_echo_args()}
    return render_template("error.html", data=page, status=status), status


def _check_params() -> Any:
    args = request.args
    if len(args) and sum(len(v) for v in args.listvalues()) > MAX_ARGS:
        return _error(400, f"too many query parameters (at most {MAX_ARGS})")
    limit = current_app.config["MAX_PARAM_LENGTH"]
    for name, values in args.lists():
        cap = PARAM_LIMITS.get(name, limit)
        if len(name) > 100 or any(len(v) > cap for v in values):
            return _error(
                400, f"the {name[:40]!r} parameter is too long (at most {cap} characters)"
            )
    return None


def _log_query() -> None:
    """Searches are private by default; with ``log_queries`` on, record what was asked."""
    snap_config = current_app.config["ARCHIVE"]
    if snap_config.log_queries and request.endpoint in (
        "archive.search_page",
        "archive.search_page_json",
        "archive.quote",
        "archive.quote_json",
    ):
        current_app.logger.info(
            "query %s q=%r text=%r",
            request.endpoint,
            request.args.get("q", ""),
            request.args.get("text", "")[:200],
        )


_SNIPPET_CLEANER = nh3.Cleaner(tags={"mark"}, attributes={})


def _safe_snippet(snippet: str) -> Markup:
    """Search snippets are escaped text with ``<mark>``; re-clean so nothing else can pass."""
    return Markup(_SNIPPET_CLEANER.clean(str(snippet)))  # noqa: S704


def _decade(date: str) -> str:
    """The decade of an ISO date as a page shows it (``1937-05`` -> ``1930s``)."""
    return decade_of(int(date.split("-")[0]))


def _relative_location(response: Response) -> Response:
    """Redirects (``/t/ID`` -> ``/t/ID/``) point at a path, never at the request's host:
    werkzeug's routing writes ``Host`` (or ``X-Forwarded-Host``) into its Location and body."""
    location = response.headers.get("Location")
    if location and 300 <= response.status_code < 400:
        parts = urlsplit(location)
        if parts.scheme or parts.netloc:
            relative = urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))
            response.headers["Location"] = relative
            response.set_data(redirect(relative, response.status_code).get_data())
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.after_request(_relative_location)
    # Flask's own fix-up of a relative Location would put the host back.
    app.response_class.autocorrect_location_header = False
    app.before_request(_check_params)
    app.before_request(_log_query)

    app.add_template_filter(_safe_snippet, "safe_snippet")
    app.add_template_filter(_decade, "decade")
    app.add_template_filter(clock, "clock")

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "site_name": SITE_NAME,
            "json_url": None,
            "page_config": page_config(),
            # The feed and OpenSearch links only where those documents are served.
            "has_site_url": bool(current_app.config["ARCHIVE"].site_url),
            "relative_links_note": RELATIVE_LINKS_NOTE,
        }

    @app.errorhandler(PageError)
    def _page_error(exc: PageError) -> Any:
        if exc.status == 404:
            return _error(404, _MESSAGES[404])
        return _error(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        return _error(status, _MESSAGES.get(status, exc.name))

    @app.errorhandler(IndexError_)
    def _index_error(exc: IndexError_) -> Any:
        app.logger.warning("index unavailable: %s", exc)
        return _error(503, _MESSAGES[503])

    @app.errorhandler(ArchiveError)
    def _archive_error(exc: ArchiveError) -> Any:
        return _error(400, str(exc))

    @app.errorhandler(Exception)
    def _server_error(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        # The path only: a query string or an exception message may hold a search.
        app.logger.error("unhandled %s on %s", type(exc).__name__, request.path, exc_info=app.debug)
        return _error(500, _MESSAGES[500])
