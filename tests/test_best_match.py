"""Best match, unknown words, grouping by testimony and the archive's own examples,
on the bundled samples (testimonies/), through the library, the web app and the CLI."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import main
from archive.config import resolve_config
from archive.errors import QueryError
from archive.index import build_index
from archive.parse import load_archive
from archive.search import search

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "testimonies"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("best")
    shutil.copytree(SAMPLES, tmp / "testimonies")
    config = resolve_config(testimonies=tmp / "testimonies", index=tmp / "index")
    build_index(config, load_archive(config.testimonies), full=True)
    return config


@pytest.fixture(scope="module")
def ix(built):
    return built.public_index


@pytest.fixture(scope="module")
def client(built, monkeypatch_module):
    from webapp import create_app

    monkeypatch_module.setenv("ARCHIVE_TESTIMONIES", str(built.testimonies))
    monkeypatch_module.setenv("ARCHIVE_INDEX", str(built.index))
    app = create_app()
    return app.test_client()


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_descriptive_sentences_find_the_passages(ix):
    en = search(ix, "soldiers who shot themselves in the foot to get to hospital")
    assert "officer-left-unit-2023/self-injury-weighed" in {
        f"{h.testimony}/{h.passage}" for h in en.hits
    }
    ru = search(ix, "как солдаты уходят из части через госпиталь", view="testimonies")
    found = {g.testimony for g in ru.groups}
    assert {"officer-left-unit-2023-ru", "mother-son-left-unit-2024"} <= found
    # Strict mode: every word must match, so the same sentence finds nothing.
    assert search(ix, "как солдаты уходят из части через госпиталь", mode="all").total == 0


def test_all_words_rank_first_and_lower_hits_say_what_they_lack(ix):
    r = search(ix, "hospital leave commission discharged", per_page=50)
    assert r.total > 0
    missing = [h.missing for h in r.hits]
    complete = [not m for m in missing]
    # Every hit with every word comes before any hit lacking one.
    assert complete == sorted(complete, reverse=True)
    assert any(missing)
    words = {"hospital", "leave", "commission", "discharged"}
    for m in missing:
        assert set(m) <= words and len(m) <= 2  # at least half of four words held
    assert r.as_dict()["hits"][0]["missing"] == list(r.hits[0].missing)
    assert not any("fewer than" in n for n in r.notices)  # no fill tier was needed


def test_fill_tier_follows_and_is_said(ix):
    """Fewer than FILL_TESTIMONIES testimonies hold most of the words: the best of the
    rest follow, each saying what it lacks, and a notice says so."""
    r = search(ix, "soldiers who shot themselves in the foot to get to hospital", per_page=100)
    assert any("fewer than" in n for n in r.notices)
    complete = [not h.missing for h in r.hits]
    assert complete == sorted(complete, reverse=True) and not all(complete)
    assert search(ix, "soldiers who shot themselves", mode="all").total <= r.total


def test_required_words_and_phrases(ix):
    loose = search(ix, "hospital leave commission", per_page=100)
    strict = search(ix, "hospital +leave commission", per_page=100)
    assert strict.total <= loose.total
    assert all("leave" not in h.missing for h in strict.hits)
    assert search(ix, "+zzzqqq leave").total == 0


def test_unknown_word_is_reported_never_dropped_silently(ix):
    r = search(ix, "zzzqqq leave")
    assert r.unknown == ("zzzqqq",)
    assert r.showing == "leave"
    assert r.search_instead == "+zzzqqq leave"
    assert r.total > 0
    assert search(ix, r.search_instead).total == 0
    assert search(ix, "zzzqqq leave", mode="all").total == 0
    assert search(ix, "zzzqqq leave", mode="all").unknown == ("zzzqqq",)


def test_typo_correction_is_shown_as_such(ix):
    r = search(ix, "commandr")
    assert r.corrections == {"commandr": ("commander",)}
    assert r.showing == "commander" and r.search_instead == "+commandr"


def test_operators_keep_their_meaning(ix):
    either = search(ix, "leave OR hospital", per_page=100)
    assert all(not h.missing for h in either.hits)
    r = search(ix, "leave -hospital", per_page=100)
    assert all("hospital" not in h.snippet.lower() for h in r.hits)


@pytest.mark.parametrize("query", ["-", "( )", "''''"])
def test_only_operators_or_punctuation_is_a_clear_message(ix, query):
    with pytest.raises(QueryError, match="no words to search for"):
        search(ix, query)


def test_each_testimony_once_and_title_matches_are_one_line(ix):
    r = search(ix, "кордон", view="testimonies", per_page=50)
    ids = [g.testimony for g in r.groups]
    assert len(ids) == len(set(ids))
    for g in r.groups:
        assert len(g.hits) <= 3
        for h in g.hits:
            assert "<mark>" in h.snippet  # never a passage with no word of the query
    # A title word: one testimony-level line, no passage listed.
    title = search(ix, "translation", view="testimonies", per_page=50)
    lines = [g for g in title.groups if not g.hits]
    assert lines and all(g.matched_on for g in lines)
    assert title.as_dict()["view"] == "testimonies"
    assert search(ix, "lawyer").as_dict()["view"] == "passages"


def test_facet_counts_agree_with_what_is_listed(ix):
    r = search(ix, "leave", view="testimonies", per_page=100)
    for value, count in r.facets["language"]:
        narrowed = search(ix, "leave", view="testimonies", filters={"language": value})
        assert narrowed.total == count


def test_passage_themes_rank_above_testimony_themes(ix):
    r = search(ix, "theme:hospitalisation", view="passages", per_page=100)
    own = [h for h in r.hits]
    # Every passage listed carries the theme itself; testimonies that only inherit
    # it are a line each.
    assert own and len(own) < 20
    g = search(ix, "theme:hospitalisation", view="testimonies", per_page=100)
    assert len({x.testimony for x in g.groups}) == g.total


def test_stopwords_are_not_highlighted(ix):
    r = search(ix, "the hospital", per_page=50)
    for h in r.hits:
        marked = re.findall(r"<mark>(.*?)</mark>", h.snippet)
        assert all(m.lower() != "the" for m in marked)


def test_web_page_and_json(client):
    page = client.get("/search/?q=zzzqqq+leave")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "search instead for" in text and "zzzqqq" in text
    data = client.get("/search.json?q=zzzqqq+leave").get_json()
    assert data["unknown"] == ["zzzqqq"] and "results" not in data
    assert data["view"] == "testimonies" and data["hits"]
    missing = client.get("/search/?q=hospital+leave+commission+discharged").get_data(as_text=True)
    assert "Missing:" in missing
    empty = client.get("/search/?q=%2Bzzzqqq").get_data(as_text=True)
    assert "Nothing found" in empty and ">Filter<" not in empty
    assert client.get("/search/?q=-").status_code == 400


def _examples(client) -> list[str]:
    found = []
    home = client.get("/").get_data(as_text=True)
    placeholder = re.search(r'id="home_q"[^>]*placeholder="e\.g\. ([^"]+)"', home).group(1)
    found += [w.strip() for w in placeholder.split(",")]
    found += [row["example"] for row in client.get("/help/search.json").get_json()["syntax"]]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Search syntax", 1)[1].split("###", 1)[0]
    found += [m for m in re.findall(r"^\| `([^`]+)`", table, re.M)]
    return found


def test_every_example_the_archive_offers_finds_something(built, client):
    examples = _examples(client)
    runner = CliRunner()
    for command in (main, *main.commands.values()):
        for line in (command.help or "").splitlines():
            m = re.match(r"\s+archive search '([^']*)'", line)
            if m:
                examples.append(m.group(1))
    assert len(examples) > 15
    for query in examples:
        r = search(built.public_index, query)
        assert r.total > 0, query
    result = runner.invoke(
        main, ["--testimonies", str(built.testimonies), "--index", str(built.index),
               "search", "zzzqqq leave"],
    )  # fmt: skip
    assert result.exit_code == 0
    assert "Unknown" in result.output and "Search instead for: +zzzqqq leave" in result.output


def test_names_are_found_by_their_other_spellings(ix):
    # "Andrey": the English text spells him Andrei, the Russian Андрей.
    r = search(ix, "Andrey", view="testimonies")
    assert {g.testimony for g in r.groups} == {
        "officer-left-unit-2023",
        "officer-left-unit-2023-ru",
    }
    assert r.unknown == ("Andrey",) and set(r.corrections["Andrey"]) == {"andrei", "андрей"}
    # A transliterated name finds its Cyrillic spelling, and says so.
    olga = search(ix, "Olga", view="testimonies")
    assert [g.testimony for g in olga.groups] == ["medic-self-inflicted-wounds-2024"]
    assert olga.corrections == {"Olga": ("ольга",)}
    # A name as typed ranks above its variants; a word in lower case is no name.
    andrei = search(ix, "Andrei")
    assert andrei.hits[0].testimony == "officer-left-unit-2023"
    assert {h.testimony for h in andrei.hits} >= {"officer-left-unit-2023-ru"}
    assert search(ix, "olga").total == 0
