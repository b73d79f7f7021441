"""Editor mode in a real Chromium: select words, "Copy link", and quotes.yaml gains the entry."""

from __future__ import annotations

import pytest
from e2e_helpers import TODAY, WEB_TESTIMONIES, Watch, chromium_path, launch_chromium, live_server
from helpers import make_app, write_archive

from archive.config import resolve_config
from archive.index import build_index
from archive.ledger import load_ledger
from webapp.editor import EDITOR

pytestmark = pytest.mark.e2e

WORDS = "half the battalion has a hernia"


def _select(page, words: str) -> None:
    page.evaluate(
        """words => {
            const root = document.getElementById('testimony_text');
            const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
            let node;
            while ((node = walker.nextNode())) {
                const i = node.data.indexOf(words);
                if (i >= 0) {
                    const range = document.createRange();
                    range.setStart(node, i);
                    range.setEnd(node, i + words.length);
                    window.getSelection().removeAllRanges();
                    window.getSelection().addRange(range);
                    return;
                }
            }
            throw new Error('words not found: ' + words);
        }""",
        words,
    )


def test_copy_link_in_editor_mode_records_the_quote(tmp_path):
    chromium_path()
    from playwright.sync_api import sync_playwright

    testimonies = write_archive(tmp_path / "testimonies", WEB_TESTIMONIES)
    (testimonies / "quotes.yaml").write_text("# printed quotes\n", encoding="utf-8")
    config = resolve_config(testimonies=testimonies, index=tmp_path / "index", today=TODAY)
    build_index(config)
    app = make_app(testimonies, tmp_path / "index", today=TODAY,
                   GENERATION_CHECK_SECONDS=0, **{EDITOR: True})  # fmt: skip
    with live_server(app) as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
        page = context.new_page()
        watch = Watch(page)
        page.goto(f"{server.url}/t/officer/")
        _select(page, WORDS)
        page.wait_for_selector("#quote_toolbar:not([hidden])")
        page.click("#quote_copy")
        page.wait_for_selector("#quote_toolbar[data-link]", state="attached")
        link = page.get_attribute("#quote_toolbar", "data-link")
        (quote,) = load_ledger(testimonies).quotes
        assert quote.exact == WORDS and quote.testimony == "officer"
        assert link == f"{server.url}/q/{quote.id}/"
        assert page.evaluate("navigator.clipboard.readText()") == link
        assert (
            (testimonies / "quotes.yaml")
            .read_text(encoding="utf-8")
            .startswith("# printed quotes\nquotes:\n")
        )
        page.goto(link)
        assert page.locator("#quote_words").inner_text() == WORDS
        page.goto(f"{server.url}/t/officer/")
        assert page.locator(f'a.quoted-mark__link[href="/q/{quote.id}/"]').count() == 1
        assert watch.dialogs == [] and watch.errors == []
        browser.close()
