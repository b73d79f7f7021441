"""The web app through Flask's test client: every route, HTML and JSON, bad input, safety.

A real archive on disk and a real index: each test module builds a small
archive with public, restricted and embargoed testimonies and redactions,
indexes it, and asks the app for every page.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit
from urllib.request import urlopen

import helpers
import pytest
from click.testing import CliRunner
from e2e_helpers import CANARIES, TODAY, WEB_TESTIMONIES
from helpers import write_archive
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive import urls
from archive.anchors import Anchor, make_anchor
from archive.cli import main as cli_main
from archive.config import resolve_config
from archive.index import build_index
from archive.ledger import add_quote
from archive.model import REDACTED_MARKER, public_text
from archive.parse import load_archive
from webapp.security import CSP, SECURITY_HEADERS
from webapp.serve import app_for

# Every URL rule of the app, with example URLs that exercise it (good input).
ROUTES: dict[str, list[str]] = {
    "/": ["/"],
    "/index.json": ["/index.json"],
    "/search/": ["/search/", "/search/?q=furlough", "/search/?q=отпуск&sort=date"],
    "/search.json": ["/search.json?q=furlough", "/search.json?theme=furlough"],
    "/help/search/": ["/help/search/"],
    "/help/search.json": ["/help/search.json"],
    "/t/<testimony_id>/": ["/t/officer/", "/t/officer-ru/", "/t/mother-uk/", "/t/past-embargo/"],
    "/t/<testimony_id>.json": ["/t/officer.json", "/t/officer-ru.json"],
    "/t/<testimony_id>/anchor.json": ["/t/officer/anchor.json?start=3&end=20"],
    "/t/<testimony_id>/cite.<fmt>": [
        "/t/officer/cite.txt",
        "/t/officer/cite.bib",
        "/t/officer/cite.ris",
        "/t/officer/cite.csl.json",
        "/t/officer/cite.annotation.json",
    ],
    # A published recording: this archive has none (its 404 is below); test_muting.py and
    # test_player_e2e.py serve the samples' recordings.
    "/t/<testimony_id>/media/<int:number>.ogg": [],
    "/themes/": ["/themes/"],
    "/themes.json": ["/themes.json"],
    "/themes/<slug>/": ["/themes/furlough/", "/themes/leaving-service/", "/themes/bribery/"],
    "/themes/<slug>.json": ["/themes/furlough.json"],
    "/browse/": ["/browse/"],
    "/browse.json": ["/browse.json"],
    "/browse/place/<slug>/": ["/browse/place/kharkiv-region/"],
    "/browse/place/<slug>.json": ["/browse/place/kharkiv-region.json"],
    "/browse/date/<period>/": ["/browse/date/2020s/", "/browse/date/2023/", "/browse/date/1990s/"],
    "/browse/date/<period>.json": ["/browse/date/2024.json"],
    "/browse/language/<code>/": ["/browse/language/ru/", "/browse/language/uk/"],
    "/browse/language/<code>.json": ["/browse/language/en.json"],
    "/quote/": ["/quote/", "/quote/?text=platoon+went+from+twenty-six+men+to+nine"],
    "/quote.json": ["/quote.json?text=platoon+went+from+twenty-six+men+to+nine"],
    "/opensearch.xml": ["/opensearch.xml"],
    "/feed.xml": ["/feed.xml"],
    "/sitemap.xml": ["/sitemap.xml"],
    "/robots.txt": ["/robots.txt"],
    "/q/<quote_id>/": ["/q/aqitjbq/"],
    "/q/<quote_id>.json": ["/q/aqitjbq.json"],
    "/static/<path:filename>": ["/static/archive.css", "/static/archive.js"],
}
ALL_URLS = [url for urls in ROUTES.values() for url in urls]
#: The one quote the test archive's ledger holds (its id is derived from the quote).
LEDGER_WORDS, LEDGER_ID = "the border guard said", "aqitjbq"
OUR_SCRIPTS = {"/static/archive-common.js", "/static/archive.js"}

# Bad input: every one must be a 4xx with a message, never a 500.
BAD_REQUESTS: list[tuple[str, int]] = [
    ("/search/?q=furlough&page=-1", 400),
    ("/search.json?q=furlough&page=abc", 400),
    ("/search.json?q=furlough&page=0", 400),
    ("/search.json?q=furlough&page=99999999999999999999", 400),
    ("/search.json?q=furlough&page=999", 400),
    ("/search.json?q=furlough&sort=sideways", 400),
    ("/search.json?q=furlough&theme=no-such-theme", 400),
    ("/search/?q=*", 400),
    ("/search.json?q=" + "a" * 600, 400),
    ("/search.json?q=" + "x%20" * 900, 400),
    ("/search.json?q=" + quote('"unclosed phrase'), 400),
    ("/search.json?q=" + quote("((((((((((((a))))))))))))"), 400),
    ("/search.json?q=fu~2", 400),
    ("/search.json?q=" + "w" * 5000, 400),
    ("/search.json?q=%00%01", 400),
    ("/search.json?language=xx", 200),
    ("/search.json?place=nowhere", 200),
    ("/search.json?decade=abc", 200),
    ("/search.json?" + "&".join(f"theme=furlough{i}" for i in range(30)), 400),
    ("/themes/furlough/?page=abc", 400),
    ("/themes/furlough.json?page=7", 400),
    ("/themes/no-such-theme/", 404),
    ("/themes/no-such-theme.json", 404),
    ("/browse/place/nowhere/", 404),
    ("/browse/date/1066/", 404),
    ("/browse/date/abc.json", 404),
    ("/browse/language/xx/", 404),
    ("/browse/language/en.json?page=-3", 400),
    ("/t/officer/?a=garbage", 400),
    ("/t/officer.json?a=1-2~", 400),
    ("/t/officer/?a=" + "9" * 30000, 400),
    ("/t/officer/anchor.json", 400),
    ("/t/officer/anchor.json?start=5&end=2", 400),
    ("/t/officer/anchor.json?start=-1&end=2", 400),
    ("/t/officer/anchor.json?start=0&end=999999", 400),
    ("/t/officer/anchor.json?start=a&end=b", 400),
    ("/t/officer/cite.docx", 404),
    ("/t/officer/media/1.ogg", 404),
    ("/t/officer/cite.bib?a=nonsense", 400),
    ("/quote/?text=" + "word%20" * 500, 400),
    ("/quote.json?text=%21%21%21", 400),
    ("/nowhere/", 404),
    ("/nowhere.json", 404),
]

SCRIPT_VECTORS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "<svg onload=alert(1)>",
    "{: onclick=alert(1) }",
]


TODAY_DATE = dt.date.fromisoformat(TODAY)


def _make_app(tmp: Path, **settings: object):
    testimonies = write_archive(tmp / "testimonies", WEB_TESTIMONIES)
    config = resolve_config(testimonies=testimonies, index=tmp / "index", today=TODAY)
    # One quote in the ledger, so /q/ID/ is among the routes every test crawls.
    quote, _ = add_quote(testimonies, load_archive(testimonies), "officer", LEDGER_WORDS,
                         today=config.today)  # fmt: skip
    assert quote.id == LEDGER_ID
    build_index(config)
    settings = {"today": TODAY, "TESTING": True, "GENERATION_CHECK_SECONDS": 0, **settings}
    app = helpers.make_app(testimonies, tmp / "index", **settings)
    return app, config


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One read-only app for the tests that only look (fast)."""
    app, config = _make_app(tmp_path_factory.mktemp("web"))
    return app


@pytest.fixture
def client(shared):
    return shared.test_client()


@pytest.fixture
def fresh(tmp_path):
    """An app over its own archive, for tests that edit files and reindex."""
    app, config = _make_app(tmp_path)
    return app, config


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inline_scripts = 0
        self.scripts: list[str] = []
        self.style_attrs = 0
        self.handlers: list[str] = []
        self.style_tags = 0
        self.ids: list[str] = []
        self._in_script = False
        self.javascript_urls = 0

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script":
            self._in_script = True
            if "src" in names:
                self.scripts.append(names["src"])
        if tag == "style":
            self.style_tags += 1
        for name, value in attrs:
            if name == "style":
                self.style_attrs += 1
            if name.startswith("on"):
                self.handlers.append(name)
            if (
                name in ("href", "src", "action")
                and value
                and value.strip().lower().startswith("javascript:")
            ):
                self.javascript_urls += 1
            if name == "id":
                self.ids.append(value)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1


def parse_page(html: str) -> _PageParser:
    parser = _PageParser()
    parser.feed(html)
    return parser


def text_of(html: str) -> str:
    class _Text(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []

        def handle_data(self, data):
            self.parts.append(data)

    parser = _Text()
    parser.feed(html)
    return "".join(parser.parts)


def highlight_of(html: str) -> tuple[int, int] | None:
    match = re.search(r'data-hl-start="(\d+)" data-hl-end="(\d+)"', html)
    return (int(match.group(1)), int(match.group(2))) if match else None


# --- every route ---------------------------------------------------------------------------


def test_route_list_covers_the_url_map(shared):
    rules = {rule.rule for rule in shared.url_map.iter_rules()}
    assert rules == set(ROUTES), f"untested: {rules - set(ROUTES)}; gone: {set(ROUTES) - rules}"


@pytest.mark.parametrize("url", ALL_URLS)
def test_every_route_answers_with_safe_headers(client, url):
    response = client.get(url)
    response.close()  # static files are streamed from disk
    # Without site_url (this app's case) the absolute-URL documents are refused.
    expected = 404 if url in ("/opensearch.xml", "/feed.xml", "/sitemap.xml") else 200
    assert response.status_code == expected, response.get_data(as_text=True)[:500]
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    path = urlsplit(url).path
    if path.endswith(".json") and "/cite." not in path:
        assert response.mimetype == "application/json"
        json.loads(response.get_data(as_text=True))
    if response.mimetype == "text/html":
        page = parse_page(response.get_data(as_text=True))
        assert page.inline_scripts == 0
        assert page.style_attrs == 0 and page.style_tags == 0
        assert page.handlers == []
        assert page.javascript_urls == 0
        assert set(page.scripts) <= OUR_SCRIPTS  # ours alone (none on search)
        assert len(page.ids) == len(set(page.ids)), "duplicate ids"


def test_csp_is_strict():
    for directive in (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ):
        assert directive in CSP
    assert "unsafe" not in CSP


@pytest.mark.parametrize(("url", "status"), BAD_REQUESTS)
def test_bad_input_is_a_4xx_with_a_message(client, url, status):
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:400]
    for name in SECURITY_HEADERS:
        assert name in response.headers
    if status >= 400:
        if "/cite." in urlsplit(url).path:  # a citation file's error is plain text too
            assert response.mimetype == "text/plain"
            body = response.get_data(as_text=True)
            assert "<" not in body and len(body.strip()) > 10
        elif urlsplit(url).path.endswith(".json"):
            body = response.get_json()
            assert set(body) == {"error"} and body["error"]
        else:
            assert response.mimetype == "text/html"
            page = response.get_data(as_text=True)
            if status == 404:  # the heading says it, once
                body = page.split("<body", 1)[1]
                assert body.count("not found") == 1 and "Page not found</h1>" in body
            else:
                assert 'role="alert"' in page


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(["q", "page", "sort", "theme", "place", "a", "text", "start", "end"]),
    value=st.text(max_size=80),
    path=st.sampled_from(
        ["/search/", "/search.json", "/t/officer/", "/t/officer.json", "/quote.json",
         "/t/officer/anchor.json", "/themes/furlough.json", "/t/officer/cite.ris"]
    ),
)  # fmt: skip
def test_any_parameter_value_is_never_a_500(client, name, value, path):
    response = client.get(path, query_string={name: value})
    assert response.status_code < 500, (path, name, value, response.get_data(as_text=True)[:300])


def test_post_and_other_methods_are_refused_cleanly(client):
    response = client.post("/search.json?q=furlough")
    assert response.status_code == 405
    assert response.get_json() == {"error": "This address does not accept that method"}
    assert client.delete("/t/officer/").status_code == 405


def test_rejected_query_shows_the_reason_on_the_search_page(client):
    response = client.get("/search/?q=*")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "This search cannot be run" in html
    assert 'id="search_q"' in html  # the form is there to fix the query
    body = client.get("/search.json?q=*").get_json()
    assert body["error"] and body["error"] in html.replace("&#39;", "'").replace("&#34;", '"')


def test_restricted_embargoed_and_missing_look_identical(client):
    for template in ("/t/{}/", "/t/{}.json", "/t/{}/cite.bib", "/t/{}/anchor.json?start=0&end=5"):
        responses = [client.get(template.format(i)) for i in ("secret", "embargoed", "no-such-id")]
        first = responses[0]
        assert first.status_code == 404
        for other in responses[1:]:
            assert other.status_code == first.status_code
            assert other.get_data() == first.get_data()
            assert sorted(other.headers.items()) == sorted(first.headers.items())


def test_embargo_follows_the_configured_date(tmp_path):
    app, _ = _make_app(tmp_path, today="2100-01-02")
    client = app.test_client()
    assert client.get("/t/embargoed/").status_code == 200
    app_before, _ = _make_app(tmp_path / "b", today="2000-06-01")
    assert app_before.test_client().get("/t/past-embargo/").status_code == 404


# --- what must never leave the archive -------------------------------------------------------


def _outputs(client, urls: list[str]) -> list[str]:
    bodies = []
    for url in urls:
        with client.get(url) as response:
            bodies.append(response.get_data(as_text=True))
    return bodies


def test_canaries_never_appear_in_any_output(client):
    urls = list(ALL_URLS)
    urls += ["/search.json?q=village", "/search.json?q=brother", "/search.json?q=restricted"]
    urls += ["/search.json?q=furlough&theme=desertion", "/search.json?theme=desertion"]
    urls += ["/t/officer/anchor.json?start=0&end=400", "/t/secret/", "/t/embargoed.json"]
    urls += ["/quote.json?text=brother+drove+me+to+the+border+at+night"]
    for body in _outputs(client, urls):
        for canary in CANARIES:
            assert canary.lower() not in body.lower()


def test_searching_for_a_canary_finds_nothing(client):
    for canary in CANARIES:
        results = client.get(f"/search.json?q={canary}").get_json()
        assert results["total"] == 0 and results["suggestion"] is None
        quoted = client.get(f"/quote.json?text={canary}+drove+me+to+the+border").get_json()
        for match in quoted["matches"]:
            assert canary not in json.dumps(match)


def test_redaction_markers_are_visible(client):
    html = client.get("/t/officer/").get_data(as_text=True)
    assert '<span class="redacted">[redacted]</span>' in html
    assert "passage--redacted" in html
    data = client.get("/t/officer.json").get_json()
    texts = [p["text"] for b in data["blocks"] for p in b["passages"]]
    assert any(REDACTED_MARKER in t for t in texts)
    assert REDACTED_MARKER in [t for t in texts if t == REDACTED_MARKER][0]


def test_restricted_testimonies_are_not_listed_anywhere(client):
    for url in (
        "/index.json",
        "/browse.json",
        "/themes/desertion.json",
        "/sitemap.xml",
        "/feed.xml",
    ):
        body = client.get(url).get_data(as_text=True)
        assert "/t/secret/" not in body and "/t/embargoed/" not in body
    assert "/t/past-embargo/" in client.get("/browse/date/1990s.json").get_data(as_text=True)


# --- pages -------------------------------------------------------------------------------------


def test_home_shows_totals_themes_languages_and_recent(client):
    data = client.get("/index.json").get_json()
    assert data["totals"]["testimonies"] == 4
    assert {lang["code"] for lang in data["languages"]} == {"en", "ru", "uk"}
    assert data["recent"][0]["id"] == "mother-uk"
    assert any(t["slug"] == "leaving-service" for t in data["themes"])
    html = client.get("/").get_data(as_text=True)
    assert 'rel="search"' not in html  # no site_url: no OpenSearch description to offer
    assert 'lang="uk"' in html and 'lang="ru"' in html


def test_testimony_page_renders_passages_with_offsets(client):
    data = client.get("/t/officer.json").get_json()
    html = client.get("/t/officer/").get_data(as_text=True)
    for block in data["blocks"]:
        for p in block["passages"]:
            assert f'id="{p["id"]}"><' in html  # on the turn, whose text is the passage's
            assert f'data-offset="{p["offset"]}" data-passage="{p["id"]}"' in html
    t = data["testimony"]
    assert t["narrator"] == "Andrei (pseudonym)" and t["license"] == "CC BY 4.0"
    assert [tr["id"] for tr in data["translations"]] == ["officer-ru"]
    assert 'hreflang="ru"' in html
    assert 'href="/themes/furlough/"' in html
    for fmt in ("txt", "bib", "ris", "csl.json", "annotation.json"):
        assert f"/t/officer/cite.{fmt}" in html
    # The text content of each passage element is its public text, exactly.
    offsets = {p["id"]: p["offset"] for b in data["blocks"] for p in b["passages"]}
    joined = "\n\n".join(p["text"] for b in data["blocks"] for p in b["passages"])
    for b in data["blocks"]:
        for p in b["passages"]:
            assert text_of(p["html"]) == p["text"]
            assert joined[offsets[p["id"]] :].startswith(p["text"])


def test_translations_link_only_public_ones(client):
    data = client.get("/t/officer-ru.json").get_json()
    assert [tr["id"] for tr in data["translations"]] == ["officer"]
    assert 'lang="ru"' in client.get("/t/officer-ru/").get_data(as_text=True)


def test_theme_page_includes_narrower_themes(client):
    data = client.get("/themes/leaving-service.json").get_json()
    ids = {p["id"] for g in data["groups"] for p in g["passages"]}
    assert {"first-thought", "option-leave", "crossed-border"} <= ids
    assert any(n["slug"] == "furlough" for n in data["narrower"])
    child = client.get("/themes/medical-commission.json").get_json()
    assert [b["slug"] for b in child["broader"]] == ["leaving-service", "legal-routes"]
    for g in data["groups"]:
        for p in g["passages"]:
            assert p["url"].startswith(f"/t/{g['testimony']['id']}/#")


def test_browse_pages(client):
    data = client.get("/browse.json").get_json()
    assert {p["slug"] for p in data["places"]} >= {"kharkiv-region"}
    assert any(d["period"] == "2020s" for d in data["decades"])
    listing = client.get("/browse/date/1990s.json").get_json()
    assert [t["id"] for t in listing["testimonies"]["items"]] == ["past-embargo"]
    ru = client.get("/browse/language/ru.json").get_json()
    assert [t["id"] for t in ru["testimonies"]["items"]] == ["officer-ru"]


def test_discovery_documents(client):
    # No site_url (the default): the documents whose links must be absolute say what to set,
    # and robots.txt leaves out its Sitemap line; nothing takes the request's host instead.
    for path in ("/opensearch.xml", "/feed.xml", "/sitemap.xml"):
        refused = client.get(path)
        assert refused.status_code == 404
        assert "ARCHIVE_SITE_URL" in refused.get_data(as_text=True)
    robots = client.get("/robots.txt").get_data(as_text=True)
    assert "Disallow: /search/" in robots and "Sitemap" not in robots
    home = client.get("/").get_data(as_text=True)
    assert "feed.xml" not in home and "opensearch.xml" not in home
    cite = client.get("/t/officer/cite.txt").get_data(as_text=True)
    assert " /t/officer/ (accessed" in cite  # site-relative


def test_site_url_is_used_for_absolute_links(tmp_path):
    app, _ = _make_app(tmp_path, site_url="https://example.org/archive/")
    client = app.test_client()
    opensearch = client.get("/opensearch.xml")
    assert opensearch.mimetype == "application/opensearchdescription+xml"
    assert "https://example.org/archive/search/?q={searchTerms}" in opensearch.get_data(
        as_text=True
    )
    feed = client.get("/feed.xml").get_data(as_text=True)
    assert feed.count("<entry") == 4 and "https://example.org/archive/t/officer/" in feed
    robots = client.get("/robots.txt").get_data(as_text=True)
    assert "Sitemap: https://example.org/archive/sitemap.xml" in robots
    sitemap = client.get("/sitemap.xml").get_data(as_text=True)
    assert "<loc>https://example.org/archive/t/officer-ru/</loc>" in sitemap
    cite = client.get("/t/officer/cite.txt").get_data(as_text=True)
    assert "https://example.org/archive/t/officer/" in cite
    assert 'href="/feed.xml"' in client.get("/").get_data(as_text=True)


FORGED = "evil.example.com"
FORGED_HEADERS = {
    "Host": FORGED,
    "X-Forwarded-Host": FORGED,
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Server": FORGED,
    "Forwarded": f"host={FORGED};proto=https",
    "X-Original-URL": f"http://{FORGED}/",
}


def _forged_host_urls(client) -> list[str]:
    """Every example URL of every route, a quote link and its citations, and the
    slash-less form of each page (which the app redirects)."""
    made = client.get("/t/officer/anchor.json?start=3&end=40").get_json()
    extra = [made["path"].split("#")[0]]
    extra += [
        f"/t/officer/cite.{fmt}?a={made['param']}" for fmt in ("txt", "bib", "annotation.json")
    ]
    extra += [
        u.split("?")[0].rstrip("/") for u in ALL_URLS if u.split("?")[0].endswith("/") and u != "/"
    ]
    return ALL_URLS + extra


@pytest.mark.parametrize("site_url", ["", "https://example.org/archive/"])
def test_a_forged_host_never_reaches_a_response(tmp_path, site_url):
    """Host and X-Forwarded-* are the client's to choose: no byte of any response, headers
    included (a redirect's Location), may carry them, with site_url set or not."""
    app, _ = _make_app(tmp_path, site_url=site_url)
    client = app.test_client()
    urls = _forged_host_urls(client)
    assert set(ROUTES) == {r.rule for r in app.url_map.iter_rules()}  # every route is tried
    redirects = 0
    for url in urls:
        response = client.get(url, headers=FORGED_HEADERS)
        assert response.status_code < 500, url
        raw = response.get_data() + str(response.headers).encode()
        response.close()  # static files are streamed from disk
        assert FORGED.encode() not in raw, (url, response.status_code)
        if 300 <= response.status_code < 400:
            redirects += 1
            assert response.headers["Location"].startswith("/"), url
    assert redirects >= 10
    # The forged host did reach the app (the test would catch a leak): werkzeug sees it.
    with app.test_request_context("/", headers=FORGED_HEADERS):
        from flask import request

        assert FORGED in request.url_root


# --- search ------------------------------------------------------------------------------------


def test_search_groups_hits_and_links_to_highlighted_words(client):
    data = client.get("/search.json?q=furlough").get_json()
    assert data["total"] >= 1
    html = client.get("/search/?q=border").get_data(as_text=True)
    assert "<mark>" in html
    hits = client.get("/search.json?q=border").get_json()
    group = hits["groups"][0]
    hit = group["hits"][0]
    assert hit["url"].startswith(f"/t/{hit['testimony']}/?a=")
    page = client.get(hit["url"].split("#")[0])
    assert page.status_code == 200
    start, end = highlight_of(page.get_data(as_text=True))
    text = public_text(load_archive(_archive_dir(client)).testimonies[hit["testimony"]])
    assert text[start:end].lower().startswith("border")


def _archive_dir(client) -> Path:
    return client.application.config["ARCHIVE"].testimonies


def test_search_in_russian_and_ukrainian(client):
    ru = client.get("/search.json?q=отпуска").get_json()
    assert any(h["testimony"] == "officer-ru" for h in ru["hits"])
    uk = client.get("/search.json?q=переховувався").get_json()
    assert any(h["testimony"] == "mother-uk" for h in uk["hits"])


def test_search_facets_filter_and_sort(client):
    results = client.get("/search.json?q=furlough").get_json()
    languages = {f["value"]: f for f in results["facets"]["language"]}
    assert "en" in languages
    filtered = client.get(languages["en"]["url"].replace("/search/", "/search.json")).get_json()
    assert all(h["language"] == "en" for h in filtered["hits"])
    assert filtered["filters"] == {"language": ["en"]}
    by_date = client.get("/search.json?q=furlough&sort=date").get_json()
    assert by_date["sort"] == "date"
    html = client.get("/search/?q=furlough&language=en").get_data(as_text=True)
    assert "is-selected" in html and "Clear filters" in html


def test_search_links_carry_the_query_and_toggle_one_filter(client):
    """Every facet link is the same search with one value turned on or off, written as
    urlencode writes it (a query with quotes, spaces and non-ASCII letters)."""
    q = 'furlough OR "sent home" OR отпуск'
    results = client.get("/search.json", query_string={"q": q, "language": "en"}).get_json()
    entries = [(facet, e) for facet, values in results["facets"].items() for e in values]
    assert len(entries) > 3
    for facet, entry in entries:
        filters = {"language": ["en"]}
        if entry["selected"]:
            filters[facet] = [v for v in filters[facet] if v != entry["value"]]
        else:
            filters.setdefault(facet, []).append(entry["value"])
        params = [("q", q)] + [
            (name, value)
            for name in ("theme", "language", "place", "decade")
            for value in filters.get(name, [])
        ]
        assert entry["url"] == "/search/?" + urlencode(params), entry
    assert results["sort_urls"]["date"] == "/search/?" + urlencode(
        [("q", q), ("language", "en"), ("sort", "date")]
    )


def test_search_empty_states(client):
    html = client.get("/search/").get_data(as_text=True)
    assert "Type a word" in html
    nothing = client.get("/search/?q=zzzzqqqq").get_data(as_text=True)
    assert "Nothing found" in nothing


def test_search_suggestion(client):
    data = client.get("/search.json?q=platon").get_json()
    if data["suggestion"]:
        assert data["suggestion_url"].startswith("/search/?q=")


def test_search_help_page(client):
    data = client.get("/help/search.json").get_json()
    assert data["syntax"]
    for row in data["syntax"]:
        assert row["url"].startswith("/search/?q=")
        assert client.get(row["url"]).status_code == 200, row["example"]


# --- quotes, anchors, citations ------------------------------------------------------------------


def test_anchor_endpoint_makes_a_link_that_resolves(client):
    text = public_text(load_archive(_archive_dir(client)).testimonies["officer"])
    words = "twenty-six men to nine"
    start = text.index(words)
    body = client.get(f"/t/officer/anchor.json?start={start}&end={start + len(words)}").get_json()
    assert body["quote"] == words and body["passage"] == "first-thought"
    assert body["url"].startswith("/t/officer/?a=")  # no site_url: site-relative
    assert "#first-thought:~:text=" in body["url"]
    assert {c["format"] for c in body["citations"]} == {
        "txt",
        "bib",
        "ris",
        "csl.json",
        "annotation.json",
    }
    page = client.get(body["path"].split("#")[0]).get_data(as_text=True)
    assert highlight_of(page) == (start, start + len(words))
    assert "The quoted words are highlighted below." in page


def _cite_box(page: str) -> dict[str, str]:
    """The citation box's heading and each format's text, as a reader sees them (HTML
    reads RIS's CRLF as LF)."""
    box = page[page.index('id="cite_box"') :]
    shown = re.search(r'<h2 id="cite_title">.*?<span data-when="(\w+)">', box, re.S)
    texts = re.findall(r'<pre class="format__text" id="(cite_[\w]+)"[^>]*>(.*?)</pre>', box, re.S)
    return {
        "cites": shown.group(1) if shown else "",
        **{k: html.unescape(v).replace("\r\n", "\n") for k, v in texts},
    }


def test_a_quote_links_page_cites_the_quote_and_a_crafted_one_the_testimony(client):
    text = public_text(load_archive(_archive_dir(client)).testimonies["officer"])
    words = "twenty-six men to nine"
    start = text.index(words)
    body = client.get(f"/t/officer/anchor.json?start={start}&end={start + len(words)}").get_json()
    box = _cite_box(client.get(body["path"].split("#")[0]).get_data(as_text=True))
    assert box.pop("cites") == "quote"
    assert box == {
        f"cite_{c['format'].replace('.', '_')}": c["text"].replace("\r\n", "\n")
        for c in body["citations"]
    }
    assert words in box["cite_txt"] and body["url"] in box["cite_txt"]
    # Words not in the text: the box cites the testimony, and shows none of the link's words.
    claim = "my men to shoot the prisoners"
    page = client.get(f"/t/officer/?a=0-{len(claim)}~{quote(claim, safe='')}")
    assert page.status_code == 200
    box = _cite_box(page.get_data(as_text=True))
    assert box["cites"] == "testimony"
    assert "prisoners" not in text_of(page.get_data(as_text=True))
    assert "Quoted" not in box["cite_txt"] and "/t/officer/" in box["cite_txt"]


def test_selection_whitespace_is_trimmed(client):
    text = public_text(load_archive(_archive_dir(client)).testimonies["officer"])
    start = text.index("In two weeks") - 1
    body = client.get(f"/t/officer/anchor.json?start={start}&end={start + 14}").get_json()
    assert body["quote"] == "In two weeks"
    assert body["anchor"]["start"] == start + 1


def test_links_from_the_library_and_from_url_for_both_resolve(client):
    text = public_text(load_archive(_archive_dir(client)).testimonies["officer"])
    words = "forty minutes"
    start = text.index(words)
    anchor = make_anchor(text, start, start + len(words), testimony="officer")
    single = urls.testimony_url("officer", "crossed-border", anchor).split("#")[0]
    double = "/t/officer/?a=" + quote(anchor.to_words_param(), safe="")
    raw = "/t/officer/?a=" + anchor.to_words_param()  # pasted in without query escaping
    assert "%25" not in single
    for url in (single, double, raw):
        assert highlight_of(client.get(url).get_data(as_text=True)) == (start, start + len(words))


def test_anchor_survives_edits_and_reindex(fresh):
    app, config = fresh
    client = app.test_client()
    path = config.testimonies / "officer.md"
    original = public_text(load_archive(config.testimonies).testimonies["officer"])
    words = "refused to sign the referal, and he said"
    start = original.index(words)
    link = client.get(f"/t/officer/anchor.json?start={start}&end={start + len(words)}").get_json()
    target = link["path"].split("#")[0]
    made = Anchor.from_selectors(
        [{"type": "TextQuoteSelector", **{k: link["anchor"][k] for k in ("exact", "prefix", "suffix")}},
         {"type": "TextPositionSelector", "start": start, "end": start + len(words)}]
    )  # fmt: skip
    # A link made before short links, which carried the words (still read).
    old = "/t/officer/?a=" + quote(made.to_words_param(), safe="")

    source = path.read_text(encoding="utf-8")
    source = source.replace(
        "**Q:** When did you first think",
        "**Q:** Before we start: may we record this?\n\n**Andrei:** Yes.\n\n"
        "**Q:** When did you first think",
    )
    path.write_text(source, encoding="utf-8")
    build_index(config)
    moved = public_text(load_archive(config.testimonies).testimonies["officer"])
    for url in (target, old):
        html = client.get(url).get_data(as_text=True)
        start2, end2 = highlight_of(html)
        assert moved[start2:end2] == words and start2 > start
        assert "found at another place in the text than the link gave" in html
        assert "edited" not in html  # a link cannot know that, and says nothing of it

    # A word of the quote edited: the short link's checksum no longer matches (the page
    # says only that), the old link's words still find the edited ones.
    path.write_text(source.replace("the referal,", "the referral,"), encoding="utf-8")
    build_index(config)
    edited = public_text(load_archive(config.testimonies).testimonies["officer"])
    html = client.get(target).get_data(as_text=True)
    assert highlight_of(html) is None
    assert "This link's words were not found in the current text" in html
    assert "edited" not in html
    start3, end3 = highlight_of(client.get(old).get_data(as_text=True))
    assert edited[start3:end3] == "refused to sign the referral, and he said"

    # Whole passage deleted: the old link's words are not shown at all (anyone can write a link).
    source = path.read_text(encoding="utf-8")
    source = re.sub(r"\*\*Andrei:\*\* The commander refused.*?\n\{: #commission-blocked[^\n]*\n", "",
                    source, flags=re.S)  # fmt: skip
    path.write_text(source, encoding="utf-8")
    build_index(config)
    html = client.get(old).get_data(as_text=True)
    assert highlight_of(html) is None
    assert "This link's words were not found in the current text" in html
    assert words not in html and "link-claim" not in html
    assert "orphan-quote" not in html and "no longer" not in html and "edited" not in html
    data = client.get(old.replace("/t/officer/", "/t/officer.json")).get_json()
    assert data["orphan"] is True and data["highlight"] is None
    assert words not in json.dumps(data, ensure_ascii=False)
    data = client.get(target.replace("/t/officer/", "/t/officer.json")).get_json()
    assert data["orphan"] is True


def test_index_swap_is_noticed_without_restart(fresh):
    app, config = fresh
    client = app.test_client()
    assert client.get("/t/newcomer/").status_code == 404
    (config.testimonies / "newcomer.md").write_text(
        '---\nid: newcomer\ntitle: "Newcomer"\nlanguage: en\nstatus: public\n---\nA new furlough story.\n',
        encoding="utf-8",
    )
    build_index(config)
    assert client.get("/t/newcomer/").status_code == 200
    hits = client.get("/search.json?q=newcomer+OR+story").get_json()["hits"]
    assert any(h["testimony"] == "newcomer" for h in hits)


def test_quote_check_finds_the_source_and_the_differences(client):
    exact = client.get("/quote.json?text=my+platoon+went+from+twenty-six+men+to+nine").get_json()
    best = exact["matches"][0]
    assert best["testimony"] == "officer" and best["verdict"] == "verbatim"
    assert best["url"].startswith("/t/officer/?a=")
    changed = client.get("/quote.json?text=my+squad+went+from+twenty-six+men+to+nine").get_json()
    parts = changed["matches"][0]["diff_parts"]
    assert {"op": "delete", "text": "squad "} in parts and {
        "op": "insert",
        "text": "platoon ",
    } in parts
    html = client.get("/quote/?text=my+squad+went+from+twenty-six+men+to+nine").get_data(
        as_text=True
    )
    assert "<del>" in html and "<ins>" in html
    missing = client.get("/quote/?text=purple+elephants+dancing+quietly").get_data(as_text=True)
    assert "No source found" in missing


def test_citation_formats(client):
    text = client.get("/t/officer/cite.txt").get_data(as_text=True)
    assert "Andrei (pseudonym)." in text and "Interview by Newsroom staff" in text
    bib = client.get("/t/officer/cite.bib")
    assert bib.get_data(as_text=True).startswith("@misc{officer,")
    assert bib.headers["Content-Disposition"] == 'attachment; filename="officer.bib"'
    ris = client.get("/t/officer/cite.ris").get_data(as_text=True)
    assert ris.startswith("TY  - PCOMM") and ris.rstrip().endswith("ER  -")
    csl = json.loads(client.get("/t/officer/cite.csl.json").get_data(as_text=True))
    assert csl[0]["type"] == "interview" and csl[0]["issued"] == {"date-parts": [[2023, 11, 14]]}
    all_text = public_text(load_archive(_archive_dir(client)).testimonies["officer"])
    start = all_text.index("forty minutes")
    anchor = make_anchor(all_text, start, start + 13)
    quoted = client.get("/t/officer/cite.annotation.json?a=" + quote(anchor.to_param(), safe=""))
    annotation = json.loads(quoted.get_data(as_text=True))
    assert annotation["type"] == "Annotation"
    selectors = annotation["target"]["selector"]
    assert Anchor.from_selectors(selectors).exact == "forty minutes"
    assert annotation["target"]["source"] == "/t/officer/"


def test_bibtex_escapes_special_characters(tmp_path):
    from archive.citations import bibtex_escape

    assert bibtex_escape("50% {of} $x_1 & #2") == r"50\% \{of\} \$x\_1 \& \#2"


# --- XSS in testimonies and queries -----------------------------------------------------------


def test_script_vectors_in_files_and_queries_stay_text(archive_dir, make_app):
    testimonies = archive_dir
    body = "\n\n".join(
        [
            "**Q:** <script>alert('x')</script> and <img src=x onerror=alert(1)>?",
            "A [link](javascript:alert(1)) and <svg onload=alert(1)></svg> here.",
            'Quote "><script>alert(2)</script> end.',
        ]
    )
    (testimonies / "xss.md").write_text(
        '---\nid: xss\ntitle: "<script>alert(3)</script>"\nnarrator: "<img src=x onerror=alert(4)>"\n'
        f'language: en\nplace: "javascript:alert(5)"\nstatus: public\n---\n{body}\n',
        encoding="utf-8",
    )
    (testimonies / "attrs.md").write_text(
        '---\nid: attrs\ntitle: "Attr list abuse"\nlanguage: en\nstatus: public\n---\n'
        'Text here.\n{: onclick="alert(1)" style="color:red" }\n',
        encoding="utf-8",
    )
    archive = load_archive(testimonies)
    assert "attrs" not in archive.testimonies  # rejected as a validation error, so never served
    assert any("onclick" in e.message for e in archive.errors)
    client = make_app(testimonies).test_client()
    assert client.get("/t/attrs/").status_code == 404
    urls = ["/t/xss/", "/t/xss.json", "/", "/feed.xml", "/search/?q=alert", "/browse/"]
    urls += ["/search/?q=" + quote(v) for v in SCRIPT_VECTORS]
    urls += ["/quote/?text=" + quote(v) for v in SCRIPT_VECTORS]
    for url in urls:
        response = client.get(url)
        assert response.status_code < 500
        html = response.get_data(as_text=True)
        if response.mimetype == "text/html":
            page = parse_page(html)
            assert page.inline_scripts == 0 and page.handlers == [] and page.javascript_urls == 0
            assert set(page.scripts) <= OUR_SCRIPTS  # ours alone (none on search)
            assert "<script>alert" not in html and "<svg" not in html and "<img src=x" not in html


# --- privacy, serving ------------------------------------------------------------------------------


def test_queries_are_not_logged_by_default(client, caplog):
    with caplog.at_level("DEBUG"):
        client.get("/search/?q=secretword")
        client.get("/quote/?text=secretquote")
    assert "secretword" not in caplog.text and "secretquote" not in caplog.text


def test_queries_are_logged_when_asked(tmp_path, caplog):
    app, _ = _make_app(tmp_path, log_queries="1")
    with caplog.at_level("INFO"):
        app.test_client().get("/search/?q=loggedword")
    assert "loggedword" in caplog.text


def test_serve_command_is_wired(archive_dir, tmp_path):
    result = CliRunner().invoke(cli_main, ["serve", "--help"])
    assert result.exit_code == 0 and "--port" in result.output and "waitress" in result.output
    config = resolve_config(testimonies=archive_dir, index=tmp_path / "i", today=TODAY)
    build_index(config)
    app = app_for(config, TESTING=True)
    assert app.test_client().get("/t/officer/").status_code == 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_archive_serve_runs_waitress_and_logs_no_queries(archive_dir, tmp_path):
    testimonies = archive_dir
    port = _free_port()
    env = {**os.environ, "ARCHIVE_TODAY": TODAY, "ARCHIVE_LOG_QUERIES": "0"}
    command = [sys.executable, "-m", "archive", "--testimonies", str(testimonies)]
    command += ["--index", str(tmp_path / "i"), "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urlopen(f"http://127.0.0.1:{port}/t/officer/", timeout=5) as response:
                    assert response.status == 200
                    assert response.headers["Content-Security-Policy"] == CSP
                break
            except OSError:
                assert process.poll() is None, process.stdout.read().decode()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        with urlopen(f"http://127.0.0.1:{port}/search.json?q=privateword", timeout=10) as r:
            assert json.load(r)["query"] == "privateword"
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()
    assert "Serving the archive" in output
    assert "privateword" not in output


def test_missing_index_is_a_clear_503(archive_dir, tmp_path):
    client = helpers.make_app(archive_dir, tmp_path / "none").test_client()  # never indexed
    response = client.get("/search.json?q=furlough")
    assert response.status_code == 503 and "index" in response.get_json()["error"]
    assert client.get("/t/officer/").status_code == 200


class _OffsetText(HTMLParser):
    """The text content of every element that carries ``data-offset``, as a browser reads it."""

    VOID = {"br", "hr", "img", "input", "meta", "link", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[int, str] = {}
        self._open: list[tuple[int | None, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        offset = dict(attrs).get("data-offset")
        self._open.append((int(offset) if offset is not None else None, []))

    def handle_endtag(self, tag):
        if tag in self.VOID or not self._open:
            return
        offset, parts = self._open.pop()
        text = "".join(parts)
        if offset is not None:
            self.found[offset] = text
        if self._open:
            self._open[-1][1].append(text)

    def handle_data(self, data):
        if self._open:
            self._open[-1][1].append(data)


def test_page_text_at_each_offset_is_the_public_text(client):
    """What the browser's selection code measures must be the library's public text."""
    archive = load_archive(_archive_dir(client))
    for testimony_id in ("officer", "officer-ru"):
        text = public_text(archive.testimonies[testimony_id])
        parser = _OffsetText()
        parser.feed(client.get(f"/t/{testimony_id}/").get_data(as_text=True))
        assert len(parser.found) == len(archive.testimonies[testimony_id].passages)
        for offset, content in parser.found.items():
            assert text[offset : offset + len(content)] == content, (offset, content)


def test_static_files_have_headers(client):
    response = client.get("/static/archive.js")
    response.close()
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "javascript" in response.mimetype


def test_bundled_samples_serve_every_page_without_leaking(samples_dir, make_app):
    """The archive's own samples: every page in the sitemap, HTML and JSON, and no secret."""
    client = make_app(samples_dir, site_url="https://archive.example.org/").test_client()
    archive = load_archive(samples_dir)
    public = archive.public(TODAY_DATE)
    visible = "\n".join(public_text(t) for t in public)
    secrets = {r for t in archive.testimonies.values() for p in t.passages for r in p.redactions}
    secrets |= {p.text for t in archive.testimonies.values() for p in t.passages if p.redacted}
    secrets |= {p.text for t in archive.non_public(TODAY_DATE) for p in t.passages}
    secrets = {s.strip() for s in secrets if len(s.strip()) >= 8 and s.strip() not in visible}
    sitemap = client.get("/sitemap.xml").get_data(as_text=True)
    paths = [urlsplit(u).path for u in re.findall(r"<loc>([^<]+)</loc>", sitemap)]
    assert len(paths) >= len(public)
    paths += [p.rstrip("/") + ".json" for p in paths if p != "/"]
    paths += ["/index.json", "/search/?q=the", "/search.json?q=и", "/feed.xml"]
    for t in public:
        paths += [f"/t/{t.id}/cite.{fmt}" for fmt in ("txt", "bib", "ris", "csl.json")]
    for t in archive.non_public(TODAY_DATE):
        assert client.get(f"/t/{t.id}/").status_code == 404
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.get_data(as_text=True)
        for secret in secrets:
            assert secret not in body, (path, secret[:40])


def test_search_is_refused_when_the_index_holds_what_is_no_longer_public(fresh):
    """A testimony restricted (or a passage redacted) after indexing never stays findable."""
    app, config = fresh
    client = app.test_client()
    assert client.get("/search.json?q=crossing").status_code == 200
    path = config.testimonies / "officer.md"
    path.write_text(path.read_text().replace("status: public", "status: restricted"))
    stale = helpers.make_app(
        config.testimonies, config.index, today=TODAY, TESTING=True
    ).test_client()
    response = stale.get("/search.json?q=crossing")
    assert response.status_code == 503 and "crossing" not in response.get_data(as_text=True)
    assert stale.get("/t/officer/").status_code == 404
    build_index(config)
    fixed = helpers.make_app(
        config.testimonies, config.index, today=TODAY, TESTING=True
    ).test_client()
    response = fixed.get("/search.json?q=crossing")
    assert response.status_code == 200
    assert response.get_json()["total"] == 0  # only that testimony said it


def test_a_redaction_made_after_indexing_is_never_found(fresh):
    """A file redacted since the last 'archive index' is left out of search until it runs."""
    app, config = fresh
    path = config.testimonies / "officer.md"
    path.write_text(
        path.read_text().replace("about forty minutes", "about [forty]{.redact} minutes")
    )

    def client():
        return helpers.make_app(
            config.testimonies, config.index, today=TODAY, TESTING=True
        ).test_client()

    stale = client()  # a restart without reindexing: the page already has the redaction
    assert "forty" not in stale.get("/t/officer/").get_data(as_text=True)
    for query in ("forty", "fourty", "minutes", '"about forty"'):
        response = stale.get(f"/search.json?{urlencode({'q': query})}")
        assert response.status_code == 200
        results = response.get_json()
        shown = {k: results[k] for k in ("hits", "groups", "facets", "suggestion", "notices")}
        assert "forty" not in json.dumps(shown), query
        assert all(h["testimony"] != "officer" for h in results["hits"]), query
        assert results["suggestion"] is None
    notices = stale.get("/search.json?q=minutes").get_json()["notices"]
    assert any("left out" in n for n in notices)
    quote = stale.get("/quote.json?" + urlencode({"text": "they held me for about forty minutes"}))
    assert "forty" not in json.dumps(quote.get_json()["matches"])
    # Other testimonies are still found.
    assert stale.get("/search.json?q=отпуск").get_json()["total"] > 0

    build_index(config)
    fixed = client()
    results = fixed.get("/search.json?q=minutes").get_json()
    assert [h["testimony"] for h in results["hits"]] == ["officer"]
    assert "forty" not in json.dumps(results)
    assert not any("left out" in n for n in results["notices"])


def test_an_unreadable_index_list_leaves_every_testimony_out_until_it_is_read(fresh, monkeypatch):
    """Which testimonies changed since indexing is read from the live generation's list; if
    that cannot be read (a generation pruned as it was read), search fails closed."""
    import webapp.resources as resources

    app, config = fresh
    real = resources.indexed_testimonies
    monkeypatch.setattr(resources, "indexed_testimonies", lambda path: None)
    client = helpers.make_app(
        config.testimonies, config.index, today=TODAY, TESTING=True
    ).test_client()
    results = client.get("/search.json?q=отпуск").get_json()
    assert results["total"] == 0 and any("left out" in n for n in results["notices"])
    monkeypatch.setattr(resources, "indexed_testimonies", real)
    results = client.get("/search.json?q=отпуск").get_json()
    assert results["total"] > 0 and not any("left out" in n for n in results["notices"])


def test_the_search_page_loads_no_page_script_it_does_not_use(client):
    search = client.get("/search/?q=border").get_data(as_text=True)
    testimony = client.get("/t/officer/").get_data(as_text=True)
    assert "archive.js" not in search and "archive.js" in testimony


def test_sentence_links_are_short_and_encoded_once(samples_dir, make_app):
    """Every sentence of the bundled samples (en, ru, uk), selected and linked: the link,
    with a typical domain, is at most 250 characters and no escape is escaped again."""
    client = make_app(samples_dir, site_url="https://archive.example.org/").test_client()
    lengths: dict[str, list[int]] = {}
    for t in load_archive(samples_dir).public(TODAY_DATE):
        text = public_text(t)
        for m in re.finditer(r"[^\s.!?][^.!?\n]{20,}[.!?]", text):
            if len(m.group().split()) < 6:
                continue
            body = client.get(f"/t/{t.id}/anchor.json?start={m.start()}&end={m.end()}").get_json()
            assert "%25" not in body["url"] and "%25" not in json.dumps(body["citations"])
            assert len(body["url"]) <= 250, body["url"]
            page = client.get(body["path"].split("#")[0]).get_data(as_text=True)
            assert highlight_of(page) == (m.start(), m.end())
            lengths.setdefault(t.language, []).append(len(body["url"]))
    assert {lang: len(v) >= 50 for lang, v in lengths.items()} == {
        "en": True,
        "ru": True,
        "uk": True,
    }
