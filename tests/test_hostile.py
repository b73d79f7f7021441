"""Hostile input: script vectors everywhere, abusive queries over HTTP, malformed files.

1. Script injection. Every vector of ``tests/data/xss_vectors.py`` goes into
   testimony bodies, front matter values (title, narrator, place, source,
   interviewer), themes.yaml labels and descriptions, search queries and
   filters, quote checks and quote anchors. Every resulting page and its
   JSON, feeds and citations are checked statically (no ``<script>`` but the
   app's own ``/static/`` files, no ``on*=`` attribute, no ``javascript:``,
   ``vbscript:`` or ``data:`` link, no frame, object, style or base element
   from content), and every HTML page is opened in a real Chromium (no
   dialog, no console error, no request to any host but 127.0.0.1, the
   Content-Security-Policy header intact). ``{: ... }`` attribute-list abuse
   is refused by the parser with the file and line.
2. Query abuse against a real ``archive serve`` over the 200-file corpus:
   each abusive request (wildcards, fuzzy operators, 10 KB queries, 2,000
   nested parentheses, NUL and control characters, invalid UTF-8 as raw
   bytes, huge page numbers) is answered within the bound with a 4xx or
   results, while another thread keeps getting normal search results.
3. Malformed testimony files generated with Hypothesis: each gets
   ``path:line`` errors, never a traceback, from ``load_archive`` and
   ``archive validate``; the good files are still indexed; the export refuses.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import yaml
from abuse import abuse_and_check, abusive_requests
from archive_server import ArchiveServer, fetch
from conftest import copy_small_corpus
from e2e_helpers import chromium_path, launch_chromium, live_server
from helpers import make_app
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from archive.anchors import Anchor
from archive.citations import FORMATS
from archive.config import resolve_config
from archive.errors import ValidationErrors
from archive.index import build_index
from archive.parse import MAX_FILE_BYTES, load_archive, parse_file
from webapp.security import CSP, SECURITY_HEADERS

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2025-06-01"
_spec = importlib.util.spec_from_file_location("xss_vectors", ROOT / "tests/data/xss_vectors.py")
XSS = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(XSS)
TEXT, MARKDOWN, REJECTED = XSS.TEXT, XSS.MARKDOWN, XSS.REJECTED
EVERY_VECTOR = TEXT + MARKDOWN
FRONT_FIELDS = ("title", "narrator", "place", "source", "interviewer")


def test_there_are_enough_vectors():
    assert len(TEXT) >= 50 and len(MARKDOWN) >= 20 and len(REJECTED) >= 10
    assert len(set(EVERY_VECTOR)) == len(EVERY_VECTOR)


# --- 1. script injection ----------------------------------------------------------------------

HEAD = '---\nid: {id}\ntitle: "{id}"\nlanguage: en\nstatus: public\n---\n\n'


@pytest.mark.parametrize(("body", "message", "lines"), REJECTED, ids=lambda v: repr(v)[:40])
def test_attribute_list_abuse_is_refused_with_file_and_line(tmp_path, body, message, lines):
    path = tmp_path / "abuse.md"
    path.write_text(HEAD.format(id="abuse") + body, encoding="utf-8")
    with pytest.raises(ValidationErrors) as caught:
        parse_file(path)
    body_line = HEAD.count("\n") + 1
    wanted = {body_line + line - 1 for line in ((lines,) if isinstance(lines, int) else lines)}
    errors = caught.value.errors
    assert any(message in e.message and e.line in wanted for e in errors), [str(e) for e in errors]
    for error in errors:
        assert str(error).startswith(f"{path}:{error.line}: ")


def _front(**values: str) -> str:
    # JSON strings are YAML double-quoted scalars; ASCII escapes keep U+2028 a character.
    return "".join(f"{k}: {json.dumps(v)}\n" for k, v in values.items())


def _vocabulary() -> tuple[str, list[str]]:
    """The default vocabulary plus themes whose labels and descriptions are vectors."""
    data = yaml.safe_load((ROOT / "archive" / "data" / "themes.yaml").read_text("utf-8"))
    slugs = []
    for k in range(0, len(TEXT), 4):
        slug = f"hostile-{k // 4}"
        labels = dict(zip(("en", "ru", "uk"), TEXT[k : k + 3], strict=False))
        labels.setdefault("en", slug)
        data["themes"].append(
            {
                "slug": slug,
                "labels": labels,
                "description": TEXT[(k + 3) % len(TEXT)],
                "broader": "hostile-0" if k else None,
            }
        )
        slugs.append(slug)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False), slugs


def write_hostile_archive(directory: Path) -> dict[str, list[str]]:
    """Vectors in bodies, front matter and the vocabulary; returns the ids and theme slugs."""
    directory.mkdir(parents=True)
    text, themes = _vocabulary()
    (directory / "themes.yaml").write_text(text, encoding="utf-8")
    ids = []
    for n, start in enumerate(range(0, len(EVERY_VECTOR), 10)):
        chunk = EVERY_VECTOR[start : start + 10]
        parts = ["**Q:** What did the alert say?"]
        parts += chunk
        parts += [f"Before {v} after." for v in chunk if "\n" not in v and not v.startswith(" ")]
        testimony_id = f"body-{n}"
        front = _front(title=f"Body vectors {n}", place="Kharkiv region", source="Tests")
        (directory / f"{testimony_id}.md").write_text(
            f"---\nid: {testimony_id}\n{front}language: en\ndate: 2023-0{n % 9 + 1}\n"
            f"themes: [{themes[n % len(themes)]}]\nstatus: public\n---\n"
            + "\n\n".join(parts)
            + "\n",
            encoding="utf-8",
        )
        ids.append(testimony_id)
    for j, vector in enumerate(TEXT):
        testimony_id = f"front-{j:02d}"
        values = {f: TEXT[(j + i) % len(TEXT)] for i, f in enumerate(FRONT_FIELDS)}
        values["title"] = vector
        (directory / f"{testimony_id}.md").write_text(
            f"---\nid: {testimony_id}\n{_front(**values)}language: en\ndate: 1937\n"
            f"themes: [{themes[j % len(themes)]}]\nstatus: public\n---\n"
            f"**Q:** Where? **A:** Near the river, said the alert {j}.\n",
            encoding="utf-8",
        )
        ids.append(testimony_id)
    return {"ids": ids, "themes": themes}


class _Markup(HTMLParser):
    """What a browser would treat as markup (not text) in a document or an HTML fragment."""

    URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "poster",
                 "background", "srcdoc", "content", "srcset", "codebase", "cite"}  # fmt: skip
    FORBIDDEN = {"iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math",
                 "style", "base", "img", "video", "audio", "source", "marquee", "x"}  # fmt: skip
    #: The page templates use these; content never may.
    TEMPLATE_ONLY = {"body", "html", "head", "noscript", "details", "input", "textarea"}

    def __init__(self, fragment: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.fragment = fragment
        self.problems: list[str] = []
        self.scripts: list[str | None] = []
        self.tags: dict[str, int] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes.get("src"))
            if self.fragment or not (attributes.get("src") or "").startswith("/static/"):
                self.problems.append(f"<script {attributes}>")
        forbidden = tag in self.FORBIDDEN or (self.fragment and tag in self.TEMPLATE_ONLY)
        if forbidden or (tag == "meta" and "http-equiv" in attributes):
            self.problems.append(f"<{tag}>")
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag in ("form", "link", "input", "button", "textarea") and self.fragment:
            self.problems.append(f"<{tag}> in content")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.problems.append(f"<{tag} {name}=...>")
            if name in self.URL_ATTRS and value and _bad_url(value):
                self.problems.append(f"<{tag} {name}={value!r}>")
            own = tag in ("link", "form", "script") and name in ("href", "action", "src")
            if own and value and not value.startswith(("/", "http://127.0.0.1:", SITE_URL)):
                self.problems.append(f"<{tag} {name}={value!r}> leaves the site")


def _bad_url(value: str) -> bool:
    cleaned = re.sub(r"[\x00-\x20\x7f-\x9f]+", "", value).lower()
    return cleaned.startswith(("javascript:", "vbscript:", "data:", "livescript:"))


def markup_problems(text: str, fragment: bool = False) -> list[str]:
    parser = _Markup(fragment)
    parser.feed(text)
    parser.close()
    repeated = [t for t in ("html", "head", "body") if parser.tags.get(t, 0) > 1]
    return parser.problems + [f"<{t}> more than once" for t in repeated]


def _json_problems(value, key: str = "") -> list[str]:
    problems = []
    if isinstance(value, dict):
        for k, v in value.items():
            problems += _json_problems(v, k)
    elif isinstance(value, list):
        for v in value:
            problems += _json_problems(v, key)
    elif isinstance(value, str):
        if key in ("html", "snippet") or key.endswith("_html"):
            problems += markup_problems(value, fragment=True)
        if (key.lower().endswith("url") or key in ("href", "id")) and _bad_url(value):
            problems.append(f"{key}: {value!r}")
    return problems


_CITE_URL = re.compile(r"(?im)^(?:UR  - (.*)|\s*url\s*=\s*\{(.*)\},?)$")


def response_problems(path: str, status: int, headers: dict[str, str], body: bytes) -> list[str]:
    """Everything unsafe about one response, as 'path: problem' lines."""
    problems = []
    for name, value in SECURITY_HEADERS.items():
        if headers.get(name) != value:
            problems.append(f"header {name} is {headers.get(name)!r}")
    kind = headers.get("Content-Type", "")
    text = body.decode("utf-8", "replace")
    if kind.startswith("text/html"):
        problems += markup_problems(text)
        scripts = re.findall(r"(?i)<script\b[^>]*>", text)
        ours = {
            f'<script src="/static/{name}" defer>' for name in ("archive-common.js", "archive.js")
        }
        if not set(scripts) <= ours:  # ours alone
            problems.append(f"scripts: {scripts}")
    elif "json" in kind:
        problems += _json_problems(json.loads(text))
    elif "xml" in kind:
        problems += markup_problems(text)
        for url in re.findall(r"<(?:loc|id|uri)>([^<]*)<", text):
            if _bad_url(url):
                problems.append(f"xml url {url!r}")
    else:  # BibTeX and RIS: the URL fields must be the archive's own address
        for groups in _CITE_URL.findall(text):
            url = "".join(groups).strip()
            if not url.startswith(SITE_URL):  # site_url, never the request's host
                problems.append(f"citation url {url!r}")
    return [f"{path}: {p}" for p in problems]


#: The hostile server's site_url: its feed, sitemap and OpenSearch links are its own.
SITE_URL = "https://archive.example.org/"


def _anchor_param(vector: str) -> str:
    # The form that carries words: hostile words in a link (still read, never shown).
    return Anchor(
        exact=vector, prefix="the ", suffix=" said", start=0, end=len(vector)
    ).to_words_param()


def hostile_urls(info: dict[str, list[str]], app) -> tuple[list[str], set[str], list[str]]:
    """(HTML pages to open in the browser, the share of them the quick run opens, all other URLs).

    The quick run opens every testimony and theme page, and the query, quote and
    anchor pages of every fourth vector; the slow run opens the rest.
    """
    archive = load_archive(app.config["ARCHIVE"].testimonies)
    pages = ["/", "/themes/", "/browse/", "/help/search/", "/quote/", "/search/"]
    pages += [f"/t/{i}/" for i in info["ids"]]
    pages += [f"/themes/{s}/" for s in info["themes"]]
    with app.test_request_context():
        from flask import url_for

        from webapp.catalog import place_slug

        places = sorted({place_slug(t.place) for t in archive.testimonies.values() if t.place})
        places = [url_for("archive.browse_place", slug=s) for s in places]
    pages += places
    pages += ["/browse/date/1930s/", "/browse/date/1937/", "/browse/language/en/"]
    for word in ("alert", "script", "onerror", "javascript", "river", "vectors"):
        pages.append("/search/?" + urlencode({"q": word}))
    quick = set(pages) - set(places[12:])
    for n, vector in enumerate(EVERY_VECTOR):
        if n % 4 == 0:
            quick.add("/search/?" + urlencode({"q": vector}))
            quick.add("/quote/?" + urlencode({"text": vector}))
            quick.add("/t/body-0/?" + urlencode({"a": _anchor_param(vector)}))
        pages.append("/search/?" + urlencode({"q": vector}))
        pages.append("/quote/?" + urlencode({"text": vector}))
        pages.append("/t/body-0/?" + urlencode({"a": _anchor_param(vector)}))
    for vector in TEXT[:20]:
        pages.append("/search/?" + urlencode({"q": "river", "theme": vector}))
        pages.append("/search/?" + urlencode({"q": "river", "place": vector, "sort": vector}))
        pages.append("/t/body-1/?" + urlencode({"a": vector}))
    others = ["/index.json", "/themes.json", "/browse.json", "/feed.xml", "/sitemap.xml",
              "/opensearch.xml", "/robots.txt", "/help/search.json"]  # fmt: skip
    for page in pages:
        path, _, query = page.partition("?")
        if path != "/":
            others.append(path.rstrip("/") + ".json" + (f"?{query}" if query else ""))
    for testimony_id in info["ids"]:
        others += [f"/t/{testimony_id}/cite.{fmt}" for fmt in FORMATS]
        others.append(f"/t/{testimony_id}/anchor.json?start=0&end=40")
    for vector in TEXT[:10]:
        others.append("/t/body-0/anchor.json?" + urlencode({"start": vector, "end": "3"}))
        others.append("/t/body-0/cite.bib?" + urlencode({"a": _anchor_param(vector)}))
    return pages, quick, others


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    testimonies = tmp / "testimonies"
    info = write_hostile_archive(testimonies)
    archive = load_archive(testimonies)
    assert archive.errors == [], [str(e) for e in archive.errors]
    config = resolve_config(testimonies=testimonies, index=tmp / "index", today=TODAY)
    report = build_index(config)
    assert report.errors == [] and report.testimonies == len(info["ids"])
    # A site_url, so the feed, sitemap and OpenSearch description are served and checked.
    app = make_app(testimonies, tmp / "index", today=TODAY, site_url=SITE_URL)
    with live_server(app) as server:
        yield server, app, info


def test_every_response_is_free_of_markup_from_content(hostile_site):
    server, app, info = hostile_site
    pages, _, others = hostile_urls(info, app)
    problems, statuses = [], {}
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    for path in pages + others:
        status, headers, body = fetch(server.port, path, connection=conn)
        statuses[path] = status
        assert status < 500, (path, body[:300])
        problems += response_problems(path, status, dict(headers), body)
    conn.close()
    assert problems == []
    ok = sum(1 for s in statuses.values() if s == 200)
    assert ok > len(statuses) * 0.6
    assert statuses["/t/body-0/"] == 200 and statuses["/t/front-00/"] == 200
    print(f"\nstatic XSS check: {len(statuses)} responses ({ok} OK), {len(EVERY_VECTOR)} vectors")


def test_vectors_are_shown_as_text(hostile_site):
    """The control for the check above: the vectors reach the pages, escaped."""
    server, _, _ = hostile_site
    _, _, body = fetch(server.port, "/t/body-0/")
    page = body.decode()
    assert "&lt;script&gt;window.__xss=1;alert(1)&lt;/script&gt;" in page
    _, _, body = fetch(server.port, "/t/front-00/")
    assert "&lt;script&gt;window.__xss=1;alert(1)&lt;/script&gt;" in body.decode()
    _, _, body = fetch(server.port, "/themes/hostile-0/")
    assert "&lt;script&gt;" in body.decode()


class _Browser:
    """Records dialogs, console errors and every request; aborts all but 127.0.0.1."""

    def __init__(self, context) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.requests = 0
        context.route("**/*", self._route)

    def _route(self, route) -> None:
        self.requests += 1
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()

    def watch(self, page) -> None:
        page.on("dialog", self._dialog)
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def _open_in_chromium(server, pages: list[str]) -> None:
    chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context()
        watcher = _Browser(context)
        page = context.new_page()
        watcher.watch(page)
        bad_errors, csp = [], []
        started = time.monotonic()
        for path in pages:
            before = len(watcher.errors)
            response = page.goto(server.url + path, wait_until="load")
            assert response is not None
            if response.headers.get("content-security-policy") != CSP:
                csp.append(path)
            assert page.evaluate("window.__xss === undefined"), path
            for message in watcher.errors[before:]:
                # The browser logs the document's own 4xx status; anything else is a failure.
                expected = response.status >= 400 and "status of 4" in message
                if not expected:
                    bad_errors.append(f"{path}: {message}")
        elapsed = time.monotonic() - started
        browser.close()
    assert watcher.dialogs == []
    assert bad_errors == []
    assert watcher.foreign == []
    assert csp == []
    print(f"\nChromium: {len(pages)} pages in {elapsed:.1f} s, {watcher.requests} requests")


@pytest.mark.e2e
def test_no_vector_runs_in_chromium(hostile_site):
    server, app, info = hostile_site
    pages, quick, _ = hostile_urls(info, app)
    _open_in_chromium(server, [p for p in pages if p in quick])


@pytest.mark.e2e
@pytest.mark.slow
def test_no_vector_runs_in_chromium_on_any_page(hostile_site):
    server, app, info = hostile_site
    pages, quick, _ = hostile_urls(info, app)
    _open_in_chromium(server, [p for p in pages if p not in quick])


# --- 2. query abuse over HTTP -------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_server(tmp_path_factory):
    """The 200-file corpus, indexed by 'archive index' and served by 'archive serve'."""
    tmp = tmp_path_factory.mktemp("corpus")
    testimonies = copy_small_corpus(tmp / "testimonies")
    subprocess.run(
        [sys.executable, "-m", "archive", "--testimonies", str(testimonies), "--index",
         str(tmp / "index"), "index"], check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    with ArchiveServer(testimonies, tmp / "index", tmp / "logs") as server:
        yield server


def test_abusive_queries_are_answered_quickly_while_searches_go_on(corpus_server):
    rounds = [(f"{label} #{n}", target) for n in range(3) for label, target in abusive_requests()]
    result = abuse_and_check(corpus_server, rounds, "query abuse")
    assert len(result["normal"]) >= 10
    statuses = {label: s for label, (s, _) in result["timings"].items()}
    assert statuses["invalid UTF-8 raw #0"] in (200, 400)
    assert statuses["2,000 nested parentheses #0"] == 400
    assert statuses["10 KB query #0"] == 400 and statuses["huge page #0"] == 400
    status, _, _ = corpus_server.get("/search.json?q=master")
    assert status == 200


# --- 3. malformed testimony files ----------------------------------------------------------------

GOOD = """---
id: {id}
title: "A good account"
language: en
themes: [desertion]
status: public
---
**Q:** Where did the {word} go?

**A:** Across the river at night.
"""


def _valid(testimony_id: str, word: str = "ferryman") -> str:
    return GOOD.format(id=testimony_id, word=word)


def _alias_bomb(depth: int) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, depth):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    return "\n".join(lines)


_yaml_junk = st.lists(
    st.sampled_from(list("abc:-[]{}&*!|>'\"#%@`, \n\t\\") + ["id", "title", ": ", "\n  "]),
    max_size=60,
).map("".join)


@st.composite
def malformed_files(draw) -> bytes:
    """The bytes of one testimony file that must be refused (never its stem as id)."""
    kind = draw(st.sampled_from([
        "yaml", "alias", "anchor", "bomb", "tag", "binary", "utf16", "latin1", "duplicate",
        "theme", "prefix", "date", "status", "body-attr", "unclosed", "keys",
    ]))  # fmt: skip
    valid = _valid("bad")
    if kind == "yaml":
        return f"---\n{draw(_yaml_junk)}\n---\n\nBody.\n".encode()
    if kind == "alias":
        key = draw(st.sampled_from(["narrator", "place", "title"]))
        return f'---\nid: bad\ntitle: &t "x"\n{key}: *t\n---\n\nBody.\n'.encode()
    if kind == "anchor":
        return b"---\nid: bad\ntitle: x\nthemes: &l [desertion]\n---\n\nBody.\n"
    if kind == "bomb":
        depth = draw(st.integers(2, 12))
        return f"---\nid: bad\ntitle: x\n{_alias_bomb(depth)}\n---\n\nBody.\n".encode()
    if kind == "tag":
        tag = draw(st.sampled_from(["!!python/object/apply:os.system", "!!binary", "!custom",
                                    "!!python/name:os.system", "!!set"]))  # fmt: skip
        return f'---\nid: bad\ntitle: {tag} "x"\n---\n\nBody.\n'.encode()
    if kind == "binary":
        return draw(st.binary(min_size=1, max_size=400))
    if kind == "utf16":
        return valid.encode(draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32"])))
    if kind == "latin1":
        word = draw(st.sampled_from(["café", "naïve", "Ærø", "señor", "straße"]))
        return _valid("bad", word).encode("latin-1")
    if kind == "duplicate":
        pid = draw(st.from_regex(r"[a-z]{1,8}", fullmatch=True))
        return (valid + f"{{: #{pid} }}\n\nAgain.\n{{: #{pid} }}\n").encode()
    if kind == "theme":
        slug = draw(
            st.from_regex(r"[a-z]{3,12}", fullmatch=True).filter(lambda s: s != "desertion")
        )
        where = draw(st.booleans())
        if where:
            return valid.replace("[desertion]", f"[{slug}]").encode()
        return (valid + f'{{: themes="{slug}" }}\n').encode()
    if kind == "prefix":
        return draw(st.binary(min_size=1, max_size=40)) + b"\x00" + valid.encode()
    if kind == "date":
        key = draw(st.sampled_from(["date", "publish_after", "title"]))
        impossible = ["2023-02-30", "2023-13-01", "2023-00-10", "1937-04-31", "2023-02-29",
                      "2023-01-01 25:00:00"]  # fmt: skip
        value = draw(st.sampled_from(impossible + (["99999-01-01"] if key != "title" else [])))
        front = f"{key}: {value}\n{'status: embargoed' if key == 'publish_after' else ''}\n"
        if key == "title":
            valid = valid.replace('title: "A good account"\n', "")
        return valid.replace("language: en\n", f"language: en\n{front}").encode()
    if kind == "status":
        value = draw(st.sampled_from(["secret", "embargoed", "PUBLIC", "[public]", "1"]))
        return valid.replace("status: public\n", f"status: {value}\n").encode()
    if kind == "body-attr":
        attr = draw(st.sampled_from(['onclick="x"', "style=x", ".shiny", "#Bad_Id", 'foo="1"']))
        return (valid + f"{{: {attr} }}\n").encode()
    if kind == "unclosed":
        return b"---\nid: bad\ntitle: x\n\nBody without an end to the front matter.\n"
    return valid.replace("language: en\n", "language: en\ncolour: red\nlanguage: ru\n").encode()


def _check_refused(path: Path, raw: bytes) -> list:
    """``path`` gets only its own errors, each with a line inside the file (or the size)."""
    path.write_bytes(raw)
    archive = load_archive(path.parent, paths=[path])
    assert archive.testimonies == {}, raw[:200]
    assert archive.errors, raw[:200]
    lines = raw.count(b"\n") + 2
    for error in archive.errors:
        assert error.path == str(path)
        assert error.message and "Traceback" not in str(error)
        if error.line is None:  # a whole-file problem: the size cap only
            assert "byte limit" in error.message, str(error)
            assert str(error).startswith(f"{path}: ")
        else:
            assert 1 <= error.line <= lines, (str(error), raw[:200])
            assert str(error).startswith(f"{path}:{error.line}: ")
    return archive.errors


@settings(
    max_examples=300, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(raw=malformed_files())
@example(raw=b"---\nid: bad\ntitle: x\ndate: 2023-02-30\n---\n\nBody.\n")
@example(raw=b"---\nid: bad\ntitle: x\ndate: 2023-01-01 25:00:00\n---\n\nBody.\n")
@example(raw=b"---\nid: bad\ntitle: x\nnarrator: 1937-04-31\n---\n\nBody.\n")
@example(raw=b"\xff\xfe" + _valid("bad").encode("utf-16-le"))
def test_malformed_files_get_file_and_line_errors(tmp_path, raw):
    directory = Path(tempfile.mkdtemp(dir=tmp_path))
    try:
        _check_refused(directory / "bad.md", raw)
    finally:
        shutil.rmtree(directory)


def test_a_file_over_the_size_cap_is_refused_without_reading_it_as_text(tmp_path):
    path = tmp_path / "huge.md"
    body = ("**A:** " + "river " * 1000 + "\n\n") * ((MAX_FILE_BYTES // 6000) + 10)
    errors = _check_refused(path, _valid("huge").encode() + body.encode())
    assert "over the" in errors[0].message and "split" in (errors[0].hint or "")


def _malformed_directory(directory: Path) -> dict[str, bytes]:
    """A mix of good files and one file of each kind of damage, named by kind."""
    directory.mkdir(parents=True)
    for i in range(3):
        (directory / f"good-{i}.md").write_text(_valid(f"good-{i}", f"ferryman{i}"), "utf-8")
    bad = {
        "yaml": b'---\nid: yaml\ntitle: [unclosed\nnarrator: "x\n---\n\nBody.\n',
        "alias": b'---\nid: alias\ntitle: &t "x"\nnarrator: *t\n---\n\nBody.\n',
        "bomb": f"---\nid: bomb\ntitle: x\n{_alias_bomb(9)}\n---\n\nBody.\n".encode(),
        "binary": bytes(range(256)) * 4,
        "utf16": _valid("utf16").encode("utf-16"),
        "latin1": _valid("latin1", "café").encode("latin-1"),
        "duplicate": (_valid("duplicate") + "{: #same }\n\nAgain.\n{: #same }\n").encode(),
        "theme": _valid("theme").replace("[desertion]", "[nonexistent-theme]").encode(),
        "date": _valid("date").replace("language: en", "language: en\ndate: 2023-02-30").encode(),
        "random": os.urandom(2048),
        "huge": _valid("huge").encode() + b"A: river.\n\n" * (MAX_FILE_BYTES // 10),
        "other-id": _valid("good-0").encode(),  # good-0's id in another file
    }
    for name, raw in bad.items():
        (directory / f"{name}.md").write_bytes(raw)
    return bad


def test_validate_index_and_export_with_malformed_files(tmp_path):
    directory = tmp_path / "testimonies"
    bad = _malformed_directory(directory)

    def archive(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "ARCHIVE_TODAY": TODAY}
        command = [sys.executable, "-m", "archive", "--testimonies", str(directory), "--index",
                   str(tmp_path / "index"), *args]  # fmt: skip
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)

    validate = archive("validate")
    assert validate.returncode == 1
    assert "Traceback" not in validate.stderr + validate.stdout
    for name in bad:
        assert re.search(rf"{re.escape(str(directory / name))}\.md(:\d+)?: ", validate.stderr), name
    assert "3 valid" in validate.stdout

    index = archive("index")
    assert index.returncode == 1, index.stdout + index.stderr
    assert "Traceback" not in index.stderr + index.stdout
    assert f"{len(bad)} file(s) with errors were skipped" in index.stderr
    found = archive("search", "ferryman1", "--json")
    assert found.returncode == 0 and json.loads(found.stdout)["total"] == 1

    export = archive("export", str(tmp_path / "site"), "--now", TODAY)
    assert export.returncode == 1
    assert "Traceback" not in export.stderr + export.stdout
    assert str(directory / "date.md") in export.stderr
    assert not (tmp_path / "site").exists()


def test_one_impossible_date_never_takes_the_web_app_down(tmp_path):
    directory = tmp_path / "testimonies"
    directory.mkdir()
    (directory / "good.md").write_text(_valid("good"), "utf-8")
    (directory / "bad.md").write_text(
        _valid("bad").replace("language: en", "language: en\ndate: 2023-02-30"), "utf-8"
    )
    config = resolve_config(testimonies=directory, index=tmp_path / "index", today=TODAY)
    report = build_index(config)
    assert report.testimonies == 1 and [e.line for e in report.errors] == [5]
    client = make_app(directory, tmp_path / "index", today=TODAY).test_client()
    assert client.get("/t/good/").status_code == 200
    assert client.get("/t/bad/").status_code == 404
    assert client.get("/search.json?q=ferryman").get_json()["total"] == 1
