"""The recording player in a real Chromium, on the server and in the static export.

The samples' ``mother-son-left-unit-2024`` has a synthetic-voice recording (see
``scripts/make_sample_audio.py``); both sites play its published, muted copy. The sites
serve a copy of the samples with one quote of it in the ledger.
"""

from __future__ import annotations

import re
import shutil
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
from test_muting import write_tone

from archive.anchors import make_anchor
from archive.citations import FORMATS, QUOTE_DOWNLOAD_NAME
from archive.config import resolve_config
from archive.index import build_index
from archive.ledger import add_quote_at
from archive.model import passage_offsets, public_text
from archive.parse import parse_file
from webapp.media import MEDIA_RETRY, MEDIA_WAIT, prepare_all

pytestmark = pytest.mark.e2e

SAMPLES = Path(__file__).resolve().parent.parent / "testimonies"
ID = "mother-son-left-unit-2024"
QUOTED = "Он жил там четыре месяца"  # in #hiding-at-aunt
LEDGERED = "Повестку ему принесли на работу в октябре 2022 года"  # in #called-up
#: A function, not an expression: the page's CSP forbids eval, which expressions need.
AT_LEAST = "(s) => document.getElementById('player_audio_1').currentTime >= s"


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    chromium_path()
    tmp = tmp_path_factory.mktemp("player")
    testimonies = Path(shutil.copytree(SAMPLES, tmp / "testimonies"))
    t = parse_file(testimonies / f"{ID}.md")
    start = public_text(t).index(LEDGERED)
    entry, _ = add_quote_at(testimonies, t, start, start + len(LEDGERED), today=None)
    config = resolve_config(testimonies=testimonies, index=tmp / "index", today=TODAY)
    build_index(config)
    # As 'archive index' does: the copy is made before a reader asks (a copy still being
    # made is the not-ready test's own case).
    assert prepare_all(config, [parse_file(testimonies / f"{ID}.md")]) == (1, [])
    app = make_app(testimonies, tmp / "index", today=TODAY)
    static = StaticSite(tmp_path_factory.mktemp("player-static"), source=testimonies)
    with live_server(app) as server:
        yield {"server": server.url + "/", "export": static.base, "static": static,
               "ledger_id": entry.id}  # fmt: skip
    static.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 700})
    page = context.new_page()
    page.watch = Watch(page)
    yield page
    assert page.watch.errors == []
    context.close()


def _quote_link(words: str = QUOTED, passage: str = "hiding-at-aunt") -> str:
    t = parse_file(SAMPLES / f"{ID}.md")
    text = public_text(t)
    start = text.index(words)
    anchor = make_anchor(text, start, start + len(words), testimony=ID, passage=passage)
    assert passage_offsets(t)[passage] <= start
    return f"t/{ID}/?a={quote(anchor.to_param(), safe='')}#{passage}"


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


# --- a recording not ready yet: the player asks again and says so ----------------------

TONE_BODY = """**Ann:** The first words of a long recording.
{: #first t="0-2" }

**Ann:** And the words after them, heard for a long time.
{: #after t="2.5-110" }
"""


def _forget_failed_loads(page, path: str) -> list[str]:
    """The console's failed loads of ``path`` (what the test provoked), taken off the
    errors the page fixture checks; any other error stays."""
    provoked = [e for e in page.watch.errors if "Failed to load resource" in e and path in e]
    page.watch.errors[:] = [e for e in page.watch.errors if e not in provoked]
    return provoked


def _status(page) -> str:
    return page.locator("#player_status").inner_text()


def test_a_copy_being_prepared_is_retried_and_the_reader_told_so_on_the_server(tmp_path, page):
    # A long recording and a fresh cache: its copy takes seconds to make, and a wait of 0
    # makes the server answer 503 + Retry-After (1 s here) until it is made.
    directory = tmp_path / "testimonies"
    (directory / "rec").mkdir(parents=True)
    write_tone(directory / "rec" / "tone.wav", seconds=120, rate=8000)
    (directory / "tone.md").write_text(
        '---\nid: tone\ntitle: "A long tone"\nlanguage: en\nstatus: public\n'
        "media: rec/tone.wav\n---\n\n" + TONE_BODY,
        encoding="utf-8",
    )
    build_index(resolve_config(testimonies=directory, index=tmp_path / "index", today=TODAY))
    app = make_app(directory, tmp_path / "index", today=TODAY, **{MEDIA_WAIT: 0, MEDIA_RETRY: 1})
    with live_server(app) as server:
        page.goto(server.url + "/t/tone/")
        page.wait_for_function(
            "() => /being prepared/.test(document.getElementById('player_status').textContent)"
        )
        assert "tries again in 1 second." in _status(page)
        assert page.locator("#player_status").get_attribute("aria-live") == "polite"
        # A time clicked meanwhile plays once the copy is there, with no reload.
        page.locator("#after button.passage-time").click()
        page.wait_for_function(AT_LEAST, arg=2.6, timeout=60000)
        assert _status(page) == "The recording is ready."
        assert not page.evaluate("document.getElementById('player_audio_1').paused")
        page.wait_for_selector("#after.turn--playing")
    assert _forget_failed_loads(page, "/t/tone/media/1.ogg")  # it did fail first


def test_a_recording_missing_from_the_static_host_is_retried_then_plays(sites, page):
    # A static host never says 503, but a file can be missing for a while (an upload under
    # way): the player says it could not load it, asks again later, and recovers.
    media = sites["static"].www / "archive" / "t" / ID / "media" / "1.ogg"
    aside = media.with_name("aside.ogg")
    media.rename(aside)
    try:
        page.goto(sites["export"] + f"t/{ID}/")
        page.wait_for_function(
            "() => /could not be loaded/.test(document.getElementById('player_status').textContent)"
        )
        assert re.search(r"tries again in \d+ seconds?\.$", _status(page))
    finally:
        aside.rename(media)
    page.wait_for_function(
        "() => document.getElementById('player_status').textContent === 'The recording is ready.'",
        timeout=30000,
    )
    assert page.evaluate("document.getElementById('player_audio_1').readyState") >= 1
    assert _forget_failed_loads(page, f"/t/{ID}/media/1.ogg")


# --- the passage being heard is clearly marked -----------------------------------------


def _luminance(rgb: tuple[int, ...]) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _rgb(css: str) -> tuple[int, ...]:
    return tuple(int(float(v)) for v in re.findall(r"[\d.]+", css)[:3])


@pytest.mark.parametrize("where", ["server", "export"])
def test_the_playing_passage_has_a_bar_and_a_sign_not_only_a_tint(sites, page, where):
    page.goto(sites[where] + f"t/{ID}/")
    page.locator("#hiding-at-aunt button.passage-time").click()
    page.wait_for_selector("#hiding-at-aunt.turn--playing")
    page.evaluate("document.getElementById('player_audio_1').pause()")
    style = page.evaluate(
        """() => { const turn = document.getElementById('hiding-at-aunt');
                   const button = turn.querySelector('.passage-time');
                   const s = getComputedStyle(turn);
                   return { band: s.backgroundColor, shadow: s.boxShadow,
                            page: getComputedStyle(document.body).backgroundColor,
                            sign: getComputedStyle(button, '::before').content }; }"""
    )
    page_bg, band = _rgb(style["page"]), _rgb(style["band"])
    assert band != page_bg
    # The bar: a shadow of another colour reaching further left than the band's own.
    shadows = [
        (_rgb(m.group(1)), float(m.group(2)))
        for m in re.finditer(r"(rgba?\([^)]*\))\s+(-?[\d.]+)px", style["shadow"])
    ]
    band_left = min(x for colour, x in shadows if colour == band)
    bars = [(colour, band_left - x) for colour, x in shadows if colour != band and x < band_left]
    assert bars, style["shadow"]
    colour, width = bars[0]
    assert width >= 3 and _contrast(colour, page_bg) >= 3, (colour, width)
    assert "▶" in style["sign"]  # a shape, for readers who do not see the tint
    assert serious_axe_violations(page) == []  # while a passage is marked


# --- a quote link's citation box cites the quote ----------------------------------------


def _cite_box(page) -> dict:
    return page.evaluate(
        """() => { const box = document.getElementById('cite_box');
                   const shown = el => el && !el.closest('[hidden]');
                   const out = { cites: box.getAttribute('data-cites'),
                     heading: [...box.querySelectorAll('h2 [data-when]')].filter(shown)
                               .map(el => el.textContent).join(''),
                     quote: shown(document.getElementById('cite_quote'))
                            ? document.getElementById('cite_quote').textContent : null,
                     link: document.getElementById('cite_link').getAttribute('href'),
                     whole: !!shown(box.querySelector('.cite-box__whole')),
                     formats: {}, files: {} };
                   box.querySelectorAll('pre.format__text').forEach(pre => {
                     out.formats[pre.id] = pre.textContent; });
                   box.querySelectorAll('[data-filename]').forEach(b => {
                     out.files[b.getAttribute('data-download')] = b.getAttribute('data-filename'); });
                   return out; }"""
    )


def _expected(sites, page, where: str, words: str) -> dict[str, str]:
    """Each format's text for ``words``, from the one source each site has: the server's
    cite.FORMAT?a= files, the export's own script (checked against Python elsewhere).
    RIS's CRLF line ends read as LF in a page (the download puts them back)."""
    if where == "server":
        url = page.url.split("#")[0].replace(f"t/{ID}/?", f"t/{ID}/cite.{{}}?")
        return {
            f"cite_{fmt.replace('.', '_')}": page.request.get(url.format(fmt))
            .text()
            .replace("\r\n", "\n")
            for fmt in FORMATS
        }
    t = parse_file(SAMPLES / f"{ID}.md")
    start = public_text(t).index(words)
    made = page.evaluate(
        "([s, e]) => archiveStatic.anchorFor({start: s, end: e}).citations",
        [start, start + len(words)],
    )
    return {f"cite_{c['format'].replace('.', '_')}": c["text"].replace("\r\n", "\n") for c in made}


@pytest.mark.parametrize("where", ["server", "export"])
def test_a_quote_links_citation_box_cites_the_quote_in_every_format(sites, page, where):
    page.goto(sites[where] + _quote_link())
    page.wait_for_selector("mark.quote-mark")
    box = _cite_box(page)
    assert box["cites"] == "quote" and box["heading"] == "Cite this quote"
    assert box["quote"] == QUOTED and box["whole"]
    assert "?a=" in box["link"] and "/q/" not in box["link"]
    assert box["formats"] == _expected(sites, page, where, QUOTED)
    span = page.locator("#hiding-at-aunt button.passage-time").get_attribute("data-span")
    for fmt_id, text in box["formats"].items():
        assert QUOTED in text, fmt_id
        if fmt_id != "cite_annotation_json":  # its body is the plain text, escaped
            assert f"at {span}" in text, fmt_id
    start = public_text(parse_file(SAMPLES / f"{ID}.md")).index(QUOTED)
    if where == "export":  # the server links to cite.FORMAT?a= files instead
        assert box["files"]["cite_ris"] == QUOTE_DOWNLOAD_NAME.format(
            id=ID, start=start, format="ris"
        )
    else:
        assert (
            page.locator("#cite_box a[download]")
            .first.get_attribute("href")
            .startswith(f"/t/{ID}/cite.txt?a=")
        )
    # The whole testimony is one link away, cited as before.
    page.locator("#cite_box .cite-box__whole a").click()
    page.wait_for_selector("#cite_box[data-cites=testimony]")
    plain = _cite_box(page)
    assert plain["heading"] == "Cite this testimony" and plain["quote"] is None
    assert QUOTED not in plain["formats"]["cite_txt"]


@pytest.mark.parametrize("where", ["server", "export"])
def test_a_ledger_quotes_citation_box_gives_its_short_link(sites, page, where):
    page.goto(sites[where] + _quote_link(LEDGERED, "called-up"))
    page.wait_for_selector("mark.quote-mark")
    box = _cite_box(page)
    short = f"/q/{sites['ledger_id']}/"
    assert box["cites"] == "quote" and box["quote"] == LEDGERED
    assert box["link"].endswith(short)
    span = page.locator("#called-up button.passage-time").get_attribute("data-span")
    for fmt_id, text in box["formats"].items():
        assert short in text and "?a=" not in text, fmt_id
    assert f"at {span}" in box["formats"]["cite_txt"]
