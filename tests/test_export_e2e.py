"""The static export in a real Chromium, served by a plain static file server.

No archive server runs here: search (Pagefind), quote links and citations
must work from the files alone, under a sub-path, with the export's
Content-Security-Policy enforced. Skipped only when no ``chromium`` is
installed, and then a failure on CI.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from e2e_helpers import (
    CANARIES,
    TODAY,
    StaticSite,
    Watch,
    chromium_path,
    copy_link,
    in_viewport,
    live_server,
    select_words,
)
from helpers import make_app

from archive.anchors import Anchor, make_anchor

pytestmark = pytest.mark.e2e

SELECTED = "refused to sign the referal, and he said"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    chromium_path()
    served = StaticSite(tmp_path_factory.mktemp("static"))
    yield served
    served.stop()


def _select(page, first: str, last: str | None = None) -> dict:
    """Select from the start of ``first`` to the end of ``last`` (default: ``first``) in the
    testimony text, as a person would with the mouse; returns archive.js's offsets."""
    page.evaluate("window.getSelection().removeAllRanges()")  # no answer left from before
    page.wait_for_selector("#quote_toolbar", state="hidden")
    select_words(page, first, last)
    page.wait_for_selector("#quote_toolbar:not([hidden])")
    toolbar = page.locator("#quote_toolbar")
    return {
        "start": int(toolbar.get_attribute("data-start")),
        "end": int(toolbar.get_attribute("data-end")),
    }


# --- search ------------------------------------------------------------------------------


def test_search_finds_a_passage_and_jumps_to_it_with_a_filter(site, page):
    page.goto(f"{site.base}search/?q=border")
    page.wait_for_selector(".result-count")
    assert "1 testimony found for “border”" in page.inner_text(".result-count")
    assert page.locator(".hit__link mark").first.inner_text().lower().startswith("border")
    assert page.input_value("#search_q") == "border"

    page.click("a.facet__link:has-text('English')")
    page.wait_for_selector("a.facet__link.is-selected")
    assert "language=en" in page.url and "Clear filters" in page.inner_text(".result-count")
    hit = page.locator("a.hit__link").first
    assert hit.get_attribute("href").startswith("/archive/t/officer/#crossed-border")
    hit.click()
    page.wait_for_url(f"{site.base}t/officer/**")
    page.wait_for_timeout(300)
    assert in_viewport(page, "#crossed-border")

    page.goto(f"{site.base}search/?q=border&language=uk")
    page.wait_for_selector(".result-count")
    assert page.inner_text(".result-count").startswith("Nothing found")
    assert page.watch.errors == []


def test_search_in_other_scripts_and_filters_alone(site, page):
    page.goto(f"{site.base}search/?q=переховувався")
    page.wait_for_selector(".hit-group")
    assert "mother-uk" in page.locator(".hit-group__title a").first.get_attribute("href")
    page.goto(f"{site.base}search/?theme=hiding")
    page.wait_for_selector(".hit-group")
    titles = page.locator(".hit-group__title a").all_inner_texts()
    assert titles == ["Мати про сина, який переховувався вдома"]
    assert page.watch.errors == []


def test_russian_and_ukrainian_words_are_found_in_their_other_forms(site, page):
    """As on the server: Pagefind has English word rules only, so the page searches the
    beginning a word's forms share (archive/wordforms.py) instead of the word typed."""
    asked = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{site.base}search/?q=" + quote("Отпуска"))  # the testimony says "отпуск"
    page.wait_for_selector(".hit-group")
    assert "/t/officer-ru/" in page.locator(".hit-group__title a").first.get_attribute("href")
    assert page.locator(".hit__link mark").all_inner_texts() == ["отпуск,"]
    # The Ukrainian lemma, which the testimony does not use, finds the form it does use.
    page.goto(f"{site.base}search/?q=" + quote("переховуватися"))
    page.wait_for_selector(".hit-group")
    assert page.locator(".hit-group").count() == 1
    assert page.locator(".hit__link mark").all_inner_texts() == ["переховувався"]
    # "й" is "и" to Pagefind and in the table: a word with one is found.
    page.goto(f"{site.base}search/?q=" + quote("Андрей"))
    page.wait_for_selector(".hit-group")
    assert "/t/officer-ru/" in page.locator(".hit-group__title a").first.get_attribute("href")
    # A word no public text holds in any form finds nothing, as on the server: Pagefind
    # alone would split "заявление" into "за" and find every testimony with "за".
    page.goto(f"{site.base}search/?q=" + quote("заявление"))
    page.wait_for_selector(".result-count")
    assert page.inner_text(".result-count").startswith("Nothing found")
    # English words, phrases and prefix* words go to Pagefind as typed; each Cyrillic word
    # asks for the one file of words that begin with its first two letters.
    page.goto(f"{site.base}search/?q=" + quote('"дали отпуск" border'))
    page.wait_for_selector(".result-count")
    assert page.inner_text(".result-count").startswith("Nothing found")  # in no one text
    words = [url.rsplit("/", 1)[1] for url in asked if "/search-words/" in url]
    assert words == [
        "043e0442.json", "043f0435.json", "0430043d.json", "04370430.json", "0062006f.json"
    ]  # fmt: skip
    assert page.watch.errors == []


def test_syntax_the_static_search_cannot_read_is_named_not_searched(site, page):
    """'-border' must not find "border", nor OR count as a word: the page says what it left out."""
    page.goto(f"{site.base}search/?q=" + quote("border OR commission -guard date:2023 (army)"))
    page.wait_for_selector(".result-count")
    notice = page.inner_text("#search_unsupported")
    for left_out in ("OR", "-guard", "date:2023", "( )"):
        assert left_out in notice
    assert "border" not in notice and "army" not in notice
    page.goto(f"{site.base}search/?q=" + quote("-border"))
    page.wait_for_selector(".notice")
    assert "left out: -border" in page.inner_text(".notice")
    assert page.locator(".hit-group").count() == 0
    # A phrase left out is left out whole; field names are read in any case, as the server does.
    page.goto(f"{site.base}search/?q=" + quote('fifteen -"days twice" NOT “the OR border” Lang:EN'))
    page.wait_for_selector(".result-count")
    notice = page.inner_text("#search_unsupported")
    assert '-"days twice"' in notice and 'NOT "the OR border"' in notice
    assert "Lang" not in notice, notice
    assert "English" in page.inner_text("a.facet__link.is-selected")
    assert page.locator(".hit-group").count() == 1
    page.goto(f"{site.base}search/?q=border")
    page.wait_for_selector(".result-count")
    assert page.locator("#search_unsupported").count() == 0
    # Phrases are Pagefind's own: the words in that order, not merely all of them.
    page.goto(f"{site.base}search/?q=" + quote('"fifteen days twice"'))
    page.wait_for_selector(".hit-group")
    page.goto(f"{site.base}search/?q=" + quote('"twice days fifteen"'))
    page.wait_for_selector(".result-count")
    assert page.inner_text(".result-count").startswith("Nothing found")
    assert page.watch.errors == []


def test_nothing_private_can_be_found(site, page):
    for canary in CANARIES:
        page.goto(f"{site.base}search/?q={canary}")
        page.wait_for_selector(".result-count")
        assert page.inner_text(".result-count").startswith("Nothing found")
    page.goto(f"{site.base}search/?q=furlough")
    page.wait_for_selector(".result-count")
    hrefs = page.locator(".hit-group__title a").evaluate_all("els => els.map(e => e.href)")
    assert hrefs and not any("secret" in h or "/embargoed/" in h for h in hrefs)
    assert page.watch.errors == []


# --- quote links and citations ---------------------------------------------------------------


def test_a_copied_quote_link_lands_on_the_words(site, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    watch = Watch(page)
    page.goto(f"{site.base}t/officer/")
    _select(page, SELECTED)
    link = copy_link(page)
    assert link.startswith(f"{site.base}t/officer/?a=") and ":~:text=" in link

    page.goto("about:blank")
    page.goto(link)
    page.wait_for_selector("mark.quote-mark")
    assert "".join(page.locator("mark.quote-mark").all_inner_texts()) == SELECTED
    page.wait_for_timeout(300)
    assert in_viewport(page, "#quote_start")
    assert page.locator("#quote_notice").is_visible()
    assert (
        page.locator("#quote_notice")
        .inner_text()
        .startswith("The quoted words are highlighted below.")
    )
    assert page.locator("#quote_orphan").is_hidden()

    # Cite opens the panel with the citation of the selected words.
    _select(page, "forty minutes")
    page.click("#quote_cite")
    page.wait_for_selector("#quote_panel:not([hidden])")
    assert page.locator("#quote_panel_text").inner_text() == "forty minutes"
    assert "@misc{officer_" in page.locator("#quote_panel_formats").text_content()
    assert page.input_value("#quote_link").startswith(f"{site.base}t/officer/?a=")
    assert watch.errors == []
    context.close()


def test_links_to_changed_or_broken_quotes_say_so(site, page):
    gone = make_anchor("Words that were in an older version of the text.", 10, 30)
    page.goto(f"{site.base}t/officer/?a={gone.to_param()}")
    page.wait_for_selector("#quote_orphan:not([hidden])")
    notice = page.locator("#quote_orphan").inner_text()
    assert "This link's words were not found in the current text" in notice
    assert "edited" not in notice and "not shown here" in notice
    assert page.locator("mark.quote-mark").count() == 0

    page.goto(f"{site.base}t/officer/?a=garbage")
    page.wait_for_selector("#quote_error:not([hidden])")
    assert "START-END.CHECK" in page.inner_text("#quote_error")

    # The words moved (a link's offsets from before an edit): found, and said to be elsewhere.
    moved = make_anchor("x" * 40 + " forty minutes, then", 41, 54)
    for param in (moved.to_param(), quote(moved.to_words_param(), safe="")):
        page.goto(f"{site.base}t/officer/?a={param}#crossed-border")
        page.wait_for_selector("mark.quote-mark")
        assert "".join(page.locator("mark.quote-mark").all_inner_texts()) == "forty minutes"
        assert page.locator("#quote_notice [data-when=moved]").is_visible()
        assert "edited" not in page.locator("#quote_notice").inner_text()
    assert page.watch.errors == []


def test_a_crafted_link_puts_no_words_in_the_witness_mouth(site, page):
    """A link anyone wrote, with words the witness never said (the earlier link form
    carried words): the exported page says only that they are not in the text, and shows
    them nowhere (not as a quote, not as a claim, not as an edit)."""
    claim = "I ordered my men to shoot the prisoners"
    forged = Anchor(exact=claim, prefix="", suffix="", start=0, end=len(claim))
    for param in (quote(forged.to_words_param(), safe=""), forged.to_param()):
        page.goto(f"{site.base}t/officer/?a={param}")
        page.wait_for_selector("#quote_orphan:not([hidden])")
        text = page.locator("#quote_orphan").inner_text()
        assert "This link's words were not found in the current text" in text
        assert "not shown here" in text
        assert "edited" not in text and "no longer" not in text and "quoted" not in text.lower()
        assert page.locator("mark.quote-mark").count() == 0
        assert claim not in page.inner_text("body") and claim not in page.content()
    assert page.watch.errors == []


def test_a_selection_snaps_to_whole_words_and_links_are_short(site, page):
    page.goto(f"{site.base}t/officer/")
    # The drag starts inside "refused" and ends inside "referal".
    offsets = _select(page, "fused to sign the refer")
    made = page.evaluate("range => window.archiveStatic.anchorFor(range)", offsets)
    assert made["quote"] == "refused to sign the referal"
    assert "%25" not in made["url"] and len(made["url"]) <= 250
    assert made["param"] == made["url"].split("?a=")[1].split("#")[0]
    for testimony in ("officer-ru", "mother-uk"):
        page.goto(f"{site.base}t/{testimony}/")
        text = page.locator("#testimony_text [data-offset]").last.text_content()
        body = text.split(": ", 1)[-1]  # after the speaker's label, one text node
        sentence = body[: body.index(".") + 1] if "." in body else body
        word = next(w for w in sentence.split() if len(w) >= 5)
        sentence = sentence[sentence.index(word) :]
        offsets = _select(page, sentence[2:], None)  # from inside a word
        made = page.evaluate("range => window.archiveStatic.anchorFor(range)", offsets)
        assert made["quote"] == sentence and "%25" not in made["url"]
        assert len(made["url"]) <= 250, made["url"]
    assert page.watch.errors == []


def _same_as_the_server(site, page, tmp_path, testimony: str, selections: list) -> list[dict]:
    """For each (first, last) selection on the exported page, what export-quote.js makes
    must be what the app's anchor.json answers; returns the page's answers."""
    import json

    app = make_app(
        site.testimonies,
        tmp_path / "index",
        site_url=site.base,
        today=TODAY,
        GENERATION_CHECK_SECONDS=0,
    )
    answers = []
    page.goto(f"{site.base}t/{testimony}/")
    with live_server(app) as server:
        for first, last in selections:
            offsets = _select(page, first, last)
            mine = page.evaluate(
                "([range, accessed]) => window.archiveStatic.anchorFor(range, {accessed})",
                [offsets, TODAY],
            )
            url = f"{server.url}/t/{testimony}/anchor.json?start={offsets['start']}&end={offsets['end']}"
            with urllib.request.urlopen(url) as response:  # noqa: S310
                theirs = json.loads(response.read())
            for key in ("testimony", "passage", "quote", "anchor", "param", "url", "citations"):
                assert mine[key] == theirs[key], (first, key)
            answers.append(mine)
    assert page.watch.errors == []
    return answers


def test_links_and_citations_made_in_the_page_equal_the_servers(site, page, tmp_path):
    """export-quote.js ports anchors and citations: the app must give the same answers."""
    selections = [
        (SELECTED, None),
        ("forty minutes", None),
        ("When did you", "In two weeks"),
        ("twenty-six men", "Fit for military"),  # across passages, a list and a quote
        ("Leave, fifteen", "Leave, fifteen days twice a year on paper."),
    ]
    _same_as_the_server(site, page, tmp_path, "officer", selections)


def test_characters_beyond_the_basic_plane_shift_no_quote(browser, tmp_path):
    """Emoji and rare CJK characters count once, as on the server, before and in a quote."""
    emoji = (
        '---\nid: emoji\ntitle: "Messages"\nlanguage: en\nstatus: public\n---\n\n'
        "He wrote 😀😀 and 𠜎 in the chat.\n\nThen 😀 the convoy left at dawn, 😀 and we waited.\n"
    )
    served = StaticSite(tmp_path / "static", extra={"emoji": emoji})
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.watch = Watch(page)
        selections = [("the convoy left at dawn", None), ("𠜎 in the", "Then 😀 the")]
        answers = _same_as_the_server(served, page, tmp_path, "emoji", selections)
        assert [a["quote"] for a in answers] == [
            "the convoy left at dawn",
            "𠜎 in the chat.\n\nThen 😀 the",
        ]
    finally:
        context.close()
        served.stop()


def test_citation_downloads_are_the_files_the_server_sends(site, page, tmp_path):
    """No citation files on a static host: the page saves the texts it shows, byte for
    byte what the app's cite.FORMAT sends (RIS keeps its CRLF line ends)."""
    from archive.citations import FORMATS

    app = make_app(site.testimonies, tmp_path / "index", site_url=site.base, today=TODAY)
    client = app.test_client()
    page.goto(f"{site.base}t/officer/")
    for fmt in FORMATS:
        button = page.locator(f'[data-download="cite_{fmt.replace(".", "_")}"]')
        button.locator("xpath=ancestor::details").evaluate("details => { details.open = true; }")
        with page.expect_download() as info:
            button.click()
        download = info.value
        assert download.suggested_filename == f"officer.{fmt}"
        served = client.get(f"/t/officer/cite.{fmt}").get_data()
        assert Path(download.path()).read_bytes() == served, fmt
    assert page.watch.errors == []


def test_the_quote_page_finds_words_in_the_browser(site, page):
    page.goto(f"{site.base}quote/?text=" + quote("the Border guard said: GO ahead"))
    page.wait_for_selector(".match")
    assert "Word for word" in page.inner_text(".match")
    assert page.input_value("#quote_text") == "the Border guard said: GO ahead"
    page.click("text=Open the passage with these words highlighted")
    page.wait_for_url(f"{site.base}t/officer/**")
    page.wait_for_timeout(300)
    assert in_viewport(page, "#crossed-border")

    page.goto(f"{site.base}quote/?text=" + quote("nothing like this was ever said"))
    page.wait_for_selector("#matches_title")
    assert page.inner_text("#matches_title") == "No source found"
    assert page.watch.errors == []


# --- the page itself ---------------------------------------------------------------------------


def test_no_console_errors_on_any_kind_of_page(site, page):
    for path in ("", "themes/", "themes/furlough/", "browse/", "browse/language/uk/",
                 "t/officer-ru/", "help/search/", "search/?q=furlough", "quote/", "404.html"):  # fmt: skip
        page.goto(site.base + path)
        page.wait_for_load_state("networkidle")
    assert page.watch.errors == []


def test_the_content_security_policy_holds(site, page):
    violations = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    page.goto(f"{site.base}search/?q=border")
    page.wait_for_selector(".hit-group")  # Pagefind's WebAssembly ran under the policy
    assert violations == []
    with pytest.raises(Exception):  # noqa: B017 - Playwright reports the blocked script so
        page.add_script_tag(content="window.__injected = 1;")
    assert page.evaluate("window.__injected") is None
    assert any("Content Security Policy" in v for v in violations)
    # The violations this test provoked are the page's only console errors.
    page.watch.errors[:] = [e for e in page.watch.errors if "Content Security Policy" not in e]


def test_without_javascript_the_search_page_says_what_to_do(site, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{site.base}search/?q=border")
    assert page.locator("#search_noscript").is_visible()
    assert "needs JavaScript" in page.inner_text("#search_noscript")
    page.goto(f"{site.base}t/officer/")
    assert page.locator("#crossed-border").is_visible()  # pages themselves need no script
    assert page.locator("#cite_bib").count() == 1  # citations are there to copy by hand,
    assert page.locator("[data-download]").first.is_hidden()  # with no button that can't work
    context.close()


def test_the_shared_cases_hold_in_the_browser(site, page):
    """tests/data/shared_cases.json, which tests/test_shared_cases.py runs in Python, run
    against the page scripts: folding, the query syntax, anchors and citation text."""
    import json

    cases = json.loads((Path(__file__).parent / "data" / "shared_cases.json").read_text("utf-8"))
    page.goto(f"{site.base}t/officer/")
    got = page.evaluate(
        """cases => {
          const common = window.archivePage, s = window.archiveStatic;
          const t = JSON.parse(document.getElementById("export_meta").getAttribute("data-cite"));
          return {
            fold: cases.fold.map(c => common.fold(c.text)),
            query: cases.query.map(c => common.parseQuery(c.q)),
            anchor: cases.anchor.map(c => {
              const a = s.parseParam(c.param);
              return [a.exact, a.prefix, a.suffix, a.start, a.end, s.toParam(a), s.toTextFragment(a),
                common.checksum(a.exact)];
            }),
            resolve: cases.resolve.map(c => {
              const m = s.resolve(s.parseParam(c.param));
              return m ? [m.start, m.end, m.score] : [null, null, null];
            }),
            citation: cases.citation.map(c =>
              s.cite(t, c.url, c.accessed, c.site, s.parseParam(c.param), c.format)),
          };
        }""",
        cases,
    )
    assert got["fold"] == [c["folded"] for c in cases["fold"]]
    assert got["query"] == [
        {"words": c["words"], "filters": c["filters"], "unsupported": c["unsupported"]}
        for c in cases["query"]
    ]
    assert got["anchor"] == [
        [
            c["exact"],
            c["prefix"],
            c["suffix"],
            c["start"],
            c["end"],
            c["link"],
            c["fragment"],
            c["link"].split(".")[-1],
        ]
        for c in cases["anchor"]
    ]
    assert got["resolve"] == [[c["start"], c["end"], c["score"]] for c in cases["resolve"]]
    assert got["citation"] == [c["text"] for c in cases["citation"]]
    assert page.watch.errors == []


def test_a_word_no_public_text_holds_is_named_and_lower_hits_say_what_they_lack(site, page):
    """Best match as on the server: "zzzqqq" is reported, never silently dropped; a testimony
    holding most of the words is listed with the words its passage lacks."""
    page.goto(f"{site.base}search/?q=" + quote("zzzqqq border"))
    page.wait_for_selector(".result-count")
    assert "zzzqqq" in page.inner_text("#search_unknown")
    assert page.locator(".hit-group").count() == 1
    # Three significant words, two needed: "fifteen" and "twice" are in one passage, "border"
    # in another; the stop word "the" counts for nothing and is never marked.
    page.goto(f"{site.base}search/?q=" + quote("the fifteen twice border"))
    page.wait_for_selector(".hit-group")
    missing = page.locator(".hit__missing").all_inner_texts()
    assert "Missing: border" in missing and "Missing: fifteen, twice" in missing
    assert "the" not in [m.lower() for m in page.locator(".hit__link mark").all_inner_texts()]
    # mode=all: every word, so nothing holds all four.
    page.goto(f"{site.base}search/?mode=all&q=" + quote("fifteen twice border zzzqqq"))
    page.wait_for_selector(".result-count")
    assert page.inner_text(".result-count").startswith("Nothing found")
    assert page.input_value("#search_mode") == "all"
    assert page.watch.errors == []


def test_did_you_mean_comes_from_public_words_only(site, page):
    page.goto(f"{site.base}search/?q=" + quote("bordr"))
    page.wait_for_selector(".result-count")
    assert page.inner_text(".suggestion") == "Did you mean border?"
    page.click(".suggestion a")
    page.wait_for_selector(".hit-group")
    # A misspelt redacted word is never proposed: the table holds public words only.
    for canary in CANARIES:
        page.goto(f"{site.base}search/?q={canary[:-1]}")
        page.wait_for_selector(".result-count")
        assert page.locator(".suggestion").count() == 0
        assert page.inner_text(".result-count").startswith("Nothing found")
    assert page.watch.errors == []


def test_the_shared_q_canaries_find_nothing_and_are_named(site, page):
    """Pagefind split an unknown "qzx..." word into the "Q" of "**Q:**": the page now asks
    Pagefind only for words the public word table knows."""
    from canaries import CANARIES as SHARED

    for canary in SHARED:
        page.goto(f"{site.base}search/?q=" + quote(canary.word))
        page.wait_for_selector(".result-count")
        assert page.inner_text(".result-count").startswith("Nothing found"), canary.word
        assert page.locator(".hit-group").count() == 0
    assert page.watch.errors == []


def test_the_static_hint_offers_only_what_the_page_reads(site, page):
    page.goto(f"{site.base}search/")
    hint = page.inner_text("#search_hint")
    assert "reads no OR, -word or date:" in hint and "date:20" not in hint
    assert page.locator("#search_view").count() == 0 and page.locator("#search_sort").count() == 0


def test_the_quote_check_finds_a_quote_with_changed_words(site, page):
    changed = "The commander declined to sign the referral, and he said that half the battalion"
    page.goto(f"{site.base}quote/?text=" + quote(changed))
    page.wait_for_selector("#matches_title")
    assert page.inner_text("#matches_title") == "Where it comes from"
    assert "Close, but not exact" in page.inner_text(".match__verdict")
    assert page.locator(".diff del").all_inner_texts()[:2] == ["declined", "referral"]
    assert "/t/officer/#commission-blocked" in page.locator(
        ".match a[href*='#']"
    ).first.get_attribute("href")
    # A quote sharing only "the" and "a" with the texts shows no passage at all.
    page.goto(f"{site.base}quote/?text=" + quote("the goat ate a violin at the opera"))
    page.wait_for_selector("#matches_title")
    assert page.inner_text("#matches_title") == "No source found"
    assert page.locator(".match, mark").count() == 0
    assert page.watch.errors == []
