"""Editor mode in a real Chromium: select words, "Copy link", and quotes.yaml gains the entry."""

from __future__ import annotations

import pytest
from e2e_helpers import (
    WEB_TESTIMONIES,
    clipboard_page,
    copy_link,
    live_server,
)
from helpers import write_archive

from archive.ledger import load_ledger
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
