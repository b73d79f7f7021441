"""The quote ledger (quotes.yaml): CLI round trip, byte-preserving writes, public words only,
short links, /q/ pages on the server and in the export, and the guard on published quotes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from e2e_helpers import CANARIES, TODAY, WEB_TESTIMONIES
from helpers import make_app, write_archive

from archive.cli import main
from archive.config import resolve_config
from archive.errors import ArchiveError
from archive.index import build_index
from archive.ledger import ID_ALPHABET, ID_LENGTH, add_quote, load_ledger, remove_quote
from archive.model import public_text
from archive.parse import load_archive
from webapp.editor import EDITOR, EDITOR_TOKEN, is_loopback

DOMAIN = "https://archive.example.org"
SENTENCES = {
    "officer": "In two weeks my platoon went from twenty-six men to nine.",
    "officer-ru": "За две недели во взводе из двадцати шести человек осталось девять.",
    "mother-uk": "Син пішов з частини і пів року переховувався вдома.",
}
HEAD = "# Quotes the newsroom printed.\n# Keep this comment.\n\n"


@pytest.fixture
def archive_dir(tmp_path: Path) -> Path:
    return write_archive(tmp_path / "testimonies", WEB_TESTIMONIES)


def run(archive_dir: Path, *args: str, site_url: str = "", code: int = 0):
    env = {"ARCHIVE_TODAY": TODAY, "ARCHIVE_SITE_URL": site_url,
           "ARCHIVE_INDEX": str(archive_dir.parent / "index")}  # fmt: skip
    result = CliRunner().invoke(main, ["--testimonies", str(archive_dir), *args], env=env)
    assert result.exit_code == code, result.output
    return result


def _app(archive_dir: Path, **extra):
    config = resolve_config(
        testimonies=archive_dir, index=archive_dir.parent / "index", today=TODAY
    )
    build_index(config)
    return make_app(
        archive_dir, archive_dir.parent / "index", today=TODAY, GENERATION_CHECK_SECONDS=0, **extra
    )


# --- the command line round trip ------------------------------------------------------------


def test_cli_round_trip_keeps_every_other_byte(archive_dir):
    path = archive_dir / "quotes.yaml"
    path.write_text(HEAD, encoding="utf-8")
    added = run(archive_dir, "quotes", "add", "officer", "half the battalion has a hernia",
                "--where", "Story of 2025-06-02", "--json", site_url=DOMAIN)  # fmt: skip
    first = json.loads(added.output)
    assert re.fullmatch(f"[{ID_ALPHABET}]{{{ID_LENGTH}}}", first["id"])
    assert first["url"] == f"{DOMAIN}/q/{first['id']}/"
    assert first["citation"].endswith(f"{DOMAIN}/q/{first['id']}/ (accessed {TODAY}).")
    after_first = path.read_bytes()
    assert after_first.startswith(HEAD.encode())
    # Hand edits between entries stay as written.
    path.write_bytes(after_first + b"  # a note an editor left\n\n")
    with_note = path.read_bytes()
    second = json.loads(run(archive_dir, "quotes", "add", "mother-uk", SENTENCES["mother-uk"],
                            "--json").output)  # fmt: skip
    assert second["id"] != first["id"] and second["where"] is None
    assert path.read_bytes().startswith(with_note)
    # Adding the same words again gives the same entry, and writes nothing.
    again = json.loads(run(archive_dir, "quotes", "add", "officer",
                           "half the battalion has a hernia", "--json").output)  # fmt: skip
    assert again["id"] == first["id"] and again["new"] is False
    listed = json.loads(run(archive_dir, "quotes", "list", "--json").output)
    assert [q["id"] for q in listed] == [first["id"], second["id"]]
    assert listed[1]["exact"] == SENTENCES["mother-uk"]
    checked = json.loads(run(archive_dir, "quotes", "check", "--json").output)
    assert checked == {"quotes": 2, "errors": [], "warnings": []}

    run(archive_dir, "quotes", "remove", second["id"])
    assert path.read_bytes() == with_note  # exactly the entry's lines went
    run(archive_dir, "quotes", "remove", first["id"])
    assert path.read_text(encoding="utf-8") == HEAD + "quotes:\n  # a note an editor left\n\n"
    assert run(archive_dir, "quotes", "remove", first["id"], code=1).output.count("no quote")


def test_quote_cite_records_the_best_match_and_cites_as_the_web_does(archive_dir):
    app = _app(archive_dir, site_url=DOMAIN)
    out = run(archive_dir, "quote", "the commander refused to sign the referal", "--cite",
              site_url=DOMAIN).output  # fmt: skip
    ledger = load_ledger(archive_dir)
    (quote,) = ledger.quotes
    cli_citation = re.search(r"Cite: (.*)", out).group(1)
    assert f"{DOMAIN}/q/{quote.id}/" in cli_citation
    with app.test_client() as client:
        web = client.get(f"/q/{quote.id}.json").get_json()
        plain = next(f["text"] for f in web["citation"]["formats"] if f["format"] == "txt")
        # The testimony page's selection answer (anchor.json) gives the same text too.
        anchor = client.get(
            f"/t/officer/anchor.json?start={quote.start}&end={quote.end}"
        ).get_json()
    assert plain == cli_citation
    assert anchor["url"] == f"{DOMAIN}/q/{quote.id}/"
    assert next(c["text"] for c in anchor["citations"] if c["format"] == "txt") == plain


def test_the_ledger_refuses_non_public_and_redacted_words(archive_dir):
    archive = load_archive(archive_dir)
    for testimony, words in (("secret", "I walked out of the unit"),
                             ("embargoed", "never went back")):  # fmt: skip
        with pytest.raises(ArchiveError, match="public"):
            add_quote(archive_dir, archive, testimony, words, today=_today())
    with pytest.raises(ArchiveError, match="redaction"):
        add_quote(archive_dir, archive, "officer", "In January, near", today=_today())
    with pytest.raises(ArchiveError, match="redaction"):
        add_quote(archive_dir, archive, "officer", "near [redacted]", today=_today())
    with pytest.raises(ArchiveError, match="times"):
        add_quote(archive_dir, archive, "officer", "the", today=_today())
    assert not (archive_dir / "quotes.yaml").exists()


def test_a_ledger_quote_is_whole_words_that_occur_once(archive_dir):
    archive = load_archive(archive_dir)
    text = public_text(archive.testimonies["officer"])
    # The command line: words that start or end inside a word are refused, whole words kept.
    for half in ("wo weeks my platoon", "In two weeks my plat", "went from twenty-six me"):
        with pytest.raises(ArchiveError, match="inside a word"):
            add_quote(archive_dir, archive, "officer", half, today=_today())
        result = run(archive_dir, "quotes", "add", "officer", half, code=1)
        assert "whole words" in result.output
    assert not (archive_dir / "quotes.yaml").exists()
    # "men" is in "twenty-six men" once as a word, whatever other words contain it.
    quote, new = add_quote(archive_dir, archive, "officer", "six men", today=_today())
    assert new and quote.exact == "six men"
    # The editor: a half-word selection is snapped to the whole word; the same rule of
    # "occurs once" holds, so a speaker label alone is refused.
    app = _app(archive_dir, **{EDITOR: True})
    headers = {"X-Archive-Token": app.config[EDITOR_TOKEN], "Origin": "http://127.0.0.1:8000"}
    at = text.index("two weeks my platoon")
    with app.test_client() as client:

        def post(start, end):
            return client.post("/t/officer/ledger", json={"start": start, "end": end},
                               headers=headers, base_url="http://127.0.0.1:8000")  # fmt: skip

        answer = post(at + 1, at + len("two weeks my plat"))
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["quote"] == "two weeks my platoon"
        entry = load_ledger(archive_dir).get(answer.get_json()["id"])
        assert (entry.exact, entry.start, entry.end) == ("two weeks my platoon", at, at + 20)
        label = text.index("Andrei")
        assert text.count("Andrei:") > 1
        refused = post(label + 1, label + 3)  # "nd" -> "Andrei", a speaker label said often
        assert refused.status_code == 400
        assert "occurs" in refused.get_json()["error"] and "once" in refused.get_json()["error"]
    assert [q.exact for q in load_ledger(archive_dir).quotes] == ["six men", "two weeks my platoon"]


def _today():
    import datetime as dt

    return dt.date.fromisoformat(TODAY)


def test_bad_ledger_files_name_file_and_line(archive_dir):
    path = archive_dir / "quotes.yaml"
    path.write_text(
        "quotes:\n"
        '  - id: abcdefg\n    testimony: officer\n    exact: "nine"\n'
        "    start: 1\n    end: 5\n    cited: 2025-06-01\n"
        '  - id: 0Ol1xyz\n    testimony: officer\n    exact: "x"\n    start: 0\n    end: 1\n'
        "    cited: 2025-06-01\n"
        "  - id: &a abcdefh\n",
        encoding="utf-8",
    )
    ledger = load_ledger(archive_dir)
    assert ledger.errors and all(str(e).startswith(f"{path}:") for e in ledger.errors)
    path.write_text(
        'quotes:\n  - id: abcdefg\n    testimony: officer\n    exact: "nine"\n'
        "    start: 1\n    end: 5\n    cited: 2025-06-01\n    colour: red\n"
        '  - id: 0Ol1xyz\n    testimony: officer\n    exact: "x"\n    start: 0\n    end: 1\n'
        "    cited: 2025-06-01\n",
        encoding="utf-8",
    )
    ledger = load_ledger(archive_dir)
    assert [e.line for e in ledger.errors] == [2, 9]
    assert "colour" in ledger.errors[0].message and "0Ol1xyz" in ledger.errors[1].message
    out = run(archive_dir, "validate", code=1).output
    assert f"{path}:2:" in out and f"{path}:9:" in out
    # A terminal escape in a note (YAML's "\e") is refused, never printed by 'quotes list'.
    path.write_text('quotes:\n  - id: abcdefg\n    testimony: officer\n    exact: "nine"\n'
                    '    start: 1\n    end: 5\n    cited: 2025-06-01\n    where: "\\e[2Jx"\n',
                    encoding="utf-8")  # fmt: skip
    (error,) = load_ledger(archive_dir).errors
    assert error.line == 2 and "control character" in error.message
    assert "\x1b" not in run(archive_dir, "quotes", "list", code=1).output
    with pytest.raises(ArchiveError, match="problems"):
        remove_quote(archive_dir, "abcdefg")  # nothing is written over a broken file


# --- links ------------------------------------------------------------------------------------


@pytest.mark.parametrize("testimony", sorted(SENTENCES))
def test_ledger_links_fit_in_print(archive_dir, testimony):
    data = json.loads(run(archive_dir, "quotes", "add", testimony, SENTENCES[testimony],
                          "--json", site_url=DOMAIN).output)  # fmt: skip
    assert len(data["url"]) <= 50, data["url"]
    assert "%25" not in data["url"] and "%25" not in data["citation"]


# --- the guard on published quotes -----------------------------------------------------------


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_validate_reports_changed_orphaned_and_unpublished_quotes(archive_dir):
    ids = {}
    for testimony, words in (("officer", "half the battalion has a hernia"),
                             ("officer", "the border guard said"),
                             ("officer", "fifteen days twice a year"),
                             ("mother-uk", "навіть сусідам")):  # fmt: skip
        ids[words] = json.loads(run(archive_dir, "quotes", "add", testimony, words,
                                    "--json").output)["id"]  # fmt: skip
    assert run(archive_dir, "validate", "--strict").output.count("warning") == 0

    officer = archive_dir / "officer.md"
    _edit(officer, "half the battalion has a hernia", "half the battalion has a hernya")  # changed
    _edit(officer, "then the border guard said", "then they let me through, saying")  # orphaned
    # Moved: a new passage above shifts every offset; the quote resolves silently.
    _edit(
        officer, "**Q:** When did you first", "**Q:** A new question?\n\n**Q:** When did you first"
    )
    _edit(archive_dir / "mother-uk.md", "status: public", "status: restricted")  # not public

    result = run(archive_dir, "validate", "--json")  # warnings only: exit 0
    warnings = {w["id"]: w for w in json.loads(result.output)["warnings"]}
    assert set(warnings) == {ids["half the battalion has a hernia"],
                             ids["the border guard said"], ids["навіть сусідам"]}  # fmt: skip
    changed = warnings[ids["half the battalion has a hernia"]]
    assert changed["kind"] == "changed"
    assert (changed["old"], changed["new"]) == ("half the battalion has a hernia",
                                                "half the battalion has a hernya")  # fmt: skip
    assert warnings[ids["the border guard said"]]["kind"] == "orphaned"
    assert warnings[ids["навіть сусідам"]]["kind"] == "not-public"
    assert all(w["line"] and w["path"].endswith("quotes.yaml") for w in warnings.values())

    text = run(archive_dir, "validate", "--strict", code=1).output
    assert "hernya" in text and "warning" in text
    assert "warning" in run(archive_dir, "quotes", "check", "--strict", code=1).output
    assert "hernya" in run(archive_dir, "index").output  # index says so too


# --- /q/ pages on the server ----------------------------------------------------------------


def test_q_pages_show_the_quote_in_its_passage_and_cite_the_short_link(archive_dir):
    quote_id = json.loads(run(archive_dir, "quotes", "add", "officer",
                              "half the battalion has a hernia", "--json").output)["id"]  # fmt: skip
    app = _app(archive_dir, site_url=DOMAIN)
    with app.test_client() as client:
        page = client.get(f"/q/{quote_id}/")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert (
            '<mark class="quote-highlight" id="quote_words">half the battalion has a hernia' in html
        )
        assert "An officer on leaving his unit" in html and "Andrei (pseudonym)" in html
        data = client.get(f"/q/{quote_id}.json").get_json()
        short = f"{DOMAIN}/q/{quote_id}/"
        for fmt in data["citation"]["formats"]:  # plain, BibTeX, RIS, CSL-JSON, Web Annotation
            assert short in fmt["text"], fmt["format"]
        assert data["testimony_url"].startswith("/t/officer/?a=")
        assert data["testimony_url"].split("#")[1].startswith("commission-blocked")
        testimony = client.get("/t/officer/").get_data(as_text=True)
        assert f'href="/q/{quote_id}/" class="quoted-mark__link"' in testimony
        assert client.get("/q/abcdefg/").status_code == 404
        assert client.get("/q/abcdefg.json").status_code == 404


def test_orphaned_and_unpublished_ledger_quotes(archive_dir):
    quote_id = json.loads(run(archive_dir, "quotes", "add", "officer", "the border guard said",
                              "--json").output)["id"]  # fmt: skip
    gone = json.loads(run(archive_dir, "quotes", "add", "officer", "twenty-six men to nine",
                          "--json").output)["id"]  # fmt: skip
    uk = json.loads(run(archive_dir, "quotes", "add", "mother-uk", "навіть сусідам",
                        "--json").output)["id"]  # fmt: skip
    officer = archive_dir / "officer.md"
    _edit(officer, "then the border guard said", "then they let me through, saying")
    # Redacted since it was cited: the page must not show the recorded words.
    _edit(
        officer, "went from twenty-six men to nine", "went from [twenty-six men to nine]{.redact}"
    )
    _edit(archive_dir / "mother-uk.md", "status: public", "status: restricted")
    app = _app(archive_dir)
    with app.test_client() as client:
        html = client.get(f"/q/{quote_id}/").get_data(as_text=True)
        assert "no longer found in the current text" in html
        assert "quote ledger recorded them" in html and "the border guard said" in html
        # Nothing is cited: not the words (gone), and not the testimony as if it were the quote.
        assert 'id="cite_none"' in html and "format__text" not in html
        orphan = client.get(f"/q/{quote_id}.json").get_json()
        assert orphan["citation"] is None and orphan["recorded"] == "the border guard said"
        redacted = client.get(f"/q/{gone}/").get_data(as_text=True)
        assert "no longer found" in redacted and "twenty-six men" not in redacted
        assert client.get(f"/q/{gone}.json").get_json()["recorded"] is None
        for path in (f"/q/{uk}/", f"/q/{uk}.json"):
            response = client.get(path)
            assert response.status_code == 404
            assert "сусідам" not in response.get_data(as_text=True)
        # The testimony page marks no passage for an orphaned quote.
        assert f"/q/{quote_id}/" not in client.get("/t/officer/").get_data(as_text=True)


def test_a_hand_written_entry_never_shows_words_of_a_testimony_not_public(archive_dir):
    """Found by a review: an orphaned entry's recorded words were shown as written, and a
    hand-edited ledger could hold a sentence of a restricted testimony."""
    words = "The furlough was refused, said"  # from the restricted "secret" testimony
    (archive_dir / "quotes.yaml").write_text(
        "quotes:\n  - id: bbbbbbb\n    testimony: officer\n    passage: x\n"
        f'    exact: "{words}"\n    start: 10\n    end: 40\n    cited: 2026-12-01\n',
        encoding="utf-8",
    )
    app = _app(archive_dir)
    with app.test_client() as client:
        for path in ("/q/bbbbbbb/", "/q/bbbbbbb.json"):
            assert "furlough was refused" not in client.get(path).get_data(as_text=True)
        assert client.get("/q/bbbbbbb.json").get_json()["recorded"] is None
    result = run(archive_dir, "validate", code=1)  # never only a warning
    assert "bbbbbbb" in result.output and "furlough was refused" not in result.output


def test_a_partial_load_keeps_a_translation_public(archive_dir):
    """Found by a review: loading one file of a translated account (the watcher, the quote
    command) took its unloaded partner for a missing original and withheld it."""
    from archive.parse import load_archive

    archive = load_archive(archive_dir, [archive_dir / "officer-ru.md"])
    assert archive.testimonies["officer-ru"].status == "public"
    run(archive_dir, "index")
    quote = json.loads(
        run(archive_dir, "quote", SENTENCES["officer-ru"], "--cite", "--json").output
    )
    assert quote


# --- the export -----------------------------------------------------------------------------


def test_export_writes_a_page_per_public_ledger_quote_and_nothing_else(archive_dir, tmp_path):
    from webapp.publish.export import export_site

    public = json.loads(run(archive_dir, "quotes", "add", "officer",
                            "half the battalion has a hernia", "--json").output)["id"]  # fmt: skip
    later = json.loads(run(archive_dir, "quotes", "add", "mother-uk", "навіть сусідам",
                           "--json").output)["id"]  # fmt: skip
    _edit(archive_dir / "mother-uk.md", "status: public", "status: restricted")
    config = resolve_config(testimonies=archive_dir, index=tmp_path / "index", today=TODAY)
    report = export_site(tmp_path / "site", config, base_url=DOMAIN + "/", check=True)
    site = tmp_path / "site"
    page = (site / "q" / public / "index.html").read_text(encoding="utf-8")
    assert "half the battalion has a hernia" in page and f"{DOMAIN}/q/{public}/" in page
    assert (site / "q" / f"{public}.json").is_file()
    assert not (site / "q" / later).exists()
    # The testimony page carries its ledger quotes for export-quote.js ("Copy link" and
    # "Cite" on exactly these words give the short link, as the server does).
    import html as html_lib

    officer = (site / "t" / "officer" / "index.html").read_text(encoding="utf-8")
    carried = re.search(r'data-ledger-quotes="([^"]*)"', officer)
    assert carried, "the export's testimony page carries no ledger quotes"
    text = public_text(load_archive(archive_dir).testimonies["officer"])
    at = text.index("half the battalion has a hernia")
    assert json.loads(html_lib.unescape(carried.group(1))) == [
        {"id": public, "start": at, "end": at + 31, "url": f"{DOMAIN}/q/{public}/"}
    ]
    assert not (site / "t" / "mother-uk").exists()
    assert any(later in w and "not public" in w for w in report.warnings)
    # The leak check ran over every file: the restricted testimony's quote is nowhere.
    assert report.leaks is not None and report.leaks.ok
    for file in site.rglob("*"):
        if file.is_file() and file.suffix in (".html", ".json", ".xml", ".txt"):
            body = file.read_text(encoding="utf-8", errors="replace")
            assert "сусідам" not in body and not any(c in body for c in CANARIES), file


# --- editor mode ----------------------------------------------------------------------------


def test_a_public_server_has_no_route_that_writes(archive_dir):
    app = _app(archive_dir)
    with app.test_client() as client:
        response = client.post("/t/officer/ledger", json={"start": 0, "end": 5})
        assert response.status_code in (404, 405)
        assert "data-ledger" not in client.get("/t/officer/").get_data(as_text=True)
    assert not (archive_dir / "quotes.yaml").exists()


def test_editor_writes_need_token_origin_and_loopback_host(archive_dir):
    app = _app(archive_dir, **{EDITOR: True})
    token = app.config[EDITOR_TOKEN]
    with app.test_client() as client:
        html = client.get("/t/officer/", base_url="http://127.0.0.1:8000").get_data(as_text=True)
        assert f'data-ledger-token="{token}"' in html
        good = {"X-Archive-Token": token, "Origin": "http://127.0.0.1:8000"}

        def post(headers, base="http://127.0.0.1:8000", body=None):
            return client.post("/t/officer/ledger", json=body or {"start": 0, "end": 10},
                               headers=headers, base_url=base)  # fmt: skip

        assert post({**good, "X-Archive-Token": "forged"}).status_code == 403
        assert post({"X-Archive-Token": token}).status_code == 403  # no Origin
        assert post({**good, "Origin": "http://evil.example.com"}).status_code == 403
        # A name rebound to 127.0.0.1 still names another host.
        rebound = {**good, "Origin": "http://evil.example.com:8000"}
        assert post(rebound, base="http://evil.example.com:8000").status_code == 403
        assert not (archive_dir / "quotes.yaml").exists()
        answer = post(good)
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        assert body["url"].endswith(f"/q/{body['id']}/")
        text = public_text(load_archive(archive_dir).testimonies["officer"])
        assert body["quote"] == "Q: When did"  # "Q: When di", snapped to whole words
        assert load_ledger(archive_dir).get(body["id"]) is not None
        # The new quote is cited with its short link at once.
        cite = client.get(f"/q/{body['id']}.json", base_url="http://127.0.0.1:8000")
        assert cite.status_code == 200
        at = text.index("[redacted]")
        refused = post(good, body={"start": at - 5, "end": at + 12})
        assert refused.status_code == 400 and "redaction" in refused.get_json()["error"]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"])
def test_loopback_hosts(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.org", ""])
def test_serve_editor_refuses_other_hosts(archive_dir, host):
    assert not is_loopback(host)
    result = run(archive_dir, "serve", "--editor", "--host", host, code=1)
    assert "loopback" in result.output


def test_the_format_documents_example_reads(tmp_path):
    """The shared contract's example entry (FORMAT.md, docs/format.md) is a valid ledger."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "format.md").read_text()
    example = doc.split("## Quote ledger (1.1)", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "quotes.yaml").write_text(example, encoding="utf-8")
    ledger = load_ledger(tmp_path)
    assert ledger.errors == [] and [q.id for q in ledger.quotes] == ["k7f3q2m"]
    assert ledger.quotes[0].where == "Story of 2026-12-08"


# --- found on real use (#19, ledger-ux) -------------------------------------------------------


def _cited_then_edited(archive_dir, now: str) -> str:
    """The officer's "half the battalion has a hernia", recorded in the ledger, then
    edited in the file to ``now``; returns the quote's id."""
    words = "half the battalion has a hernia"
    quote_id = json.loads(run(archive_dir, "quotes", "add", "officer", words, "--json").output)[
        "id"
    ]
    _edit(archive_dir / "officer.md", words, now)
    return quote_id


def test_a_changed_quote_page_shows_the_ledgers_record(archive_dir):
    """The words were edited after they were printed: /q/ID/ shows them as the ledger
    recorded them (the archive's record), says they changed, and shows the text now."""
    quote_id = _cited_then_edited(archive_dir, "half the battalion has a hernya")
    app = _app(archive_dir)
    with app.test_client() as client:
        html = client.get(f"/q/{quote_id}/").get_data(as_text=True)
        data = client.get(f"/q/{quote_id}.json").get_json()
    assert 'id="quote_changed"' in html and "have changed since they were cited" in html
    recorded = re.search(r'<blockquote class="orphan-quote"[^>]*id="quote_recorded">([^<]*)<', html)
    assert recorded and recorded.group(1) == "half the battalion has a hernia"
    assert '<mark class="quote-highlight" id="quote_words">half the battalion has a hernya' in html
    assert data["changed"] is True and data["recorded"] == "half the battalion has a hernia"
    assert data["passage"]["quote"] == "half the battalion has a hernya"
    plain = next(f["text"] for f in data["citation"]["formats"] if f["format"] == "txt")
    assert plain.startswith("“half the battalion has a hernya”") and f"/q/{quote_id}/" in plain
    assert 'id="cite_now"' in html


def test_a_quote_redacted_inside_since_it_was_cited_is_never_shown_or_named(archive_dir):
    """An editor redacts a word inside a printed quote: the quote still resolves (changed),
    but its recorded words now hold a secret: not on /q/, not in validate's output."""
    quote_id = _cited_then_edited(archive_dir, "half the [battalion]{.redact} has a hernia")
    app = _app(archive_dir)
    with app.test_client() as client:
        for path in (f"/q/{quote_id}/", f"/q/{quote_id}.json", "/t/officer/", "/t/officer.json"):
            body = client.get(path).get_data(as_text=True)
            assert "battalion" not in body, path
        assert client.get(f"/q/{quote_id}.json").get_json()["withheld"] is True
    result = run(archive_dir, "validate", "--json", code=1)  # an error, never a warning only
    assert "battalion" not in result.output
    (problem,) = json.loads(result.output)["warnings"]
    assert problem["kind"] == "private" and problem["old"] is None and problem["new"] is None
    assert "battalion" not in run(archive_dir, "quotes", "check", code=1).output


def _start(ledger: str) -> int:
    return int(re.search(r"start: (\d+)", ledger).group(1))


@pytest.mark.parametrize(
    ("redacted", "secret"),
    [
        # Found by an attack: a redaction that starts inside the quote and runs past its
        # end (or ends inside it) is neither inside the quote nor holds it whole.
        ("a [hernia and they all]{.redact} fight", "hernia"),
        ("he said [that half the]{.redact} battalion", "half the"),
        # The words of a testimony not public, with one word of the quote's own around.
        ("half the battalion has a hernia and they", "battalion"),
    ],
)
def test_a_quote_overlapping_a_redaction_at_its_edge_is_never_shown(archive_dir, redacted, secret):
    quote_id = json.loads(run(archive_dir, "quotes", "add", "officer",
                              "half the battalion has a hernia", "--json").output)["id"]  # fmt: skip
    if "[" in redacted:
        old = redacted.replace("[", "").replace("]{.redact}", "")
        _edit(archive_dir / "officer.md", old, redacted)
    else:
        # The entry now records a restricted testimony's sentence and one word more.
        words = "The furlough was refused, said zzzword"
        ledger = (archive_dir / "quotes.yaml").read_text(encoding="utf-8")
        ledger = re.sub(r'exact: "[^"]*"', f'exact: "{words}"', ledger)
        ledger = re.sub(r"end: \d+", lambda m: f"end: {_start(ledger) + len(words)}", ledger)
        (archive_dir / "quotes.yaml").write_text(ledger, encoding="utf-8")
        secret = "furlough was refused"
    app = _app(archive_dir)
    with app.test_client() as client:
        for path in (f"/q/{quote_id}/", f"/q/{quote_id}.json"):
            assert secret not in client.get(path).get_data(as_text=True), path
        assert client.get(f"/q/{quote_id}.json").get_json()["recorded"] is None
    assert secret not in run(archive_dir, "validate", code=1).output


def test_a_citation_of_words_not_found_is_a_plain_text_error(archive_dir):
    from archive.anchors import make_anchor

    app = _app(archive_dir)
    gone = make_anchor("Words that were never in this testimony at all.", 10, 30)
    with app.test_client() as client:
        for fmt in ("txt", "bib", "ris", "csl.json", "annotation.json"):
            response = client.get(f"/t/officer/cite.{fmt}?a={gone.to_param()}")
            assert response.status_code == 404 and response.mimetype == "text/plain"
            body = response.get_data(as_text=True)
            assert body.startswith("This link's words were not found in the current text")
            assert "never in this" not in body
        bad = client.get("/t/officer/cite.txt?a=garbage")
        assert bad.status_code == 400 and bad.mimetype == "text/plain"
        assert "START-END.CHECK" in bad.get_data(as_text=True)
        page = client.get("/t/officer/?a=garbage").get_data(as_text=True)
        assert "START-END.CHECK" in page
        # A restricted testimony and a missing one answer the same.
        secret = client.get("/t/secret/cite.txt")
        missing = client.get("/t/nobody/cite.txt")
        assert (secret.status_code, secret.get_data()) == (404, missing.get_data())
        assert secret.mimetype == "text/plain"


def test_without_site_url_links_are_relative_and_pages_say_how_to_fix_it(archive_dir):
    from archive.config import RELATIVE_LINKS_NOTE

    quote_id = json.loads(run(archive_dir, "quotes", "add", "officer",
                              "half the battalion has a hernia", "--json").output)["id"]  # fmt: skip
    note = RELATIVE_LINKS_NOTE.replace("'", "&#39;")
    for site_url, shown in (("", True), (DOMAIN, False)):
        app = _app(archive_dir, site_url=site_url)
        with app.test_client() as client:
            forged = {"Host": "evil.example.com", "X-Forwarded-Host": "evil.example.com"}
            for path in (f"/q/{quote_id}/", "/t/officer/", "/quote/?text=half+the+battalion"):
                html = client.get(path, headers=forged).get_data(as_text=True)
                assert (note in html) is shown, (path, site_url)
                assert "evil.example.com" not in html
            cite = client.get("/t/officer/cite.txt", headers=forged).get_data(as_text=True)
            expected = f"{DOMAIN}/t/officer/" if site_url else " /t/officer/ "
            assert expected in cite and "evil" not in cite
            for fmt in ("txt", "bib", "ris", "csl.json", "annotation.json"):
                page = client.get(f"/q/{quote_id}.json", headers=forged).get_json()
                text = next(f["text"] for f in page["citation"]["formats"] if f["format"] == fmt)
                assert f"{site_url}/q/{quote_id}/" in text and "evil" not in text, fmt
    # The command line says it too, on stderr, and only without site_url.
    out = run(archive_dir, "quotes", "list").output
    assert f"/q/{quote_id}/" in out and "set ARCHIVE_SITE_URL" in out
    assert "ARCHIVE_SITE_URL" not in run(archive_dir, "quotes", "list", site_url=DOMAIN).output
    cited = run(archive_dir, "quote", "half the battalion has a hernia", "--cite").output
    assert f" /q/{quote_id}/ (accessed" in cited and "set ARCHIVE_SITE_URL" in cited


def test_a_hostile_ledger_is_refused_quickly_with_file_and_what_to_do(archive_dir):
    import os
    import time

    from archive.ledger import MAX_LEDGER_BYTES, MAX_LEDGER_QUOTES

    path = archive_dir / "quotes.yaml"
    entry = ('  - id: {id}\n    testimony: officer\n    exact: "{w}"\n    start: 0\n'
             '    end: {n}\n    cited: 2026-12-01\n')  # fmt: skip
    words = "word " * 60
    body = "".join(entry.format(id=f"{n:07d}".translate(str.maketrans("0123456789",
                                                                      "23456789ab")),
                                w=words.strip(), n=len(words.strip()))
                   for n in range(MAX_LEDGER_BYTES // 300 + 100))  # fmt: skip
    path.write_text("quotes:\n" + body, encoding="utf-8")
    assert path.stat().st_size > MAX_LEDGER_BYTES
    started = time.monotonic()
    ledger = load_ledger(archive_dir)
    assert time.monotonic() - started < 1.0  # refused before it is parsed
    (error,) = ledger.errors
    assert str(error).startswith(f"{path}:1: the quote ledger is ")
    assert "over its limit of 1 MB" in str(error) and "archive quotes remove" in str(error)
    assert ledger.quotes == ()
    result = run(archive_dir, "validate", code=1)
    assert f"{path}:1:" in result.output
    with pytest.raises(ArchiveError, match="nothing was written"):
        add_quote(archive_dir, load_archive(archive_dir), "officer", "six men", today=_today())
    # Many small entries under the byte limit: the entry limit.
    small = '  - id: {id}\n    testimony: officer\n    exact: "x"\n    start: 0\n    end: 1\n    cited: 2026-12-01\n'
    ids = [f"{n:07d}".translate(str.maketrans("0123456789", "23456789ab"))
           for n in range(MAX_LEDGER_QUOTES + 1)]  # fmt: skip
    path.write_text("quotes:\n" + "".join(small.format(id=i) for i in ids), encoding="utf-8")
    assert path.stat().st_size <= MAX_LEDGER_BYTES
    (error,) = load_ledger(archive_dir).errors
    assert f"{MAX_LEDGER_QUOTES + 1:,} entries" in error.message and error.line == 1
    # A FIFO named quotes.yaml never hangs a reader or a writer.
    path.unlink()
    os.mkfifo(path)
    (error,) = load_ledger(archive_dir).errors
    assert "FIFO" in error.message and str(error).startswith(f"{path}:1:")
    with pytest.raises(ArchiveError, match="nothing was written"):
        add_quote(archive_dir, load_archive(archive_dir), "officer", "six men", today=_today())
    app = _app(archive_dir)
    with app.test_client() as client:  # the server goes on serving without the ledger
        assert client.get("/t/officer/").status_code == 200
        assert client.get("/q/2222222/").status_code == 404
