"""Editor mode in a real Chromium: select words, "Copy link", and quotes.yaml gains the entry."""

from __future__ import annotations

import datetime as dt

import pytest
from e2e_helpers import (
    WEB_TESTIMONIES,
    StaticSite,
    clipboard_page,
    copy_link,
    live_server,
    select_words,
)
from helpers import TODAY, write_archive

from archive.ledger import add_quote, load_ledger
from archive.parse import load_archive
from webapp.editor import EDITOR

pytestmark = pytest.mark.e2e

WORDS = "half the battalion has a hernia"


def test_copy_link_in_editor_mode_records_the_quote(tmp_path, browser, make_app):
    testimonies = write_archive(tmp_path / "testimonies", WEB_TESTIMONIES)
    (testimonies / "quotes.yaml").write_text("# printed quotes\n", encoding="utf-8")
    app = make_app(testimonies, GENERATION_CHECK_SECONDS=0, **{EDITOR: True})
    with live_server(app) as server:
        page = clipboard_page(browser, server.url)
        page.goto(f"{server.url}/t/officer/")
        link = copy_link(page, WORDS)
        (quote,) = load_ledger(testimonies).quotes
        assert quote.exact == WORDS and quote.testimony == "officer"
        assert link == f"{server.url}/q/{quote.id}/"
        assert page.evaluate("navigator.clipboard.readText()") == link
        # The page tells the editor, visibly and to a screen reader, what was recorded.
        status = page.locator("#ledger_status")
        status.wait_for(state="visible")
        assert status.get_attribute("role") == "status"
        assert status.get_attribute("aria-live") == "polite"
        assert status.inner_text().startswith(f"Recorded in the quote ledger as {quote.id}: ")
        assert link in status.inner_text()
        # The same words again: the entry already there, said so.
        page.evaluate("window.getSelection().removeAllRanges()")
        page.wait_for_selector("#quote_toolbar", state="hidden")
        copy_link(page, WORDS)
        page.wait_for_selector("#ledger_status:has-text('Already in the quote ledger as')")
        assert quote.id in status.inner_text() and len(load_ledger(testimonies).quotes) == 1
        assert (
            (testimonies / "quotes.yaml")
            .read_text(encoding="utf-8")
            .startswith("# printed quotes\nquotes:\n")
        )
        page.goto(link)
        assert page.locator("#quote_words").inner_text() == WORDS
        page.goto(f"{server.url}/t/officer/")
        assert page.locator(f'a.quoted-mark__link[href="/q/{quote.id}/"]').count() == 1
        assert page.watch.dialogs == [] and page.watch.errors == []
        page.context.close()


def test_the_exports_copy_link_and_cite_use_the_short_link(tmp_path, browser):
    """The static export, in Chromium: words that are a ledger quote are linked and cited
    with /q/ID/ under the export's base URL; other words get an ad-hoc link."""
    source = write_archive(tmp_path / "source", WEB_TESTIMONIES)
    quote, _ = add_quote(source, load_archive(source), "officer", WORDS,
                         today=dt.date.fromisoformat(TODAY))  # fmt: skip
    site = StaticSite(tmp_path / "site", source=source)
    try:
        page = clipboard_page(browser, site.base.split("/archive/")[0])
        page.goto(f"{site.base}t/officer/")
        short = f"{site.base}q/{quote.id}/"
        assert copy_link(page, WORDS) == short
        assert page.evaluate("navigator.clipboard.readText()") == short
        page.click("#quote_cite")
        page.wait_for_selector("#quote_panel:not([hidden])")
        texts = page.locator("#quote_panel_formats pre").all_text_contents()
        assert len(texts) == 5 and all(short in t for t in texts)
        # Other words: an ad-hoc link to the testimony, never a short link.
        page.keyboard.press("Escape")  # closes the panel
        page.keyboard.press("Escape")  # then the toolbar
        page.evaluate("window.getSelection().removeAllRanges()")
        page.wait_for_selector("#quote_toolbar", state="hidden")
        select_words(page, "fifteen days twice a year")
        page.wait_for_selector("#quote_toolbar:not([hidden])")
        page.click("#quote_copy")
        page.wait_for_selector(
            f"#quote_toolbar[data-link^='{site.base}t/officer/?a=']", state="attached"
        )
        other = page.get_attribute("#quote_toolbar", "data-link")
        assert other.startswith(f"{site.base}t/officer/?a=") and "%25" not in other
        # The short link works on the static host: the quote in its passage.
        page.goto(short)
        assert page.locator("#quote_words").inner_text() == WORDS
        assert page.locator("[data-site-url-note]").count() == 0  # the export has a base
        assert page.watch.dialogs == [] and page.watch.errors == []
        page.context.close()
    finally:
        site.stop()
