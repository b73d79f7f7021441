"""The fast path (archive/search/fastpath.py) is right and is used.

Right: Hypothesis writes queries (words, phrases, prefixes, OR, NOT,
parentheses, filters, dates, sort by date, later pages) and each is run
through the fast path and through Whoosh's own matchers and collectors
(``fast_path=False``) over one real index on disk, built in two generations
(so in several segments) from the bundled samples, generated passages and,
when the shared corpus is there, WPA narratives: the same matches, order,
scores, totals, facets, snippets and anchors. Used: every kind of query the
benchmark runs goes through it (``fastpath.CALLS``), never walked matcher by
matcher.
"""

from __future__ import annotations

import math
import random
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive import query as parsing
from archive.config import resolve_config
from archive.index import build_index
from archive.search import fastpath, open_search_index, search
from archive.search import match as matching
from archive.search.compile import compile_query

ROOT = Path(__file__).resolve().parent.parent
CORPUS = next(
    (p / "shared" / "corpus" for p in ROOT.parents if (p / "shared" / "corpus" / "wpa").is_dir()),
    None,
)
WPA_FILES = 12

# Made-up words, so generated passages share words in known ways; real words
# of the samples and the WPA narratives come in through the queries too.
INVENTED = ["tarnel", "vosk", "miradi", "quell", "ostrin", "palvo", "dremmet", "karsy"]
REAL = ["the", "and", "river", "leave", "home", "night", "border", "mother", "cotton", "white",
        "folks", "master", "sold", "read", "write", "big", "house", "commander", "unit", "free",
        "відпустку", "отпуск", "ушёл", "слово"]  # fmt: skip
WORDS = INVENTED + REAL
PHRASES = ["white folks", "big house", "read and write", "the river", "tarnel vosk",
           "vosk miradi quell", "the commander", "left the unit", "set free"]  # fmt: skip
PREFIXES = ["tarn", "mir", "riv", "moth", "comm", "hou", "whit", "відп"]
FILTERS = ["lang:en", "lang:ru", "lang:uk", "date:1930..1940", "date:2020..", "date:..1938",
           "theme:conscription", "theme:escape-abroad", "place:alabama"]  # fmt: skip
#: One of each kind of query the benchmark runs (bench/bench_search.py).
BENCH_KINDS = {
    "word": "river",
    "phrase": '"white folks"',
    "three-word phrase": '"read and write"',
    "words": "mother river",
    "prefix": "moth*",
    "or": "river OR border",
    "descriptive": "the mother sold the big house down by the river",
    "missing word": "zzzqqq river",
}


def _testimony(ident: str, language: str, date: str, themes: str, body: str) -> str:
    return (
        f'---\nid: {ident}\ntitle: "Generated account {ident}"\nnarrator: "Narrator {ident[-1]}"\n'
        f'date: {date}\nplace: "Test place"\nlanguage: {language}\nstatus: public\n'
        f'source: "Written for the fast path tests"\nlicense: "CC BY 4.0"\nthemes: [{themes}]\n'
        f"---\n\n{body}\n"
    )


def _generated(rng: random.Random, ident: str) -> str:
    paragraphs = []
    for _ in range(rng.randint(3, 9)):
        words = [rng.choice(WORDS[:18]) for _ in range(rng.randint(4, 40))]
        if rng.random() < 0.5:
            at = rng.randrange(len(words))
            words[at:at] = rng.choice(PHRASES).split()
        paragraphs.append(" ".join(words).capitalize() + ".")
    date = rng.choice(["1936", "1937-05", "1938-02-11", "2023-10-04", "2024"])
    themes = rng.choice(["conscription", "escape-abroad", "conscription, escape-abroad"])
    return _testimony(ident, "en", date, themes, "\n\n".join(paragraphs))


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    base = tmp_path_factory.mktemp("fastpath")
    directory = base / "testimonies"
    shutil.copytree(ROOT / "testimonies", directory)
    if CORPUS is not None:
        ids = [line.strip() for line in (CORPUS / "small.txt").read_text().splitlines()]
        for ident in [i for i in ids if i][:: max(1, len(ids) // WPA_FILES)][:WPA_FILES]:
            shutil.copy(CORPUS / "wpa" / f"{ident}.md", directory / f"{ident}.md")
    rng = random.Random(16)
    for n in range(30):
        (directory / f"generated-{n:02d}.md").write_text(_generated(rng, f"generated-{n:02d}"))
    # Passages that score the same for a word: ties across a page's edge go to the
    # lower document number, in both ways of matching.
    same = "\n\n".join(["Karsy palvo by the river."] * 14)
    (directory / "generated-ties.md").write_text(
        _testimony("generated-ties", "en", "1937", "conscription", same)
    )
    config = resolve_config(testimonies=directory, index=base / "index")
    build_index(config, full=True)
    for n in range(30, 36):  # a second generation: an update adds a segment
        (directory / f"generated-{n:02d}.md").write_text(_generated(rng, f"generated-{n:02d}"))
    build_index(config)
    with open_search_index(config.public_index) as opened:
        with opened.searching() as searcher:
            assert len(searcher.leaf_searchers()) > 1
        yield opened


def _atom():
    return st.one_of(
        st.sampled_from(WORDS),
        st.sampled_from(PHRASES).map(lambda p: f'"{p}"'),
        st.sampled_from(PREFIXES).map(lambda p: f"{p}*"),
    )


def _query(depth: int = 2):
    if depth == 0:
        return _atom()
    inner = _query(depth - 1)
    return st.one_of(
        _atom(),
        st.lists(inner, min_size=2, max_size=3).map(" ".join),
        st.lists(inner, min_size=2, max_size=3).map(" OR ".join),
        st.tuples(inner, inner).map(lambda ab: f"{ab[0]} -{ab[1]}"),
        st.tuples(inner, inner).map(lambda ab: f"{ab[0]} NOT {ab[1]}"),
        inner.map(lambda a: f"({a})"),
        st.tuples(inner, inner, inner).map(lambda abc: f"({abc[0]} OR {abc[1]}) {abc[2]}"),
    )


QUERIES = st.tuples(
    st.one_of(_query(), st.just("")),
    st.lists(st.sampled_from(FILTERS), max_size=2),
    st.sampled_from(["relevance", "date"]),
    st.integers(1, 3),
    st.sampled_from([5, 20]),
    st.sampled_from(["best", "all"]),
    st.sampled_from(["passages", "testimonies"]),
).map(lambda t: (" ".join([t[0], *t[1]]).strip(), *t[2:]))


def _raw(index, searcher, text: str, order: str, first: int, count: int, fast: bool, mode: str):
    compiled = compile_query(parsing.parse_query(text), searcher, fast_path=fast, mode=mode)
    if order == "relevance" and not compiled.scored:
        order = "index"
    return matching.match(index, searcher, compiled.query, order, first, count, 60.0, fast)


def assert_same(
    index, text: str, sort: str, page: int, per_page: int, mode="best", view="passages"
) -> None:
    """The fast path and stock Whoosh agree on every match, its score and its place,
    and so on every page of results the search makes of them (best match, grouping)."""
    if text.strip() and parsing.parse_query(text).root is None:
        return  # punctuation only: refused before matching (test_best_match)
    first = (page - 1) * per_page
    with index.searching(fast_path=True) as searcher:
        fast = _raw(index, searcher, text, sort, first, per_page, True, mode)
    with index.searching(fast_path=False) as searcher:
        stock = _raw(index, searcher, text, sort, first, per_page, False, mode)
    assert not fast.timed_out and not stock.timed_out
    assert fast.total == stock.total, text
    assert sorted(fast.docs) == sorted(stock.docs), text
    assert [d for _, d in fast.page] == [d for _, d in stock.page], text
    for (a, _), (b, _) in zip(fast.page, stock.page, strict=True):
        assert a == b or math.isclose(a, b, rel_tol=1e-9), text
    kw = {"sort": sort, "page": page, "per_page": per_page, "mode": mode, "view": view}
    shown = search(index, text, fast_path=True, **kw)
    stock_shown = search(index, text, fast_path=False, **kw)
    assert shown.as_dict() == stock_shown.as_dict(), text
    # What is listed comes from those matches: best match drops some, and a
    # testimony's title-only matches are one line.
    assert shown.passages <= fast.total


_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@settings(max_examples=60, **_SETTINGS)
@given(QUERIES)
def test_fast_path_matches_stock_whoosh(index, case):
    assert_same(index, *case)


@pytest.mark.slow
@settings(max_examples=1500, **_SETTINGS)
@given(QUERIES)
def test_fast_path_matches_stock_whoosh_at_length(index, case):
    assert_same(index, *case)


def test_the_queries_find_something(index):
    """The generated index and queries are not vacuous: every bench kind has matches,
    some on later pages, in several segments."""
    for text in [*BENCH_KINDS.values(), "tarnel -vosk", "theme:conscription", "karsy"]:
        results = search(index, text, per_page=5)
        assert results.total > 5, text
        for mode in ("best", "all"):
            for view in ("passages", "testimonies"):
                assert_same(index, text, "relevance", 2, 5, mode, view)
                assert_same(index, text, "date", 2, 5, mode, view)
    for page in (1, 2, 3):  # 14 equal scores across page edges
        assert_same(index, "karsy", "relevance", page, 4)


@pytest.mark.parametrize("kind", BENCH_KINDS)
@pytest.mark.parametrize("sort", ["relevance", "date"])
def test_every_bench_query_kind_takes_the_fast_path(index, kind, sort):
    fastpath.CALLS.clear()
    results = search(index, BENCH_KINDS[kind], sort=sort, fast_path=True)
    assert results.total > 0
    taken = dict(fastpath.CALLS)
    assert taken.get("walked", 0) == 0, taken
    # Search scores every match (ranking orders them itself, by date too), and reads
    # which words a passage holds as sets of documents.
    ways = ("top_leaf", "scores", "ids")
    assert sum(taken.get(way, 0) for way in ways) >= 2, taken  # every segment, one way or another
    assert taken.get("scores", 0) >= 2, taken


def test_switched_off_the_fast_path_is_not_taken(index, monkeypatch):
    fastpath.CALLS.clear()
    search(index, "river", fast_path=False)
    assert not fastpath.CALLS
    monkeypatch.setenv("ARCHIVE_FAST_PATH", "0")
    with open_search_index(index.path) as stock:
        assert stock.fast_path is False
        search(stock, "river mother")
    assert not fastpath.CALLS
    assert resolve_config(testimonies=ROOT / "testimonies").fast_path is False
