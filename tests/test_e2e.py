"""The archive in a real Chromium, served by waitress: highlights, quote links, XSS, axe.

Skipped only when no ``chromium`` is installed, and then a failure on CI.
Screenshots of the main pages (desktop and phone) are written to
``test-output/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from e2e_helpers import (
    CANARIES,
    SCREENSHOTS,
    TODAY,
    WEB_TESTIMONIES,
    Watch,
    clipboard_page,
    copy_link,
    in_viewport,
    live_server,
    select_words,
    serious_axe_violations,
)
from helpers import make_app, write_archive

from archive.config import resolve_config
from archive.index import build_index

pytestmark = pytest.mark.e2e

XSS_BODY = """**Q:** <script>window.__owned = 1; alert('x')</script> and <img src=x onerror=alert(1)>?

A [link](javascript:alert(1)) and <svg onload=alert(1)></svg> here, with a border.

Quote "><script>alert(2)</script> <iframe src="javascript:alert(3)"></iframe> end.
"""

SELECTED = "refused to sign the referal, and he said"


def _serve_archive(tmp: Path):
    testimonies = write_archive(tmp / "testimonies", WEB_TESTIMONIES)
    (testimonies / "xss.md").write_text(
        '---\nid: xss\ntitle: "<script>alert(3)</script> title"\n'
        'narrator: "<img src=x onerror=alert(4)>"\nlanguage: en\nstatus: public\n---\n\n'
        + XSS_BODY,
        encoding="utf-8",
    )
    (testimonies / "attrs.md").write_text(
        '---\nid: attrs\ntitle: "Attr abuse"\nlanguage: en\nstatus: public\n---\n\n'
        'Words.\n{: onclick="alert(1)" }\n\n[x]{: onmouseover="alert(2)" }\n',
        encoding="utf-8",
    )
    config = resolve_config(testimonies=testimonies, index=tmp / "index", today=TODAY)
    build_index(config)
    app = make_app(testimonies, tmp / "index", today=TODAY, GENERATION_CHECK_SECONDS=0)
    return app, config


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    app, config = _serve_archive(tmp_path_factory.mktemp("e2e"))
    with live_server(app) as server:
        yield server


def _cite(page, words: str) -> str:
    """Select ``words``, press Cite; the quote the citation panel shows."""
    select_words(page, words)
    page.wait_for_selector("#quote_toolbar:not([hidden])")
    page.click("#quote_cite")
    page.wait_for_selector("#quote_panel:not([hidden])")
    return page.locator("#quote_panel_text").inner_text()


def test_search_hit_opens_with_the_words_highlighted(site, page):
    page.goto(f"{site.url}/search/?q=border")
    link = page.locator("a.hit__link").first
    assert "<mark>" in link.inner_html().lower() or link.locator("mark").count() > 0
    link.click()
    page.wait_for_selector("mark.quote-mark")
    marked = " ".join(page.locator("mark.quote-mark").all_inner_texts()).lower()
    assert "border" in marked
    assert in_viewport(page, "#quote_start")
    assert page.watch.dialogs == [] and page.watch.errors == []


def test_copied_link_survives_edits_and_reindex(browser, tmp_path):
    app, config = _serve_archive(tmp_path)
    with live_server(app) as server:
        page = clipboard_page(browser, server.url)
        page.goto(f"{server.url}/t/officer/")
        link = copy_link(page, SELECTED)
        assert page.evaluate("navigator.clipboard.readText()") == link
        assert link.startswith(f"{server.url}/t/officer/?a=") and ":~:text=" in link

        path = config.testimonies / "officer.md"
        source = path.read_text(encoding="utf-8")
        filler = "\n\n".join(f"**Q:** Filler question number {i}?" for i in range(25))
        source = source.replace(
            "**Q:** When did you first think", filler + "\n\n**Q:** When did you first think"
        )
        # The words move (a link carries offsets and a checksum of its words, no words).
        path.write_text(source, encoding="utf-8")
        build_index(config)

        page.goto("about:blank")
        page.goto(link)
        page.wait_for_selector("mark.quote-mark")
        marked = "".join(page.locator("mark.quote-mark").all_inner_texts())
        assert marked == SELECTED
        page.wait_for_timeout(300)
        assert in_viewport(page, "#quote_start")
        assert page.locator("#quote_notice").is_visible()

        # The cite button opens the panel with the citation of those words.
        assert _cite(page, "forty minutes") == "forty minutes"
        assert "@misc{officer_" in page.locator("#quote_panel_formats").text_content()
        page.keyboard.press("Escape")
        assert page.locator("#quote_panel").is_hidden()

        source = re.sub(
            r"\*\*Andrei:\*\* The commander refused.*?\n\{: #commission-blocked[^\n]*\n",
            "",
            path.read_text(encoding="utf-8"),
            flags=re.S,
        )
        path.write_text(source, encoding="utf-8")
        build_index(config)
        page.goto("about:blank")
        page.goto(link)
        notice = page.locator("#quote_orphan")
        notice.wait_for()
        assert "This link's words were not found in the current text" in notice.inner_text()
        assert SELECTED not in notice.inner_text() and "edited" not in notice.inner_text()
        assert page.locator("mark.quote-mark").count() == 0
        assert page.watch.dialogs == [] and page.watch.errors == []
        page.context.close()


def test_toolbar_is_keyboard_usable(site, page):
    page.goto(f"{site.url}/t/officer/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert in_viewport(page, ".skip-link")
    select_words(page, "twenty-six men")
    page.wait_for_selector("#quote_toolbar:not([hidden])")
    page.focus("#quote_cite")
    page.keyboard.press("Enter")
    page.wait_for_selector("#quote_panel:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "quote_panel_title"
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    assert page.locator("#quote_toolbar").is_hidden()


def test_script_vectors_never_run(site, page):
    urls = [
        "/t/xss/",
        "/search/?q=" + quote("<script>alert(1)</script>"),
        "/search/?q=" + quote('"><img src=x onerror=alert(1)>'),
        "/search/?q=" + quote("<svg onload=alert(1)>") + "&theme=" + quote("<b>x</b>"),
        "/search/?q=border",
        "/quote/?text=" + quote("<script>alert(1)</script> javascript:alert(1)"),
        "/t/officer/?a=" + quote("1-2~<script>alert(1)</script>"),
    ]
    for url in urls:
        page.goto(site.url + url)
        page.wait_for_load_state("load")
        assert page.evaluate("window.__owned === undefined")
    assert page.watch.dialogs == []
    assert page.watch.errors == [] or all("400" in e for e in page.watch.errors)
    # The attr_list file was rejected by the parser, so it is not a page.
    assert page.goto(site.url + "/t/attrs/").status == 404
    for link in page.locator("a[href^='javascript']").all():
        pytest.fail(f"javascript: link rendered: {link}")


def test_no_canary_reaches_the_browser(site, page):
    for url in ("/", "/t/officer/", "/search/?q=village", "/search/?q=brother", "/feed.xml"):
        page.goto(site.url + url)
        content = page.content()
        for canary in CANARIES:
            assert canary not in content


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/search/?q=furlough",
        "/t/officer/",
        "/themes/leaving-service/",
        "/quote/?text=twenty-six+men",
    ],
)
def test_axe_finds_no_serious_violations(site, page, path):

    page.goto(site.url + path)
    assert serious_axe_violations(page) == []
    assert page.watch.errors == []


def test_screenshots(site, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, (width, height) in {"desktop": (1280, 900), "phone": (390, 844)}.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        for label, path in (("home", "/"), ("search", "/search/?q=furlough OR border")):
            page.goto(site.url + path)
            page.screenshot(path=str(SCREENSHOTS / f"{label}-{name}.png"))
        page.goto(site.url + "/t/officer/")
        page.screenshot(path=str(SCREENSHOTS / f"testimony-{name}.png"))
        select_words(page, "twenty-six men to nine")
        page.wait_for_selector("#quote_toolbar:not([hidden])")
        page.screenshot(path=str(SCREENSHOTS / f"testimony-selection-{name}.png"))
        page.click("#quote_cite")
        page.wait_for_selector("#quote_panel:not([hidden])")
        page.screenshot(path=str(SCREENSHOTS / f"testimony-cite-{name}.png"))
        page.goto(site.url + "/search/?q=crossing")
        page.locator("a.hit__link").first.click()
        page.wait_for_selector("mark.quote-mark")
        page.wait_for_timeout(200)
        page.screenshot(path=str(SCREENSHOTS / f"testimony-quote-{name}.png"))
        context.close()
    assert len(list(SCREENSHOTS.glob("*.png"))) >= 12


def test_quote_links_count_characters_beyond_the_basic_plane_as_the_server_does(browser, tmp_path):
    """Offsets are code points on the server and UTF-16 units in the browser: an emoji or a
    rare CJK character before the selection must not shift the quoted words."""
    testimonies = write_archive(tmp_path / "testimonies", WEB_TESTIMONIES)
    (testimonies / "emoji.md").write_text(
        '---\nid: emoji\ntitle: "Messages"\nlanguage: en\nstatus: public\n---\n\n'
        "He wrote 😀😀 and 𠜎 in the chat.\n\n"
        "Then 😀 the convoy left at dawn, 😀 and we waited.\n",
        encoding="utf-8",
    )
    config = resolve_config(testimonies=testimonies, index=tmp_path / "index", today=TODAY)
    build_index(config)
    app = make_app(testimonies, tmp_path / "index", today=TODAY)
    with live_server(app) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        watch = Watch(page)
        page.goto(f"{server.url}/t/emoji/")
        link = copy_link(page, "the convoy left at dawn")
        assert "?a=39-62." in link and link.endswith(":~:text=the%20convoy%20left%20at%20dawn")
        page.goto("about:blank")
        page.goto(link)
        page.wait_for_selector("mark.quote-mark")
        assert "".join(page.locator("mark.quote-mark").all_inner_texts()) == (
            "the convoy left at dawn"
        )
        assert page.locator("#quote_notice").is_visible()
        assert _cite(page, "we waited") == "we waited"
        assert watch.dialogs == [] and watch.errors == []
        context.close()


def test_a_drag_from_inside_words_links_the_whole_words(site, page):
    """Intl.Segmenter's words: a selection starting in "fused" and ending in "refer" makes
    the link of "refused to sign the referal", on the server's page (archive.js)."""
    page.goto(f"{site.url}/t/officer/")
    link = copy_link(page, "fused to sign the refer")
    assert page.locator("#quote_panel_text").text_content() == "refused to sign the referal"
    assert link.startswith(f"{site.url}/t/officer/?a=") and "%25" not in link
    assert len(link) <= 250
    page.goto(link)
    page.wait_for_selector("mark.quote-mark")
    assert (
        "".join(page.locator("mark.quote-mark").all_inner_texts()) == "refused to sign the referal"
    )
    assert page.watch.errors == []


def test_a_crafted_link_on_the_server_states_nothing_untrue(site, page):
    from urllib.parse import quote

    from archive.anchors import Anchor

    claim = "I ordered my men to shoot the prisoners"
    forged = Anchor(exact=claim, prefix="", suffix="", start=0, end=len(claim))
    for param in (quote(forged.to_words_param(), safe=""), forged.to_param()):
        page.goto(f"{site.url}/t/officer/?a={param}")
        notice = page.locator("#quote_orphan")
        text = notice.inner_text()
        assert "This link's words were not found in the current text" in text
        assert "edited" not in text and "no longer" not in text and "not shown here" in text
        assert notice.locator("blockquote").count() == 0
        assert page.locator("mark.quote-mark").count() == 0
        # The forged words are nowhere on the page, whichever form carried them.
        assert claim not in page.content() and claim not in page.inner_text("body")
    assert page.watch.errors == []
