"""Nothing private ever leaves the archive: a crawl of every route, the logs, the index, the export.

One archive holds made-up canary words in every place a secret can be kept,
in English, Russian and Ukrainian: inline and whole-passage redactions of
public testimonies, and the metadata and text of restricted and embargoed
ones (their ids too). It is indexed by the real ``archive index`` command
(with the private index beside the public one) and served by a real
``archive serve`` process with every logger at DEBUG. Then every rule of the
app's URL map is requested with every id, slug, period and format the
archive has, as HTML and JSON, together with searches for each canary (as
written, inflected, misspelled, with ё for е, as a prefix, in a filter),
quote checks, anchors, citations and error pages.

A canary counts as found in any case and normal form: the response is
decoded (HTML entities, percent-encoding, JSON ``\\u`` escapes), folded
(:func:`archive.analysis.fold`: case, ё/е, accents) and searched for the
canary, its stems (:func:`archive.analysis.analyze`) and its first seven
folded letters. What the client itself typed (a query, an id in the path)
is echoed by pages and is taken out word by word before looking; the JSON
of those searches is also checked on its own (no hit, no suggestion).

Lifting the embargo (``ARCHIVE_TODAY`` after ``publish_after``) must make
the embargoed words appear, so each check is shown to be able to fail.
"""

from __future__ import annotations

import html
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit

import pytest
from archive_server import ArchiveServer
from canaries import (
    CANARIES,
    EMBARGOED,
    EMBARGOED_IDS,
    NEVER,
    RESTRICTED_IDS,
    WITHHELD_BODY,
    Canary,
    canaries_in,
    canaries_in_bytes,
    canary_word,
    write_canary_archive,
)
from helpers import make_app, run_archive
from media_helpers import write_silence

from archive.analysis import analyze, fold
from archive.anchors import Anchor
from archive.citations import FORMATS
from archive.model import passage_offsets, public_text
from archive.parse import load_archive
from webapp.publish.leakcheck import check_bytes

BEFORE = "2025-06-01"  # embargo in force
AFTER = "2030-07-01"  # the day after publish_after: embargo lifted
STATIC = Path(__file__).resolve().parent.parent / "webapp" / "static"


def _write_ledger(directory: Path) -> None:
    """A quote ledger with a quote of every testimony: as if each had been cited while
    public and the withheld ones restricted or embargoed since. Their /q/ pages are crawled."""
    import datetime as dt

    from archive.anchors import make_anchor
    from archive.ledger import LedgerQuote, entry_text, new_id
    from archive.model import passage_offsets, public_text

    archive = load_archive(directory)
    entries, taken = [], set()
    for t in sorted(archive.testimonies.values(), key=lambda t: t.id):
        p = max(t.passages, key=lambda p: len(p.public_text))
        start = passage_offsets(t)[p.id]
        words = p.public_text.split("[redacted]")[0].rstrip()
        a = make_anchor(public_text(t), start, start + min(len(words), 80), passage=p.id)
        quote_id = new_id(t.id, a.exact, a.start, taken)
        taken.add(quote_id)
        entries.append(entry_text(LedgerQuote(quote_id, t.id, p.id, a.exact, a.prefix, a.suffix,
                                              a.start, a.end, dt.date(2019, 1, 1))))  # fmt: skip
    (directory / "quotes.yaml").write_text("quotes:\n" + "".join(entries), encoding="utf-8")


# --- what a query for a canary may look like ------------------------------------------------


def _misspellings(word: str) -> list[str]:
    w = fold(word)
    middle = len(w) // 2
    return [
        w[:middle] + w[middle + 1 :],  # a letter dropped
        w[:middle] + w[middle + 1] + w[middle] + w[middle + 2 :],  # two letters swapped
        w[:middle] + ("a" if w.isascii() else "о") + w[middle + 1 :],  # one letter wrong
    ]


def query_forms(canary: Canary) -> list[str]:
    """The canary as people type it: cased, inflected, misspelled, ё/е, prefix, filters."""
    w = fold(canary.word)
    stem = analyze(canary.word, canary.language)[0]
    if canary.language == "en":
        inflected = [stem, stem + "s", stem + "ing", stem + "ed"]
    else:
        inflected = [stem, stem + "ами", stem + "ою", stem + "ові"]
    forms = [canary.word, canary.word.upper(), *inflected, *_misspellings(canary.word)]
    if "е" in w or "ё" in canary.word.lower():
        forms.append(canary.word.lower().replace("ё", "е"))
        forms.append(w.replace("е", "ё"))
    forms += [w[:6] + "*", f'"{canary.word}"', f"narrator:{w}", f"place:{w}", f"{w} OR furlough"]
    return list(dict.fromkeys(forms))


# --- the crawl -------------------------------------------------------------------------------


@dataclass
class Response:
    path: str
    typed: tuple[str, ...]
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def everything(self) -> str:
        return "\n".join(f"{k}: {v}" for k, v in self.headers) + "\n" + self.text


@dataclass
class Crawl:
    responses: list[Response] = field(default_factory=list)
    rules: dict[str, list[int]] = field(default_factory=dict)  # rule -> statuses
    output: str = ""  # the server's stdout and stderr

    def get(self, server: ArchiveServer, path: str, typed=(), method="GET", rule=None):
        status, headers, body = server.get(path, method=method, timeout=30)
        response = Response(path, tuple(typed), status, headers, body)
        self.responses.append(response)
        if rule is not None:
            self.rules.setdefault(rule, []).append(status)
        return response

    def find(self, path: str) -> Response:
        return next(r for r in self.responses if r.path == path)


def _route_values(app, archive, endpoint: str, argument: str) -> list[str]:
    """Every value the archive gives a route argument, non-public ones and a missing one too."""
    testimonies = list(archive.testimonies.values())
    if argument == "testimony_id":
        return [t.id for t in testimonies] + ["no-such-id"]
    if argument == "fmt":
        return [*FORMATS, "docx"]
    if argument == "number":  # recordings: published copies only (see test_muting.py)
        return ["1", "2"]
    if argument == "slug" and "theme" in endpoint:
        return [*archive.vocabulary.themes, "no-such-theme"]
    if argument == "slug" and "place" in endpoint:
        from slugify import slugify

        return [slugify(t.place) for t in testimonies if t.place] + ["nowhere"]
    if argument == "period":
        dated = [t.date for t in testimonies if t.date]
        periods = {d.decade for d in dated} | {str(d.year) for d in dated}
        return [*sorted(periods), "undated", "1066"]
    if argument == "code":
        return ["en", "ru", "uk", "xx"]
    if argument == "filename":
        return sorted(p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*") if p.is_file())
    if argument == "quote_id":
        from archive.ledger import load_ledger

        return [q.id for q in load_ledger(archive.directory).quotes] + ["abcdefg"]
    pytest.fail(f"the leak crawl does not know route argument {argument!r} of {endpoint}: add it")


def crawl_site(server: ArchiveServer, app, archive, today) -> Crawl:
    from datetime import date

    crawl = Crawl()
    day = date.fromisoformat(today)
    public = sorted(archive.public(day), key=lambda t: t.id)

    # 1. Every rule of the URL map with every value of its arguments.
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            arguments = sorted(rule.arguments)
            choices = [_route_values(app, archive, rule.endpoint, a) for a in arguments]
            for combo in itertools.product(*choices):
                values = dict(zip(arguments, combo, strict=True))
                path = url_for(rule.endpoint, **values)
                crawl.get(server, path, typed=combo, rule=rule.rule)
                paged = not arguments or rule.endpoint.startswith("archive.theme")
                if paged and rule.endpoint != "static":
                    crawl.get(server, path + "?page=2", typed=combo, rule=rule.rule)

    # 2. Searches: for every canary in every form, for the words around the secrets.
    for canary in CANARIES:
        for form in query_forms(canary):
            crawl.get(server, "/search.json?" + urlencode({"q": form}), typed=(form,))
        for form in query_forms(canary)[:1] + _misspellings(canary.word)[:1]:
            crawl.get(server, "/search/?" + urlencode({"q": form}), typed=(form,))
        crawl.get(server, "/search.json?" + urlencode({"place": f"{canary.word} valley"}),
                  typed=(canary.word,))  # fmt: skip
    neighbours = ["riverbank", "brigade", "brigade riverbank", "commander signed", "furlough",
                  "бригаде", "переправы", "командир", "отпуск", "бригаді", "переправи",
                  "відпустку", "bri*", "коман*", "valley", "papers", "interviewer",
                  "theme:desertion", "date:2019", "lang:ru", "walked out of the unit",
                  "riverbenk", "переправо", "командри"]  # fmt: skip
    for query in neighbours:
        for page in ("/search.json", "/search/"):
            crawl.get(server, f"{page}?" + urlencode({"q": query}))
    for params in ({"theme": "desertion"}, {"language": "ru"}, {"decade": "2010s"},
                   {"theme": "furlough", "sort": "date"}):  # fmt: skip
        crawl.get(server, "/search.json?" + urlencode(params))
        crawl.get(server, "/search/?" + urlencode(params))

    # 3. Quote checks: the words around each secret, and quotes that contain one.
    quotes = [
        ("In the brigade near the riverbank, for two winters", ()),
        ("My commander signed the papers at night", ()),
        ("В бригаде у переправы, две зимы", ()),
        ("Командир подписал бумаги ночью", ()),
        ("У бригаді біля переправи, дві зими", ()),
        ("Командир підписав папери вночі", ()),
        ("The furlough was refused, and I walked out of the unit at the riverbank", ()),
    ]
    for language in ("en", "ru", "uk"):
        for kind in ("inline", "passage", "restricted", "embargoed", "embargoed-inline"):
            word = canary_word(language, kind)
            sentence = WITHHELD_BODY[language].format(word=word)
            quotes.append((sentence, (sentence,)))
    quotes += [
        ("In the QZXcanaryens brigade near the riverbank", ("In the QZXcanaryens brigade near the riverbank",)),
        ("My commander QzxWholeEN signed the papers", ("My commander QzxWholeEN signed the papers",)),
        ("В Щюканарейкой бригаде у переправы", ("В Щюканарейкой бригаде у переправы",)),
        ("У ґїканарковій бригаді біля переправи", ("У ґїканарковій бригаді біля переправи",)),
    ]  # fmt: skip
    for text, typed in quotes:
        for page in ("/quote.json", "/quote/"):
            crawl.get(server, f"{page}?" + urlencode({"text": text}), typed=typed)

    # 4. Anchors over all of each public text and each passage; citations and links of them.
    params = []
    for t in public:
        text = public_text(t)
        spans = [(0, len(text))]
        offsets = passage_offsets(t)
        spans += [(offsets[p.id], offsets[p.id] + len(p.public_text)) for p in t.passages]
        for start, end in spans:
            path = f"/t/{t.id}/anchor.json?start={start}&end={end}"
            response = crawl.get(server, path, rule="/t/<testimony_id>/anchor.json")
            if response.status == 200:
                params.append((t.id, response.json()["param"]))
    for testimony_id, param in params:
        crawl.get(server, f"/t/{testimony_id}/?" + urlencode({"a": param}))
        for fmt in FORMATS:
            crawl.get(server, f"/t/{testimony_id}/cite.{fmt}?" + urlencode({"a": param}))
        for other in (*RESTRICTED_IDS.values(), *EMBARGOED_IDS.values()):
            crawl.get(server, f"/t/{other}/?" + urlencode({"a": param}), typed=(other,))
    # A hand-made link quoting a secret: its words are never shown (the page's "as JSON"
    # link carries the request's own query back, hence typed).
    for canary in CANARIES:
        param = Anchor(exact=canary.word, prefix="In the ", suffix=" brigade", start=3,
                       end=3 + len(canary.word)).to_words_param()  # fmt: skip
        crawl.get(server, "/t/public-en/?" + urlencode({"a": param}), typed=(canary.word,))
        crawl.get(server, "/t/public-en/cite.txt?" + urlencode({"a": param}))

    # 5. Error pages.
    for path in ("/nowhere/", "/nowhere.json", "/t/", "/search.json?q=" + quote("*"),
                 "/search/?q=((((((((((a))))))))))", "/t/public-en/anchor.json?start=9&end=1",
                 "/quote.json?text=" + "x" * 3000):  # fmt: skip
        crawl.get(server, path)
    crawl.get(server, "/search.json?q=riverbank", method="POST")
    crawl.get(server, "/t/public-en/", method="DELETE")
    return crawl


# --- the archive, indexed and served -------------------------------------------------------


def export_available() -> bool:
    try:
        from webapp.publish.export import export_site  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Site:
    testimonies: Path
    index: Path
    today: str
    crawl: Crawl
    cli_output: str
    archive: object


def serve_and_crawl(tmp: Path, today: str) -> Site:
    testimonies = write_canary_archive(tmp / "testimonies")
    _write_ledger(testimonies)
    # Recordings: a public testimony's published copy is served; a restricted one's never.
    write_silence(testimonies / "rec.wav")
    for testimony_id, status in (("recorded", "public"), ("recorded-restricted", "restricted")):
        (testimonies / f"{testimony_id}.md").write_text(
            f'---\nid: {testimony_id}\ntitle: "A recorded account"\nlanguage: en\n'
            f"status: {status}\nmedia: rec.wav\n---\n\n**A:** We walked at night.\n"
            '{: t="0.2-1.5" }\n',
            encoding="utf-8",
        )
    index = tmp / "index"
    result = run_archive(
        "--testimonies", str(testimonies), "--index", str(index), "index",
        "--include-restricted", today=today,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    archive = load_archive(testimonies)
    assert not archive.errors, archive.errors
    app = make_app(testimonies, index, today=today)
    # A site_url, so the feed, sitemap and OpenSearch description are served and crawled.
    env = {"ARCHIVE_TODAY": today, "ARCHIVE_LOG_QUERIES": "0",
           "ARCHIVE_SITE_URL": "https://archive.example.org/"}  # fmt: skip
    server = ArchiveServer(testimonies, index, tmp / "logs", env=env, debug_logging=True)
    with server:
        crawl = crawl_site(server, app, archive, today)
    crawl.output = server.output
    return Site(testimonies, index, today, crawl, result.stdout + result.stderr, archive)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Site:
    return serve_and_crawl(tmp_path_factory.mktemp("leaks"), BEFORE)


@pytest.fixture(scope="module")
def lifted(tmp_path_factory) -> Site:
    return serve_and_crawl(tmp_path_factory.mktemp("lifted"), AFTER)


def _leaks(crawl: Crawl, canaries) -> list[str]:
    found = []
    for r in crawl.responses:
        hits = canaries_in(r.everything(), canaries, r.typed)
        if hits:
            found.append(f"{r.status} {r.path}: {sorted(hits)}")
    return found


# --- before the embargo ends -----------------------------------------------------------------


def test_every_route_is_crawled_and_nothing_fails(site):
    crawl = site.crawl
    app = make_app(site.testimonies, site.index, today=BEFORE)
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert set(crawl.rules) == rules
    for rule, statuses in crawl.rules.items():
        assert 200 in statuses, f"{rule} never answered 200 in the crawl: {statuses}"
    errors = [f"{r.status} {r.path}" for r in crawl.responses if r.status >= 500]
    assert errors == []
    # A restricted testimony's recording is never served; a public one's copy is.
    assert crawl.find("/t/recorded-restricted/media/1.ogg").status == 404
    assert crawl.find("/t/recorded/media/1.ogg").status == 200
    assert len(crawl.responses) > 600
    print(f"\nleak crawl: {len(crawl.responses)} requests over {len(rules)} routes")


def test_no_canary_in_any_response(site):
    assert _leaks(site.crawl, CANARIES) == []


def test_canary_searches_find_nothing_and_suggest_nothing(site):
    searched = 0
    for r in site.crawl.responses:
        if not r.path.startswith("/search.json?") or not r.typed or "+OR+" in r.path:
            continue
        assert r.status in (200, 400), (r.path, r.status)
        if r.status == 200:
            results = r.json()
            assert results["total"] == 0, r.path
            assert results["hits"] == [] and results["suggestion"] is None, r.path
            searched += 1
    assert searched >= len(CANARIES) * 8


def test_did_you_mean_comes_from_public_words(site):
    """The control for the searches above: a misspelled public word does get a suggestion."""
    body = site.crawl.find("/search.json?q=riverbenk").json()
    assert body["suggestion"] == "riverbank"
    ru = site.crawl.find("/search.json?" + urlencode({"q": "переправо"})).json()
    assert ru["total"] > 0 or ru["suggestion"]
    hits = site.crawl.find("/search.json?q=riverbank").json()
    assert hits["passages"] >= 2  # total counts testimonies: the page lists each once
    assert any("[redacted]" in h["snippet"] for h in hits["hits"])


def test_quote_checks_return_public_words_only(site):
    checked = 0
    for r in site.crawl.responses:
        if not r.path.startswith("/quote.json?") or r.status != 200:
            continue
        for match in r.json()["matches"]:
            # The quote's own words come back in the diff: everything else is the archive's.
            shown = {k: v for k, v in match.items() if k not in ("diff", "diff_parts")}
            shown["diff"] = [d.get("source") for d in match.get("diff", [])]
            shown["parts"] = [d for d in match.get("diff_parts", []) if d["op"] != "delete"]
            assert canaries_in(json.dumps(shown, ensure_ascii=False)) == set(), r.path
            checked += 1
    assert checked >= 6  # the sentences around the secrets are found


def test_server_log_holds_no_canary_and_no_traceback(site):
    output = site.crawl.output
    assert "Serving the archive" in output
    assert "Traceback" not in output
    assert canaries_in(output) == set()
    # Nor what the client typed: queries are not logged by default.
    assert "riverbenk" not in output and "QZXcanaryens" not in output


def test_index_command_output_holds_nocanary_word(site):
    assert "public index rebuilt" in site.cli_output
    assert "private index rebuilt" in site.cli_output
    assert canaries_in(site.cli_output) == set()


def _index_files(directory: Path) -> dict[str, set[str]]:
    return {
        str(p.relative_to(directory)): canaries_in_bytes(p.read_bytes())
        for p in directory.rglob("*")
        if p.is_file()
    }


def test_every_byte_of_the_public_index_is_clean(site):
    public = _index_files(site.index / "public")
    assert len(public) >= 4
    assert {name: found for name, found in public.items() if found} == {}
    # The same scan does find them in the private index next to it.
    private = set().union(*_index_files(site.index / "private").values())
    assert {c.word for c in CANARIES if c.language == "en"} <= private | {"qzxembargoru",
                                                                        "qzxembargouk"}  # fmt: skip
    assert {"Щюзакрытыйка", "Ґїзакритка", "Щюжёлтоптица"} <= private


# --- the export -------------------------------------------------------------------------------


def _export(site: Site, tmp: Path, now: str) -> dict[str, set[str]]:
    out = tmp / f"site-{now}"
    result = run_archive(
        "--testimonies", str(site.testimonies), "--index", str(tmp / "export-index"), "export",
        str(out), "--now", now, "--preview", "--base-url", "http://127.0.0.1:8000/archive/",
        today=now,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert canaries_in(result.stdout + result.stderr, NEVER) == set()
    return {
        str(p.relative_to(out)): canaries_in_bytes(p.read_bytes())
        for p in out.rglob("*")
        if p.is_file()
    }


@pytest.mark.skipif(not export_available(), reason="export not available")
def test_the_export_holds_nocanary_word(site, tmp_path):
    files = _export(site, tmp_path, BEFORE)
    assert any(name.endswith(".html") for name in files)
    assert any("pagefind" in name for name in files)
    assert {name: found for name, found in files.items() if found} == {}


# --- after the embargo ends ------------------------------------------------------------------


def test_lifting_the_embargo_shows_the_embargoed_text(lifted):
    crawl = lifted.crawl
    for language, testimony_id in EMBARGOED_IDS.items():
        page = crawl.find(f"/t/{testimony_id}/")
        assert page.status == 200
        assert canary_word(language, "embargoed") in canaries_in(page.text, EMBARGOED)
        assert "[redacted]" in page.text
    found = crawl.find("/search.json?q=Qzxembargoen").json()
    assert found["total"] >= 1
    assert "qzxembargoen-account" in crawl.find("/sitemap.xml").text


def test_after_the_embargo_only_the_embargoed_words_appear(lifted):
    assert _leaks(lifted.crawl, NEVER) == []
    assert _leaks(lifted.crawl, EMBARGOED) != []  # the check can fail
    errors = [f"{r.status} {r.path}" for r in lifted.crawl.responses if r.status >= 500]
    assert errors == [] and "Traceback" not in lifted.crawl.output


def test_after_the_embargo_the_index_holds_the_embargoed_words_only(lifted):
    public = _index_files(lifted.index / "public")
    found = set().union(*public.values())
    assert found
    assert found <= {c.word for c in EMBARGOED}


@pytest.mark.skipif(not export_available(), reason="export not available")
def test_export_now_lifts_the_embargo_and_nothing_else(lifted, tmp_path):
    files = _export(lifted, tmp_path, AFTER)
    found = set().union(*files.values())
    assert {c.word for c in EMBARGOED} & found
    assert found <= {c.word for c in EMBARGOED}


def test_needles_cover_case_stems_and_folding():
    """The matcher itself: every normal form of a canary is caught, an unrelated word is not."""
    assert canaries_in("ЩЮЖЕЛТОПТИЦЫ") == {"Щюжёлтоптица"}
    assert canaries_in("qzxcanaryen") == {"QZXcanaryens"}
    assert canaries_in("&#x51;ZXCANARY") == {"QZXcanaryens"}
    assert canaries_in("%D2%91%D1%97%D0%BA%D0%B0%D0%BD%D0%B0%D1%80") == {"ґїканарковій"}
    assert canaries_in("\\u0490\\u0457\\u0446\\u0456\\u043b\\u0430\\u043f") == {"Ґїцілапташка"}
    assert canaries_in("the riverbank brigade") == set()
    assert canaries_in("q=qzxcanaryem", typed=("qzxcanaryem",)) == set()
    assert canaries_in("qzxcanaryens", typed=("qzxcanaryem",)) == {"QZXcanaryens"}


def test_query_forms_include_inflections_misspellings_and_yo():
    forms = query_forms(Canary("Щюжёлтоптица", "ru", "passage"))
    assert "щюжелтоптица" in forms and any("ё" in f for f in forms)
    assert any(f.endswith("*") for f in forms) and any(f.startswith("narrator:") for f in forms)
    assert len(forms) >= 12


# --- the independent reader over the running app ------------------------------------------


def _echo_removed(body: bytes, typed: tuple[str, ...]) -> bytes:
    """``body`` without what the client typed, in each form a page may echo it."""
    for value in sorted(typed, key=len, reverse=True):
        forms = {value, quote(value), quote(value, safe=""), quote_plus(value), html.escape(value),
                 html.escape(value, quote=False), json.dumps(value)[1:-1],
                 json.dumps(value, ensure_ascii=False)[1:-1]}  # fmt: skip
        for form in sorted(forms, key=len, reverse=True):
            if form:
                body = body.replace(form.encode("utf-8"), b" ")
    # A quote check's diff echoes the quote's words one by one, too.
    words = {w for value in typed for w in re.findall(r"\w+", value)}
    if words:
        pattern = (
            r"(?<!\w)(?:"
            + "|".join(map(re.escape, sorted(words, key=len, reverse=True)))
            + r")(?!\w)"
        )
        text = re.sub(pattern, " ", body.decode("utf-8", "surrogateescape"), flags=re.I)
        body = text.encode("utf-8", "surrogateescape")
    return body


def _suffix(response: Response) -> str:
    kind = dict((k.lower(), v) for k, v in response.headers).get("content-type", "")
    for marker, suffix in (("json", ".json"), ("xml", ".xml"), ("html", ".html"),
                           ("javascript", ".js"), ("css", ".css")):  # fmt: skip
        if marker in kind:
            return suffix
    return ".txt"


def reader_leaks(site: Site, today: str) -> list[str]:
    """Every response of the crawl checked by the export's leak check, whose secrets come
    from :mod:`archive.secrets` (a reader of the raw files), not from the parser."""
    from datetime import date

    from archive.config import resolve_config
    from webapp.publish.export import private_side

    config = resolve_config(testimonies=site.testimonies, index=site.index, today=today)
    app = make_app(site.testimonies, site.index, today=today)
    private = private_side(app, site.archive, config, date.fromisoformat(today))
    assert len(private) > 20  # the canaries are there to be found
    found = []
    for r in site.crawl.responses:
        if r.path.startswith("/static/"):
            continue  # the app's own files are the public text the check is built on
        if r.typed and check_bytes("typed", " ".join(r.typed).encode(), private, suffix=".txt"):
            continue  # it asks for a secret by name: the canary tests take out the echo
        # The request's own query values are echoed (a search box, "query" in the JSON).
        typed = (*r.typed, *(v for _, v in parse_qsl(urlsplit(r.path).query)))
        body = _echo_removed(r.body, typed)
        headers = "\n".join(f"{k}: {v}" for k, v in r.headers).encode()
        for name, data, suffix in (
            (r.path, body, _suffix(r)),
            (r.path + " [headers]", headers, ".txt"),
        ):
            leak = check_bytes(name, _echo_removed(data, typed), private, suffix=suffix)
            if leak is not None:
                found.append(f"{r.status} {leak}")
    return found


def test_the_independent_reader_finds_nothing_in_any_response(site):
    found = reader_leaks(site, BEFORE)
    assert found == [], "\n".join(found[:40])


def test_the_independent_reader_sees_the_lifted_embargo(lifted):
    """Checked against the secrets of the day before, the lifted embargo is a leak: the
    check over the running app can fail."""
    assert reader_leaks(lifted, BEFORE) != []
