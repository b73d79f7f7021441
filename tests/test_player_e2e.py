"""The recording player in a real Chromium, on the server and in the static export.

The samples' ``mother-son-left-unit-2024`` has a synthetic-voice recording (see
``scripts/make_sample_audio.py``); both sites play its published, muted copy.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from e2e_helpers import (
    TODAY,
    StaticSite,
    Watch,
    chromium_path,
    live_server,
    serious_axe_violations,
)
from helpers import make_app

from archive.anchors import make_anchor
from archive.config import resolve_config
from archive.index import build_index
from archive.model import passage_offsets, public_text
from archive.parse import parse_file

pytestmark = pytest.mark.e2e

SAMPLES = Path(__file__).resolve().parent.parent / "testimonies"
ID = "mother-son-left-unit-2024"
QUOTED = "Он жил там четыре месяца"  # in #hiding-at-aunt
#: A function, not an expression: the page's CSP forbids eval, which expressions need.
AT_LEAST = "(s) => document.getElementById('player_audio_1').currentTime >= s"


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    chromium_path()
    tmp = tmp_path_factory.mktemp("player")
    config = resolve_config(testimonies=SAMPLES, index=tmp / "index", today=TODAY)
    build_index(config)
    app = make_app(SAMPLES, tmp / "index", today=TODAY)
    static = StaticSite(tmp_path_factory.mktemp("player-static"), source=SAMPLES)
    with live_server(app) as server:
        yield {"server": server.url + "/", "export": static.base}
    static.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 700})
    page = context.new_page()
    page.watch = Watch(page)
    yield page
    assert page.watch.errors == []
    context.close()


def _quote_link() -> str:
    t = parse_file(SAMPLES / f"{ID}.md")
    text = public_text(t)
    start = text.index(QUOTED)
    anchor = make_anchor(text, start, start + len(QUOTED), testimony=ID, passage="hiding-at-aunt")
    assert passage_offsets(t)["hiding-at-aunt"] <= start
    return f"t/{ID}/?a={quote(anchor.to_param(), safe='')}#hiding-at-aunt"


def _time(page) -> float:
    return page.evaluate("document.getElementById('player_audio_1').currentTime")


@pytest.mark.parametrize("where", ["server", "export"])
def test_a_passage_time_seeks_and_playback_highlights_the_passage(sites, page, where):
    page.goto(sites[where] + f"t/{ID}/")
    button = page.locator("#hiding-at-aunt button.passage-time")
    start = float(button.get_attribute("data-start"))
    button.focus()
    page.keyboard.press("Enter")  # keyboard reachable: a real button
    page.wait_for_function(AT_LEAST, arg=start)
    page.wait_for_selector("#hiding-at-aunt.turn--playing")
    assert button.get_attribute("aria-current") == "time"
    # It plays on: time advances and the passage stays marked.
    page.wait_for_function(AT_LEAST, arg=start + 0.5, timeout=10000)
    assert page.locator(".turn--playing").count() == 1
    # Playing earlier words moves the mark to their passage, and keeps it in view.
    page.evaluate("document.getElementById('player_audio_1').currentTime = 5")
    page.wait_for_selector("#called-up.turn--playing")
    assert page.locator("#hiding-at-aunt.turn--playing").count() == 0
    # (the page scrolls smoothly: wait for it to arrive)
    page.wait_for_function(
        "() => { const r = document.getElementById('called-up').getBoundingClientRect();"
        " return r.bottom > 0 && r.top < window.innerHeight; }"
    )


@pytest.mark.parametrize("where", ["server", "export"])
def test_a_quote_link_cues_the_player_at_the_quotes_passage(sites, page, where):
    page.goto(sites[where] + _quote_link())
    page.wait_for_selector("mark.quote-mark")
    start = float(page.locator("#hiding-at-aunt button.passage-time").get_attribute("data-start"))
    page.wait_for_function(
        "(s) => Math.abs(document.getElementById('player_audio_1').currentTime - s) < 0.01",
        arg=start,
    )
    assert page.evaluate("document.getElementById('player_audio_1').paused")
    assert page.locator("#player").get_attribute("data-cued") == str(start)


@pytest.mark.parametrize("where", ["server", "export"])
def test_the_player_page_is_accessible_and_its_media_is_a_published_copy(sites, page, where):

    page.goto(sites[where] + f"t/{ID}/")
    assert serious_axe_violations(page) == []
    src = page.evaluate("document.getElementById('player_audio_1').currentSrc")
    body = page.request.get(src).body()
    original = (SAMPLES / "recordings" / f"{ID}.ogg").read_bytes()
    assert body[:4] == b"OggS" and body != original


@pytest.mark.parametrize("where", ["server", "export"])
def test_a_quotes_citation_gives_its_time_range(sites, page, where):
    page.goto(sites[where] + _quote_link())
    page.wait_for_selector("mark.quote-mark")
    span = page.locator("#hiding-at-aunt button.passage-time").get_attribute("data-span")
    if where == "server":
        text = page.request.get(page.url.split("#")[0].replace(f"t/{ID}/?", f"t/{ID}/cite.txt?"))
        citation = text.text()
    else:
        t = parse_file(SAMPLES / f"{ID}.md")
        start = public_text(t).index(QUOTED)
        citation = page.evaluate(
            "([s, e]) => archiveStatic.anchorFor({start: s, end: e}).citations[0].text",
            [start, start + len(QUOTED)],
        )
    assert f"at {span}." in citation and QUOTED in citation
