"""The static export: what it writes, what it refuses, and the checks that guard it."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from click.testing import CliRunner
from helpers import make_app
from slugify import slugify

from archive.cli import main
from archive.config import resolve_config
from archive.errors import ExportError, ValidationErrors
from archive.secrets import read_secrets
from archive.wordforms import MAX_ENDING, MIN_START, chunks, pagefind_form, word_starts
from webapp.media import publish_all
from webapp.publish.export import (
    export_app,
    export_site,
    index_site,
    output_path,
    private_side,
    read_archive,
    render_site,
)
from webapp.publish.leakcheck import PrivateSide, check_bytes, check_export
from webapp.publish.linkcheck import check_links
from webapp.publish.pagefind import WORD_STARTS
from webapp.publish.staticmode import export_csp

NOW = dt.date(2025, 6, 1)
AFTER_EMBARGO = dt.date(2031, 1, 2)
BASE = "https://example.org/archive/"
EMBARGOED = "listed-missing-2024"
RESTRICTED = "soldier-held-in-pit-2024"
REDACTED_IN = "officer-left-unit-2023"


def _config(testimonies: Path, tmp_path: Path):
    return resolve_config(testimonies=testimonies, index=tmp_path / "index")


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, object]:
    """One export of the bundled samples under a sub-path, for the tests that only look."""
    tmp = tmp_path_factory.mktemp("export")
    samples = Path(__file__).resolve().parent.parent / "testimonies"
    testimonies = tmp / "testimonies"
    shutil.copytree(samples, testimonies)
    report = export_site(
        tmp / "site", _config(testimonies, tmp), base_url=BASE, now=NOW, check=True
    )
    return tmp / "site", report


# --- what is written -----------------------------------------------------------------------


def test_every_public_page_is_written_and_nothing_private(exported):
    site, report = exported
    archive = read_archive(resolve_config(testimonies=site.parent / "testimonies"))
    public = {t.id for t in archive.public(NOW)}
    assert report.testimonies == len(public) == report.indexed
    written = {p.parent.name for p in (site / "t").glob("*/index.html")}
    assert written == public
    assert EMBARGOED not in written and RESTRICTED not in written
    for name in ("index.html", "404.html", "robots.txt", "sitemap.xml", "feed.xml",
                 "opensearch.xml", "search/index.html", "quote/index.html", "help/search/index.html",
                 "themes/index.html", "browse/index.html", "pagefind/pagefind.js", "_headers"):  # fmt: skip
        assert (site / name).is_file(), name
    assert not list(site.rglob("cite.*"))  # citations are saved from the page instead
    suffixes = {p.suffix for p in site.rglob("*") if p.is_file()}
    assert not suffixes & {".md", ".yaml", ".toc", ".seg"}
    assert not (site / "pagefind" / "pagefind-ui.js").exists()  # unused, left out
    assert report.leaks.ok and report.links.ok and report.links.links > 1000


def test_each_page_saves_the_citations_the_server_would_send(exported, tmp_path):
    """No citation files on a static site: each testimony page shows every format and has
    a button that saves it; what it saves is what the app's cite.FORMAT answers."""
    from html import unescape

    from archive.citations import FORMATS

    site, _ = exported
    testimonies = site.parent / "testimonies"
    app = make_app(testimonies, tmp_path / "index", site_url=BASE, today=NOW)
    client = app.test_client()
    public = [t.id for t in read_archive(resolve_config(testimonies=testimonies)).public(NOW)]
    for testimony_id in public:
        page = (site / "t" / testimony_id / "index.html").read_text(encoding="utf-8")
        for fmt, (_, media_type, _) in FORMATS.items():
            element = "cite_" + fmt.replace(".", "_")
            shown = re.search(
                rf'<pre class="format__text" id="{element}"[^>]*>(.*?)</pre>', page, re.S
            )
            button = re.search(rf'<button [^>]*data-download="{element}"[^>]*>', page)
            assert shown and button, (testimony_id, fmt)
            assert f'data-filename="{testimony_id}.{fmt}"' in button.group(0)
            assert (
                unescape(re.search(r'data-type="([^"]*)"', button.group(0)).group(1)) == media_type
            )
            served = client.get(f"/t/{testimony_id}/cite.{fmt}")
            assert served.status_code == 200
            # A browser reads CRLF in a page as LF: the button says to put them back.
            text = unescape(shown.group(1)).replace("\r\n", "\n")
            if "data-crlf" in button.group(0):
                text = text.replace("\n", "\r\n")
            assert text == served.get_data(as_text=True), (testimony_id, fmt)
        data = json.loads((site / "t" / f"{testimony_id}.json").read_text(encoding="utf-8"))
        downloads = data["citation"]["downloads"]
        assert [d["url"] for d in downloads] == [None] * len(FORMATS)
        assert [d["filename"] for d in downloads] == [f"{testimony_id}.{fmt}" for fmt in FORMATS]
        assert data["anchor_endpoint"] is None  # no anchor.json on a static host either
        assert "data-anchor-endpoint" not in page


def test_every_vocabulary_theme_has_a_page(exported):
    site, _ = exported
    archive = read_archive(resolve_config(testimonies=site.parent / "testimonies"))
    for slug in archive.vocabulary.themes:
        assert (site / "themes" / slug / "index.html").is_file()
        assert (site / "themes" / f"{slug}.json").is_file()


def test_sub_path_links_and_absolute_urls(exported):
    site, _ = exported
    home = (site / "index.html").read_text(encoding="utf-8")
    hrefs = re.findall(r'(?:href|src|action)="([^"]+)"', home)
    internal = [h for h in hrefs if not h.startswith(("#", "http"))]
    assert internal and all(h.startswith("/archive/") for h in internal)
    locs = re.findall(r"<loc>([^<]+)</loc>", (site / "sitemap.xml").read_text(encoding="utf-8"))
    assert locs and all(loc.startswith(BASE) for loc in locs)
    for loc in locs:  # every sitemap entry is a written file
        assert (site / output_path(urlsplit(loc).path, "/archive")).is_file(), loc
    assert "Sitemap: https://example.org/archive/sitemap.xml" in (site / "robots.txt").read_text()
    testimony = (site / "t" / REDACTED_IN / "index.html").read_text(encoding="utf-8")
    assert f"{BASE}t/{REDACTED_IN}/ (accessed {NOW.isoformat()})" in testimony
    # The same files checked as if published at the host root: every link leaves the site.
    wrong = check_links(site, "https://example.org/")
    assert not wrong.ok and all("no such file" in b.reason for b in wrong.broken[:20])


def test_pages_carry_the_export_policy_and_search_markup(exported):
    site, _ = exported
    csp = export_csp()
    assert "'wasm-unsafe-eval'" in csp and "frame-ancestors" not in csp
    for path in site.rglob("*.html"):
        page = path.read_text(encoding="utf-8")
        head = page.split("</head>", 1)[0]
        meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', head)
        assert meta and meta.group(1).replace("&#39;", "'") == csp, path
        # The policy comes before any script or style it governs.
        assert head.index("Content-Security-Policy") < head.index("<script")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), f"inline script in {path}"
        assert 'name="robots"' not in page
    testimony = (site / "t" / REDACTED_IN / "index.html").read_text(encoding="utf-8")
    assert "data-pagefind-body" in testimony and 'data-pagefind-meta="title"' in testimony
    assert re.search(r'data-pagefind-filter="theme">[a-z-]+<', testimony)
    assert re.search(r'data-pagefind-filter="language">en<', testimony)
    assert "export-quote.js" in testimony and "export-search.js" not in testimony
    search = (site / "search" / "index.html").read_text(encoding="utf-8")
    assert 'id="static_search"' in search and "<noscript>" in search
    assert 'data-pagefind="/archive/pagefind/pagefind.js"' in search
    headers = (site / "_headers").read_text()
    assert headers.startswith("/archive/*\n") and "frame-ancestors 'none'" in headers


def test_the_word_start_table_is_written_and_named_on_the_search_page(exported):
    site, report = exported
    archive = read_archive(resolve_config(testimonies=site.parent / "testimonies"))
    written = {
        p.stem: json.loads(p.read_text(encoding="utf-8"))
        for p in (site / WORD_STARTS).glob("*.json")
    }
    assert written == chunks(word_starts(archive.public(NOW)))
    assert written["043c043e"]["мобилизации"] == "мобилизаци"
    search = (site / "search" / "index.html").read_text(encoding="utf-8")
    assert f'data-word-starts="/archive/{WORD_STARTS}/"' in search
    assert f'data-word-rules="{MIN_START} {MAX_ENDING}"' in search
    named = re.search(r'data-word-files="([^"]*)"', search).group(1).split()
    assert named == sorted(written)


def test_a_redaction_spelt_as_the_word_table_spells_words_is_found(exported, tmp_path):
    """The table's words are lower case without marks ("й" is "и"): so is the leak check's."""
    site = _copy(exported[0], tmp_path)
    archive, private = _private(site)
    passages = archive.testimonies["officer-left-unit-2023-ru"].passages
    redaction = next(r for p in passages for r in p.redactions if "й" in r and " " not in r)
    spelt = pagefind_form(redaction)
    assert "й" not in spelt
    table = next((site / WORD_STARTS).glob("*.json"))
    # As a key, with a shorter beginning as its value: keys are looked in too.
    table.write_text(json.dumps({spelt: spelt[:4]}, ensure_ascii=False), encoding="utf-8")
    leaks = check_export(site, private).leaks
    assert [leak.file for leak in leaks] == [f"{WORD_STARTS}/{table.name}"]
    assert redaction not in str(leaks[0]) and spelt not in str(leaks[0])


def test_later_pages_of_listings_get_path_urls(tmp_path, samples_dir):
    # 60 small public testimonies in one language: its listing has two pages.
    for i in range(60):
        (samples_dir / f"extra-{i:02d}.md").write_text(
            f'---\nid: extra-{i:02d}\ntitle: "Extra {i}"\nlanguage: uk\nstatus: public\ndate: 2020-01-{i % 28 + 1:02d}\n'
            f"---\n\nА ми чекали на відпустку {i}.\n",
            encoding="utf-8",
        )
    out = tmp_path / "site"
    export_site(out, _config(samples_dir, tmp_path), base_url=BASE, now=NOW, check=True)
    first = (out / "browse" / "language" / "uk" / "index.html").read_text(encoding="utf-8")
    assert 'href="/archive/browse/language/uk/page/2/"' in first
    second = (out / "browse" / "language" / "uk" / "page" / "2" / "index.html").read_text()
    assert "Page 2 of 2" in second and 'href="/archive/browse/language/uk/"' in second


def test_static_notices_say_what_the_app_says(exported, tmp_path):
    site, _ = exported
    app = make_app(site.parent / "testimonies", tmp_path / "none", today=NOW, TESTING=True)
    orphan = app.test_client().get(f"/t/{REDACTED_IN}/?a=0-16~Not%2520there%2520at%2520all")
    server = re.search(r'id="quote_orphan">\s*<p>(.*?)</p>', orphan.get_data(as_text=True), re.S)
    static = (site / "t" / REDACTED_IN / "index.html").read_text(encoding="utf-8")
    exported_notice = re.search(r'id="quote_orphan" hidden>\s*<p>(.*?)</p>', static, re.S)
    assert server and exported_notice and server.group(1) == exported_notice.group(1)
    found = app.test_client().get(f"/t/{REDACTED_IN}/?a=0-2~Q%253A").get_data(as_text=True)
    assert "The quoted words are highlighted below" in found
    for sentence in re.findall(r"The quoted words are highlighted below[^.<]*\.", found):
        assert sentence in static


# --- reproducible --------------------------------------------------------------------------


def test_two_exports_are_byte_identical(tmp_path, samples_dir):
    config = _config(samples_dir, tmp_path)
    first = export_site(tmp_path / "one", config, base_url=BASE, now=NOW)
    export_site(tmp_path / "two", config, base_url=BASE, now=NOW)
    assert _tree(tmp_path / "one") == _tree(tmp_path / "two")
    before = _tree(tmp_path / "one")
    export_site(tmp_path / "one", config, base_url=BASE, now=NOW, force=True)
    assert _tree(tmp_path / "one") == before
    assert first.files == len(before)


# --- refusals ----------------------------------------------------------------------------


def test_refuses_while_any_testimony_is_invalid(tmp_path, samples_dir):
    (samples_dir / "broken.md").write_text(
        '---\nid: broken\ntitle: "Broken"\nthemes: [no-such-theme]\nstatus: secret\n---\n\nText.\n',
        encoding="utf-8",
    )
    out = tmp_path / "site"
    with pytest.raises(ValidationErrors) as caught:
        export_site(out, _config(samples_dir, tmp_path), now=NOW)
    message = str(caught.value)
    assert f"{samples_dir / 'broken.md'}:4:" in message and ":5:" in message
    assert not out.exists()
    assert not list(tmp_path.glob(".site*"))  # no half-built directory left behind

    result = CliRunner().invoke(
        main,
        ["--testimonies", str(samples_dir), "--index", str(tmp_path / "i"), "export", str(out)],
    )
    assert result.exit_code == 1 and "broken.md:4: unknown theme" in result.output


def test_refuses_a_non_empty_directory_without_force(tmp_path, write_testimony):
    write_testimony("only-one")
    config = _config(write_testimony.directory, tmp_path)
    out = tmp_path / "site"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="not empty"):
        export_site(out, config, now=NOW)
    with pytest.raises(ExportError, match="does not look like an earlier export"):
        export_site(out, config, now=NOW, force=True)
    assert (out / "notes.txt").read_text() == "mine"

    (out / "notes.txt").unlink()
    export_site(out, config, now=NOW)  # an empty directory is fine
    (out / "stale.html").write_text("old page")
    with pytest.raises(ExportError, match="--force"):
        export_site(out, config, now=NOW)
    export_site(out, config, now=NOW, force=True)
    assert not (out / "stale.html").exists() and (out / "index.html").is_file()
    with pytest.raises(ExportError, match="overlap"):
        export_site(write_testimony.directory / "site", config, now=NOW)
    with pytest.raises(ExportError, match="overlap"):
        export_site(tmp_path / "index" / "site", config, now=NOW)


def test_now_lifts_an_embargo(tmp_path, samples_dir):
    config = _config(samples_dir, tmp_path)
    export_site(tmp_path / "before", config, base_url=BASE, now=NOW)
    export_site(tmp_path / "after", config, base_url=BASE, now=AFTER_EMBARGO, preview=True)
    assert not (tmp_path / "before" / "t" / EMBARGOED).exists()
    page = tmp_path / "after" / "t" / EMBARGOED / "index.html"
    assert page.is_file() and "listed as missing" in page.read_text(encoding="utf-8")
    assert not (tmp_path / "after" / "t" / RESTRICTED).exists()
    sitemap = (tmp_path / "after" / "sitemap.xml").read_text()
    assert (
        f"t/{EMBARGOED}/" in sitemap
        and f"t/{EMBARGOED}/" not in (tmp_path / "before" / "sitemap.xml").read_text()
    )


def test_noindex(tmp_path, samples_dir):
    out = tmp_path / "site"
    export_site(out, _config(samples_dir, tmp_path), base_url=BASE, now=NOW, noindex=True)
    robots = (out / "robots.txt").read_text()
    assert robots.startswith("User-agent: *\nDisallow: /\n")
    for path in out.rglob("*.html"):
        assert '<meta name="robots" content="noindex">' in path.read_text(encoding="utf-8")
    assert "X-Robots-Tag: noindex" in (out / "_headers").read_text()


# --- the leak check ------------------------------------------------------------------------


def _private(site: Path, when: dt.date = NOW):
    config = resolve_config(testimonies=site.parent / "testimonies", index=site.parent / "index")
    archive = read_archive(config)
    media = publish_all(config, archive.public(when), [])
    app = export_app(config, archive, BASE, when, media=media)
    return archive, private_side(app, archive, config, when, site)


def _copy(site: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    shutil.copytree(site.parent / "testimonies", tmp_path / "testimonies")
    return copy


def test_leak_check_passes_on_a_real_export(exported):
    site, report = exported
    _, private = _private(site)
    assert len(private) > 100
    result = check_export(site, private)
    assert result.ok, [str(leak) for leak in result.leaks]
    assert result.files == report.files


# After a word with a stress mark and one with a soft hyphen, the position still holds:
# the check compares words without them.
@pytest.mark.parametrize("before", ["", "за\u0301мок, відпуст\u00adка: "])
def test_a_planted_redaction_is_found_with_file_and_position(exported, tmp_path, before):
    site = _copy(exported[0], tmp_path)
    archive, private = _private(site)
    redaction = next(r for p in archive.testimonies[REDACTED_IN].passages for r in p.redactions)
    page = site / "browse" / "index.html"
    body = page.read_bytes()
    at = body.index(b"<main")
    planted = f"<p>{before}"
    page.write_bytes(body[:at] + f"{planted}{redaction}</p>".encode() + body[at:])
    leaks = check_export(site, private).leaks
    position = at + len(planted.encode())
    assert [(leak.file, leak.position) for leak in leaks] == [("browse/index.html", position)]
    assert f"{REDACTED_IN}.md:" in str(leaks[0]) and redaction not in str(leaks[0])


def test_a_leak_inside_a_compressed_index_fragment_is_found(exported, tmp_path):
    site = _copy(exported[0], tmp_path)
    archive, private = _private(site)
    whole = next(p for p in archive.testimonies[REDACTED_IN].passages if p.redacted)
    fragment = sorted((site / "pagefind" / "fragment").iterdir())[0]
    raw = gzip.decompress(fragment.read_bytes())
    data = json.loads(raw[len(b"pagefind_dcd") :])
    data["content"] += " " + whole.text
    fragment.write_bytes(gzip.compress(b"pagefind_dcd" + json.dumps(data).encode()))
    leaks = check_export(site, private).leaks
    assert len(leaks) == 1 and leaks[0].file.startswith("pagefind/fragment/")
    assert leaks[0].decompressed and leaks[0].position > 0
    assert "redacted block" in str(leaks[0])


def test_a_restricted_testimony_rendered_as_public_is_caught(exported, tmp_path):
    """The model says public, the check knows better: the export must fail."""
    source = exported[0].parent / "testimonies"
    config = resolve_config(testimonies=source, index=tmp_path / "index")
    archive = read_archive(config)
    wrong = replace(archive, testimonies=dict(archive.testimonies))
    wrong.testimonies[RESTRICTED] = replace(archive.testimonies[RESTRICTED], status="public")
    site = tmp_path / "site"
    site.mkdir()
    app = export_app(config, wrong, BASE, NOW)
    render_site(app, site, base_url=BASE)
    index_site(site)
    private = private_side(export_app(config, archive, BASE, NOW), archive, config, NOW, site)
    leaks = check_export(site, private).leaks
    files = {leak.file for leak in leaks}
    assert f"t/{RESTRICTED}/index.html" in files and f"t/{RESTRICTED}.json" in files
    assert any(f.startswith("pagefind/fragment/") for f in files)
    assert all("non-public" in str(leak) for leak in leaks)


def test_a_restricted_transcript_with_the_json_pages_key_words_exports(tmp_path, samples_dir):
    """A WhisperX import (status: restricted) says SPEAKER_00 and words such as "recording":
    the JSON pages' own keys ("speaker", "recording") are not its leak, its words are."""
    whisperx = tmp_path / "night.json"
    whisperx.write_text(json.dumps({"language": "en", "segments": [
        {"start": 0.5, "end": 3.0, "speaker": "SPEAKER_00", "text": "Is the recording on?"},
        {"start": 4.0, "end": 8.0, "speaker": "SPEAKER_01",
         "text": "Yes. We slept in the Zavodskoi storehouse, speaker to speaker, like flaskr."},
    ]}), encoding="utf-8")  # fmt: skip
    done = CliRunner().invoke(main, ["--testimonies", str(samples_dir), "import", str(whisperx)])
    assert done.exit_code == 0, done.output
    assert "SPEAKER\\_00" in (samples_dir / "night.md").read_text(encoding="utf-8")
    config = _config(samples_dir, tmp_path)
    report = export_site(tmp_path / "site", config, base_url=BASE, now=NOW, check=True)
    assert report.testimonies == len(read_archive(config).public(NOW))
    archive = read_archive(config)
    side = private_side(export_app(config, archive, BASE, NOW), archive, config, NOW)
    assert ("zavodskoi",) in side.needles and ("storehouse",) in side.needles
    assert ("speaker",) not in side.needles and ("recording",) not in side.needles
    # A word of the web app's docstrings only ("flaskr", in webapp/resources.py) is not
    # public: prose there would blind the check to the words it happens to use.
    assert ("flaskr",) in side.needles


def test_unexpected_files_and_private_paths_fail_the_check(exported, tmp_path):
    site = _copy(exported[0], tmp_path)
    _, private = _private(site)
    (site / "notes.md").write_text("a source file")
    (site / "static" / "debug.txt").write_text(f"built from {(tmp_path / 'testimonies').resolve()}")
    leaks = {leak.file: leak for leak in check_export(site, private).leaks}
    assert set(leaks) == {"notes.md", "static/debug.txt"}
    assert leaks["static/debug.txt"].position == len("built from ")


def test_redactions_that_are_public_elsewhere_are_counted_not_checked(tmp_path):
    directory = tmp_path / "archive"
    directory.mkdir()
    (directory / "a.md").write_text(
        '---\nid: a\ntitle: "A"\nstatus: public\n---\n\nWe crossed at [Verkhnii Lars]{.redact} at night.\n\n'
        "The [army]{.redact} was everywhere, the army of the other side too.\n",
        encoding="utf-8",
    )
    private = PrivateSide.from_secrets(read_secrets(directory, NOW))
    assert ("verkhnii", "lars") in private.needles and ("verkhnii",) in private.needles
    assert ("army",) not in private.needles  # the word is also public: it proves nothing
    assert private.unchecked_redactions == 1


# --- the link check ------------------------------------------------------------------------


def test_link_check_names_the_file_and_line_of_a_broken_link(exported, tmp_path):
    site = _copy(exported[0], tmp_path)
    (site / "static" / "favicon.svg").unlink()
    page = site / "t" / REDACTED_IN / "index.html"
    page.write_text(
        page.read_text(encoding="utf-8").replace(
            "</main>", '<a href="#no-such-passage">x</a><img src="../nowhere.png" alt=""></main>'
        ),
        encoding="utf-8",
    )
    report = check_links(site, BASE)
    reasons = {(b.file, b.url): b.reason for b in report.broken}
    assert reasons[("404.html", "/archive/static/favicon.svg")] == "no such file"
    assert (
        "no element with id 'no-such-passage'"
        in reasons[(f"t/{REDACTED_IN}/index.html", "#no-such-passage")]
    )
    assert reasons[(f"t/{REDACTED_IN}/index.html", "../nowhere.png")] == "no such file"
    broken = next(b for b in report.broken if b.url == "#no-such-passage")
    lines = page.read_text(encoding="utf-8").split("\n")
    assert "#no-such-passage" in lines[broken.line - 1]


def test_css_urls_are_checked(tmp_path):
    site = tmp_path / "site"
    (site / "static").mkdir(parents=True)
    (site / "index.html").write_text(
        '<link rel="stylesheet" href="static/a.css"><div style="background: url(\'static/x.png\')"></div>'
        '<img srcset="static/y.png 2x, static/a.css 1x" alt="">'
    )
    (site / "static" / "a.css").write_text('@import "b.css"; body { background: url(missing.png) }')
    report = check_links(site)
    assert sorted(b.url for b in report.broken) == [
        "b.css",
        "missing.png",
        "static/x.png",
        "static/y.png",
    ]


# --- the command ---------------------------------------------------------------------------


def test_export_command(tmp_path, samples_dir):
    out = tmp_path / "site"
    args = ["--testimonies", str(samples_dir), "--index", str(tmp_path / "index"), "export"]
    result = CliRunner().invoke(
        main,
        [
            *args,
            str(out),
            "--base-url",
            BASE,
            "--now",
            AFTER_EMBARGO.isoformat(),
            "--preview",
            "--check",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Leak check: passed" in result.output and "Link check:" in result.output
    assert (out / "t" / EMBARGOED / "index.html").is_file()
    result = CliRunner().invoke(main, [*args, "--check-only", str(out)])
    assert result.exit_code == 0 and "0 broken" in result.output, result.output
    (out / "static" / "archive.css").unlink()
    result = CliRunner().invoke(main, [*args, "--check-only", str(out), "--json"])
    assert result.exit_code == 1 and json.loads(result.output)["broken"]
    result = CliRunner().invoke(main, [*args, str(out), "--json"])
    assert result.exit_code == 1 and "--force" in result.output


def test_export_without_a_base_url_warns(tmp_path, write_testimony):
    write_testimony("only-one")
    config = _config(write_testimony.directory, tmp_path)
    report = export_site(tmp_path / "site", config, now=NOW, check=True)
    assert report.warnings and "preview" in report.warnings[0]
    assert report.base_url == "http://localhost:8000/"


# --- the shared corpus ---------------------------------------------------------------------


def test_export_of_the_200_file_corpus(tmp_path, small_corpus_dir):
    config = _config(small_corpus_dir, tmp_path)
    report = export_site(tmp_path / "one", config, base_url=BASE, now=NOW, check=True)
    assert report.testimonies == report.indexed == 200
    assert report.links.ok and report.leaks.ok
    export_site(tmp_path / "two", config, base_url=BASE, now=NOW)
    assert _tree(tmp_path / "one") == _tree(tmp_path / "two")


@pytest.mark.slow
def test_export_of_the_whole_corpus(tmp_path):
    from conftest import WPA

    if not WPA.is_dir():
        pytest.skip(f"shared corpus not found at {WPA}")
    config = resolve_config(testimonies=WPA, index=tmp_path / "index")
    report = export_site(tmp_path / "site", config, base_url=BASE, now=NOW, check=True)
    assert report.testimonies == report.indexed == 2270
    assert report.links.ok and report.leaks.ok


def test_pagefind_files_are_rewritten_in_a_canonical_order(exported):
    from webapp.publish.pagefind import _read

    bundle = exported[0] / "pagefind"
    entry = json.loads((bundle / "pagefind-entry.json").read_text())
    meta = _read(bundle / f"pagefind.{entry['languages']['en']['hash']}.pf_meta")
    names = [name for name, _ in meta[3]]
    assert names == sorted(names) == ["decade", "language", "place", "theme"]
    for _, file_hash in meta[3]:
        _, values = _read(bundle / "filter" / f"{file_hash}.pf_filter")
        assert [v[0] for v in values] == sorted(v[0] for v in values)


def test_a_damaged_index_file_fails_the_check(exported, tmp_path):
    site = _copy(exported[0], tmp_path)
    _, private = _private(site)
    fragment = sorted((site / "pagefind" / "fragment").iterdir())[0]
    fragment.write_bytes(fragment.read_bytes()[:20])  # cut short, as an interrupted write leaves it
    leaks = check_export(site, private).leaks
    assert [leak.file for leak in leaks] == [fragment.relative_to(site).as_posix()]
    assert "cannot be checked" in str(leaks[0])


# --- work done once per export, in parallel where there are cores ---------------------------


def _account(write_testimony) -> Path:
    """Translations in a chain (c of b of a), a lone one, a missing original and a bad file."""
    write_testimony("a")
    write_testimony("b", translation_of="a", language="ru")
    write_testimony("c", translation_of="b", language="uk")
    write_testimony("d", translation_of="b")
    write_testimony("e")
    write_testimony("f", translation_of="gone")
    write_testimony("g", title=None)  # no title: a validation error
    return write_testimony.directory


def test_forked_readers_read_the_same_archive(write_testimony):
    from archive.parse import load_archive
    from webapp.publish.export import _load

    directory = _account(write_testimony)
    alone = load_archive(directory)
    for workers in (2, 3):
        forked = _load(directory, workers)
        assert list(forked.testimonies) == list(alone.testimonies)
        assert forked.testimonies == alone.testimonies
        assert sorted(map(str, forked.errors)) == sorted(map(str, alone.errors))
        assert len(forked.errors) == 2 and forked.vocabulary.themes == alone.vocabulary.themes


def test_translations_grouped_once_are_the_ones_a_scan_finds(write_testimony):
    from archive.parse import load_archive

    archive = load_archive(_account(write_testimony))
    for t in archive.testimonies.values():
        root = t.translation_of or t.id
        scanned = sorted(
            o.id
            for o in archive.testimonies.values()
            if o.id != t.id and (o.id == root or o.translation_of == root)
        )
        assert [o.id for o in archive.translations(t)] == scanned
    assert [o.id for o in archive.translations(archive.testimonies["c"])] == ["b", "d"]
    del archive.testimonies["d"]  # a changed archive is grouped again
    assert [o.id for o in archive.translations(archive.testimonies["c"])] == ["b"]


def test_pages_asked_of_the_wsgi_app_are_the_test_clients(tmp_path, samples_dir):
    from webapp.publish.export import _Renderer, plan_site

    config = _config(samples_dir, tmp_path)
    app = export_app(config, read_archive(config), "https://example.org/sub/path/", NOW)
    renderer = _Renderer(app, "https://example.org/sub/path/")
    pages = plan_site(app, renderer)
    client = app.test_client()
    asked = [(page.request, page.status) for page in pages]
    asked += [
        ("/t/caf%C3%A9%20x/", 404),
        ("/themes/?from=%D0%BE%D1%82%D0%BF%D1%83%D1%81%D0%BA", 200),
    ]
    for path, status in asked:
        expected = client.get(path, base_url=renderer.base_url)
        try:
            assert expected.status_code == status, path
            assert renderer.get(path, status) == expected.get_data(), path
        finally:
            expected.close()


def test_search_fragments_hold_each_passage_once_with_its_id_and_word_position(exported):
    """Pagefind keeps the text of every element with an id: the ids sit on the turns around
    the passages, so a fragment (what each shown result costs a reader) has the words once."""
    site, _ = exported
    archive = read_archive(_config(site.parent / "testimonies", site.parent))
    seen = 0
    for fragment in sorted((site / "pagefind" / "fragment").iterdir()):
        data = json.loads(gzip.decompress(fragment.read_bytes())[len(b"pagefind_dcd") :])
        testimony = archive.testimonies[data["url"].rstrip("/").rsplit("/", 1)[-1]]
        words = data["content"].split()
        anchors = [a for a in data["anchors"] if a["element"] not in ("h2", "h3", "h4")]
        assert [a["id"] for a in anchors] == [p.id for p in testimony.passages]
        assert all(a["text"] == "" for a in anchors), fragment.name
        for anchor, passage in zip(anchors, testimony.passages, strict=True):
            first = passage.public_text.split()[0]
            assert words[anchor["location"]].startswith(first.rstrip(".,;:!?")), passage.id
        seen += 1
    assert seen == len(archive.public(NOW))


def test_pages_pagefind_does_not_read_are_rendered_at_a_lower_priority(monkeypatch, tmp_path):
    """Pagefind is what an export waits for: while it runs, the workers rendering the
    rest of the site give way to it; the testimony pages it reads come first, at full speed."""
    import multiprocessing
    import os

    import webapp.publish.export as export

    # Each batch reports its worker's niceness instead of rendering.
    monkeypatch.setattr(export, "_write_pages", lambda *args: iter([os.nice(0)]))
    monkeypatch.setattr(export, "_WORKER", (None, tmp_path, False))
    base = os.nice(0)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        first = list(export._run_batches(pool, list(range(export._BATCH * 2)), 1, False))
        later = list(export._run_batches(pool, list(range(export._BATCH * 2)), 1, True))
    assert first == [base, base]
    assert later == [min(base + export._BACKGROUND_NICENESS, 19)] * 2  # 19 is the lowest
    assert os.nice(0) == base  # this process keeps its priority


def _split_by_tags(secret: str) -> str:
    return "<b></b>".join(secret)


def _thrice_percent_encoded(secret: str) -> str:
    return quote(quote(quote(secret)))


#: Forms a page could carry a secret in, planted by hand: the check must see through each.
PLANTED = {
    "as written": lambda s: s,
    "split by empty tags": _split_by_tags,
    "split by a closing and an opening tag": lambda s: f"{s[:3]}</span><span>{s[3:]}",
    "split by a comment": lambda s: f"{s[:3]}<!-- x -->{s[3:]}",
    "decimal entities": lambda s: "".join(f"&#{ord(c)};" for c in s),
    "percent-encoded": quote,
    "percent-encoded twice": lambda s: quote(quote(s)),
    "percent-encoded three times": _thrice_percent_encoded,
    "JSON escapes": lambda s: json.dumps(s, ensure_ascii=True).strip('"'),
    "slug": lambda s: f"/browse/place/{slugify(s)}/",
    "slug with underscores": lambda s: f"/browse/place/{slugify(s, separator='_')}/",
    "zero-width spaces": "\u200b".join,
}


@pytest.mark.parametrize("secret", ["Verkhnii Lars", "Kreminna", "Нижньому Селищі"])
@pytest.mark.parametrize("form", sorted(PLANTED))
def test_a_secret_planted_in_any_form_is_found(tmp_path, secret, form):
    """Found by an attack: a secret split by tags or comments, encoded three times or
    slugged with underscores passed the check."""
    (tmp_path / "a.md").write_text(
        f'---\nid: a\ntitle: "A"\nstatus: public\n---\n\nWe crossed at [{secret}]{{.redact}}.\n',
        encoding="utf-8",
    )
    private = PrivateSide.from_secrets(read_secrets(tmp_path, NOW))
    page = f"<html><body><main><p>{PLANTED[form](secret)}</p></main></body></html>".encode()
    assert check_bytes("t/a/index.html", page, private) is not None
    assert check_bytes("t/a/index.html", gzip.compress(page), private) is not None
    assert (
        check_bytes("t/a/index.html", page.replace(PLANTED[form](secret).encode(), b""), private)
        is None
    )
