"""Search through a real index on disk: languages, highlights, facets, limits, leaks.

One small archive is written and indexed once for the module; every test
searches it through :func:`archive.search.search`, the function the CLI and
the web app call.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import build, write_archive
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from search_archive import CANARIES, TESTIMONIES
from whoosh import query as wq

from archive import query as parsing
from archive import urls
from archive.analysis import analyze
from archive.cli import main
from archive.config import Config, resolve_config
from archive.errors import QueryError
from archive.index import build_index
from archive.model import public_text
from archive.parse import load_archive
from archive.search import (
    SearchIndex,
    fastpath,
    highlight,
    open_search_index,
    opened,
    queries,
    search,
)
from archive.search import compile as compiling
from archive.search import match as matching

LIMIT_SECONDS = 1.5


def index_one(tmp_path: Path, testimony_id: str, body: str) -> Path:
    """The public index of an archive of one English testimony."""
    directory = write_archive(tmp_path / "t", {testimony_id: (dict(title='"Story"'), body)})
    return build(directory, tmp_path / "index").public_index


@pytest.fixture(scope="module")
def archive_config(tmp_path_factory) -> Config:
    root = tmp_path_factory.mktemp("search")
    directory = write_archive(root / "testimonies", TESTIMONIES)
    assert not load_archive(directory).errors
    return build(directory, root / "index", include_restricted=True)


@pytest.fixture(scope="module")
def ix(archive_config) -> SearchIndex:
    opened = open_search_index(archive_config.public_index)
    yield opened
    opened.close()


def timed_search(index, query, **kwargs):
    start = time.perf_counter()
    try:
        return search(index, query, **kwargs)
    finally:
        assert time.perf_counter() - start < LIMIT_SECONDS, query[:80]


def keys(results) -> list[str]:
    return [f"{h.testimony}/{h.passage}" for h in results.hits]


# --- languages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("escape", "officer-en/escape"),  # stemmed: escaped
        ("refusing", "officer-en/leave-refused"),  # refused
        ("ушел", "deserter-ru/p-"),  # ё/е folded, inflection
        ("ушёл самоволки", "deserter-ru/p-"),
        ("отпуска", "deserter-ru/p-"),  # отпуск
        ("дезертир", "deserter-ru/p-"),  # Дезертиров
        ("відпустка", "soldier-uk/p-"),  # відпустку (lemma)
        ("втекти", "soldier-uk/p-"),  # втік: stem changes, the lemma joins them
        ("п'ять", "soldier-uk/p-"),  # typographic apostrophe in the text
        ("пʼять", "soldier-uk/p-"),  # modifier-letter apostrophe in the query
        ("ПЯТЬ", None),  # a different word: no match
    ],
)
def test_inflected_queries_find_their_language(ix, query, expected):
    results = timed_search(ix, query)
    if expected is None:
        assert results.total == 0 or not any("soldier-uk" in k for k in keys(results))
        return
    assert results.total >= 1
    assert keys(results)[0].startswith(expected), keys(results)


def test_a_query_finds_only_the_language_whose_words_it_uses(ix):
    english = timed_search(ix, "leave")
    assert {h.language for h in english.hits} == {"en"}
    russian = timed_search(ix, "отпуск")
    assert {h.language for h in russian.hits} == {"ru"}
    both = timed_search(ix, "отпуск OR відпустку")
    assert {h.language for h in both.hits} == {"ru", "uk"}


def test_phrase_requires_adjacent_words(ix):
    assert keys(timed_search(ix, '"sent home"')) == ["officer-en/sent-home"]
    assert timed_search(ix, '"home sent"').total == 0
    # Typographic quotes work too.
    assert keys(timed_search(ix, "“sent home”")) == ["officer-en/sent-home"]


def test_longer_phrases_need_every_word_in_order(tmp_path):
    # Both word pairs of "read and write" are in the second passage, but not
    # in a row: a phrase is more than its pairs.
    index = index_one(
        tmp_path,
        "school",
        "She taught us to read and write at night.\n{: #taught }\n\n"
        "We could read and count, and write nothing down.\n{: #apart }\n\n"
        "Write and read, read and write: that was the lesson.\n{: #twice }\n",
    )
    results = search(index, '"read and write"')
    assert sorted(keys(results)) == ["school/taught", "school/twice"]
    assert search(index, '"write and read"').total == 1
    assert search(index, '"read and then write"').total == 0
    twice = next(h for h in results.hits if h.passage == "twice")
    assert twice.snippet.count("<mark>") == 1
    assert "<mark>read and write</mark>" in twice.snippet


def test_phrase_scores_by_how_often_the_phrase_occurs(tmp_path):
    index = index_one(
        tmp_path,
        "house",
        "The big house had a big porch and a house dog.\n{: #words }\n\n"
        "The big house, the big house, always the big house.\n{: #phrase }\n",
    )
    assert keys(search(index, '"big house"')) == ["house/phrase", "house/words"]


def test_all_words_must_match_and_or_widens(ix):
    both = ["patrol-1937/" + _pid(ix, "creek")]
    assert keys(search(ix, "patrollers creek", mode="all")) == both
    # Best match lists it first; passages with one of the words only fill the page after it.
    loose = search(ix, "patrollers creek")
    assert keys(loose)[:1] == both and all(h.missing for h in loose.hits[1:])
    widened = timed_search(ix, "creek OR winter")
    assert widened.total == 2
    narrowed = timed_search(ix, "patrollers -creek")
    assert "creek" not in " ".join(h.snippet for h in narrowed.hits)
    assert narrowed.total == 3


def _pid(ix, word: str) -> str:
    hit = search(ix, word).hits[0]
    return hit.passage


def test_prefix_matches_word_beginnings(ix):
    results = timed_search(ix, "patrol*")
    # Three passages say "patrollers"; a fourth matches only by its testimony's
    # title, and that testimony is listed already: it is not listed again.
    assert results.total == 3
    marked = [h for h in results.hits if "<mark>patrollers</mark>" in h.snippet.lower()]
    assert len(marked) == 3
    ukrainian = timed_search(ix, "відпуст*")  # the title matches too: one passage
    assert [h.snippet.count("<mark>") for h in ukrainian.hits] == [1]


# --- highlights, anchors, URLs ------------------------------------------------------------


def test_snippets_escape_html_and_mark_the_matched_words(ix):
    results = timed_search(ix, "script signed")
    hit = results.hits[0]
    assert hit.passage == "medic"
    assert "<script>" not in hit.snippet
    assert "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;" in hit.snippet
    assert "&amp; then <mark>signed</mark>" in hit.snippet
    # Only <mark> tags are real tags; the rest is the stored text, escaped.
    text = html.unescape(re.sub(r"</?mark>", "", hit.snippet))
    assert text == "The medic wrote <script>alert(1)</script> & then signed the paper."


def test_stemmed_matches_are_marked_whole(ix):
    hit = timed_search(ix, "escape dog").hits[0]
    assert "<mark>escaped</mark>" in hit.snippet
    assert "<mark>dogs</mark>" in hit.snippet
    assert "<mark>" not in hit.snippet.replace("<mark>escaped</mark>", "").replace(
        "<mark>dogs</mark>", ""
    )


def test_phrase_marks_only_the_phrase(ix):
    hit = timed_search(ix, '"the commander"').hits[0]
    assert hit.snippet.count("<mark>") == 1
    assert "<mark>the commander</mark>" in hit.snippet


def _mark_list(raw: list[tuple[int, int, int]], one_group: bool) -> list:
    marks = (highlight.Mark(s, s + n, 0 if one_group else g) for s, n, g in raw)
    return sorted(marks, key=lambda m: (m.start, -m.end))


# Marks anywhere, and on a grid of tens, where they end right at a window's edge.
_marks = st.builds(
    _mark_list,
    st.lists(
        st.tuples(
            st.integers(0, 900) | st.integers(0, 90).map(lambda x: x * 10),
            st.integers(1, 40) | st.integers(1, 4).map(lambda x: x * 10),
            st.integers(0, 2),
        ),
        max_size=12,
    ),
    st.booleans(),
)


def _window_by_scanning_everything(marks):
    """The rule _choose_window follows, checked window by window over every mark."""
    best = None
    for i, m in enumerate(marks):
        lo = max(0, m.start - highlight.SNIPPET_LEAD)
        hi = lo + highlight.SNIPPET_CHARS
        inside = [x for x in marks[i:] if x.end <= hi]
        key = (len({x.group for x in inside}), len(inside), -lo)
        best = key if best is None or key > best else best
    return -best[2]


@settings(max_examples=600, deadline=None)
@given(marks=_marks, extra=st.integers(0, 50))
# The second mark ends right where the first window does: that window holds two.
@example(marks=_mark_list([(450, 30, 0), (230, 20, 0), (390, 20, 0)], True), extra=0)
def test_snippet_window_is_the_one_holding_most_matched_words(marks, extra):
    """The window holds the most matched groups, then the most marks, then starts first."""
    text = "w " * ((max((m.end for m in marks), default=0) + extra) // 2 + 200)
    lo, hi = highlight.choose_window(text, marks)
    if marks:
        start = _window_by_scanning_everything(marks)
        if start + highlight.SNIPPET_CHARS >= len(text):
            start = max(0, len(text) - highlight.SNIPPET_CHARS)
        assert start - 1 <= lo <= start + 1  # moved to a word boundary
    assert 0 <= lo < hi <= len(text) and hi - lo <= highlight.SNIPPET_CHARS + 1


@settings(max_examples=300, deadline=None)
@given(marks=_marks)
def test_anchor_span_is_the_shortest_run_covering_every_group(marks):
    lo, hi = 0, 1000
    span = highlight.anchor_span(marks, lo, hi)
    if not marks:
        assert span is None
        return
    groups = {m.group for m in marks}
    runs = [  # every run of consecutive marks that holds every group
        (marks[i].start, max(m.end for m in marks[i : j + 1]))
        for i in range(len(marks))
        for j in range(i, len(marks))
        if {m.group for m in marks[i : j + 1]} == groups
    ]
    shortest = min(b - a for a, b in runs)
    if shortest > highlight.MAX_ANCHOR_CHARS:
        assert span == (marks[0].start, marks[0].end)
    else:
        assert span[1] - span[0] == shortest and span in runs


def test_hit_anchor_points_at_the_matched_words_in_the_public_text(ix, archive_config):
    archive = load_archive(archive_config.testimonies)
    for query in ("escape forest", "refused", "отпуск", '"sent home"', "втік"):
        hit = timed_search(ix, query).hits[0]
        text = public_text(archive.testimonies[hit.testimony])
        assert hit.anchor is not None, query
        assert text[hit.anchor.start : hit.anchor.end] == hit.anchor.exact
        assert hit.anchor.prefix == text[max(0, hit.anchor.start - 32) : hit.anchor.start]
        assert hit.anchor.suffix == text[hit.anchor.end : hit.anchor.end + 32]
        assert hit.url == urls.testimony_url(hit.testimony, hit.passage, hit.anchor, "")
    hit = timed_search(ix, "escape forest").hits[0]
    assert hit.anchor.exact == "escaped through the forest"
    assert hit.url.startswith("/t/officer-en/?a=") and "#escape:~:text=" in hit.url


def test_neighbouring_passages_are_read_in_place(ix, monkeypatch):
    """A testimony's passages sit in a row in the index, and the stored passage
    count says which is last: the quote check reads on into a neighbour without
    a lookup query."""

    def no_lookup(*args, **kwargs):
        raise AssertionError("a neighbour was looked up by query")

    with ix.searching() as searcher:
        reader = searcher.reader()
        docs = [(d, reader.stored_fields(d)) for d in reader.all_doc_ids()]
        monkeypatch.setattr(opened.wq, "NumericRange", no_lookup)
        for d, fields in docs:
            position, count = fields["position"], fields["passages"]
            before = opened.neighbour(searcher, d, fields, -1)
            after = opened.neighbour(searcher, d, fields, +1)
            assert (before is None) == (position == 0)
            assert (after is None) == (position == count - 1)
            for other, step in ((before, -1), (after, +1)):
                if other is not None:
                    assert other["testimony"] == fields["testimony"]
                    assert other["position"] == position + step
    assert any(f["passages"] > 1 for _, f in docs)


def test_term_lookups_are_remembered_within_one_search_only(ix):
    search(ix, "escaped forest")
    with ix.searching() as searcher:
        tables = [sub.reader()._terms._tindex for sub, _ in searcher.leaf_searchers()]
        assert tables and all(t._lookups == {} for t in tables)  # emptied as a search starts
        searcher.reader().doc_frequency("text_en", "forest")
        assert any(t._lookups for t in tables)
    assert keys(search(ix, "escaped forest")) == keys(search(ix, "forest escaped"))


def test_base_url_is_used_for_links(ix):
    hit = timed_search(ix, "creek", base_url="https://example.org/archive/").hits[0]
    assert hit.url.startswith("https://example.org/archive/t/patrol-1937/")


def test_long_passages_get_a_window_around_the_words(tmp_path):
    filler = " ".join(f"word{i}" for i in range(200))
    index = index_one(tmp_path, "long", f"{filler} the needle is here. {filler}\n")
    hit = search(index, "needle").hits[0]
    assert "<mark>needle</mark>" in hit.snippet
    assert hit.snippet.startswith("\u2026") and hit.snippet.endswith("\u2026")
    assert len(html.unescape(re.sub(r"</?mark>", "", hit.snippet))) < 300


# --- facets, filters, dates, sorting, pages ---------------------------------------------------


def test_facets_count_the_whole_result_set(ix):
    results = timed_search(ix, "patrollers", per_page=1)
    assert results.total == 3 and len(results.hits) == 1
    facets = dict((k, dict(v)) for k, v in results.facets.items())
    assert facets["language"] == {"en": 3}
    assert facets["decade"] == {"1930s": 2}
    assert facets["place"] == {"Mobile, Alabama": 1, "Oakgrove, Alabama": 1}
    assert results.facets["place"] == [("Mobile, Alabama", 1), ("Oakgrove, Alabama", 1)]
    escape = timed_search(ix, "escape").facets
    for values in escape.values():  # most frequent first, then by value
        assert values == sorted(values, key=lambda kv: (-kv[1], kv[0]))
    themed = dict(escape["theme"])
    assert themed["escape-abroad"] == 1
    assert themed["furlough"] == 1  # testimony-level theme
    assert "leaving-service" in themed  # the broader theme counts too


def test_filters_narrow_the_results(ix):
    assert timed_search(ix, "", filters={"language": "ru"}).total == 2
    assert timed_search(ix, "", filters={"language": ["ru", "uk"]}).total == 4
    assert timed_search(ix, "patrollers", filters={"place": "Mobile, Alabama"}).total == 1
    assert timed_search(ix, "", filters={"decade": "1930s"}).total == 3
    # theme filters match narrower themes: escape-abroad is under leaving-service
    assert "officer-en/escape" in keys(
        timed_search(ix, "", filters={"theme": "leaving-service"}, per_page=100)
    )
    with pytest.raises(QueryError, match="unknown filter"):
        search(ix, "x", filters={"colour": "red"})


def test_query_filters(ix):
    # A testimony-level theme: one line for the testimony, no passage.
    themed = timed_search(ix, "theme:desertion")
    assert [(g.testimony, g.hits, g.matched_on) for g in themed.groups] == [
        ("deserter-ru", (), ("themes",))
    ]
    assert timed_search(ix, "lang:uk").total == 2
    assert timed_search(ix, "patrollers place:mobile").total == 1
    assert timed_search(ix, 'place:"kharkiv region" escape').total == 1
    assert timed_search(ix, "narrator:ivan").total >= 5
    assert timed_search(ix, "theme:no-such-theme").total == 0


def test_browse_lists_passages_without_scores_or_anchors(ix):
    results = timed_search(ix, "", filters={"language": "uk"})
    assert results.total == 2
    assert all(h.score is None and h.anchor is None for h in results.hits)
    assert all(h.snippet and "<mark>" not in h.snippet for h in results.hits)


@pytest.mark.parametrize(
    ("query", "testimonies"),
    [
        ("date:1937", {"patrol-1937"}),
        ("date:1937-05", {"patrol-1937"}),
        ("date:1937-06", set()),
        ("date:1937..1938", {"patrol-1937", "patrol-1938"}),
        ("date:1938-02-01", {"patrol-1938"}),
        ("date:..1999", {"patrol-1937", "patrol-1938"}),
        ("date:2022..", {"officer-en", "deserter-ru", "soldier-uk"}),
    ],
)
def test_date_ranges(ix, query, testimonies):
    results = timed_search(ix, query, per_page=100)
    assert {h.testimony for h in results.hits} == testimonies


def test_sort_by_date_oldest_first_undated_last(ix):
    results = timed_search(ix, "patrollers", sort="date")
    assert [h.testimony for h in results.hits] == ["patrol-1937", "patrol-1938", "undated-en"]
    assert all(h.score is None for h in results.hits)
    everything = timed_search(ix, "", sort="date", per_page=100)
    dated = [h.date for h in everything.hits if h.date]
    assert dated == sorted(dated) and len(dated) < len(everything.hits)
    assert everything.hits[-1].date is None


def test_relevance_puts_the_best_passage_first(ix):
    results = timed_search(ix, "patrollers caught")
    assert results.hits[0].passage == _pid(ix, "creek")
    scores = [h.score for h in results.hits]
    assert scores == sorted(scores, reverse=True)


def test_pagination(ix):
    first = timed_search(ix, "patrollers", per_page=2, page=1)
    second = timed_search(ix, "patrollers", per_page=2, page=2)
    assert first.total == second.total == 3
    assert not set(keys(first)) & set(keys(second))
    beyond = timed_search(ix, "patrollers", per_page=2, page=9)
    assert beyond.hits == () and beyond.past_end and beyond.total == 3
    assert beyond.as_dict()["past_end"] is True
    for bad in (0, -1):
        with pytest.raises(QueryError, match="page"):
            search(ix, "patrollers", page=bad)
    with pytest.raises(QueryError, match="per_page"):
        search(ix, "patrollers", per_page=1000)
    with pytest.raises(QueryError, match="sort"):
        search(ix, "patrollers", sort="random")


def test_groups_collect_hits_by_testimony(ix):
    results = timed_search(ix, "patrollers")
    groups = {g.testimony: [h.passage for h in g.hits] for g in results.groups}
    assert len(groups["patrol-1937"]) == 1  # its other passage matches only by title
    assert sum(len(g.hits) for g in results.groups) == len(results.hits)
    assert results.groups[0].title


def test_json_shape(ix):
    data = timed_search(ix, "escape", per_page=5).as_dict()
    for key in ("query", "total", "page", "per_page", "hits", "groups", "facets", "suggestion"):
        assert key in data
    hit = data["hits"][0]
    for key in ("testimony", "passage", "title", "narrator", "date", "language", "score",
                "snippet", "url", "anchor"):  # fmt: skip
        assert key in hit
    assert set(data["facets"]) == {"theme", "language", "place", "decade"}
    assert all(isinstance(v, list) and len(v) == 2 for v in data["facets"]["language"])
    assert hit["anchor"]["exact"] == "escaped"


# --- typos and "did you mean" --------------------------------------------------------------------


def test_typo_tolerance_and_suggestion(ix):
    results = timed_search(ix, "commandr")  # 8 letters: up to 2 edits
    assert results.total >= 1
    assert results.suggestion == "commander"
    assert results.corrections == {"commandr": ("commander",)}
    assert results.showing == "commander" and results.search_instead == "+commandr"
    assert "<mark>commander</mark>" in results.hits[0].snippet
    russian = timed_search(ix, "самаволку")
    assert russian.total == 1 and russian.suggestion == "самоволку"


def test_short_words_are_not_corrected_but_suggested(ix):
    results = timed_search(ix, "lave")
    assert results.total == 0
    assert results.suggestion == "leave"
    assert timed_search(ix, "lve").suggestion is None


def test_suggestion_keeps_the_rest_of_the_query(ix):
    results = timed_search(ix, 'forrest "sent home" -creek')
    assert results.suggestion == 'forest "sent home" -creek'


# --- limits and hostile input ------------------------------------------------------------------

HOSTILE = [
    "*a*",
    "*",
    "a*",
    "ab*",
    "~5",
    "word~9",
    "x" * 100_000,
    "leave " * 1700,
    "(" * 2000 + "leave" + ")" * 2000,
    "(((((((((leave)))))))))",
    "leave\x00commander",
    "leave\x07",
    "theme:",
    "date:",
    "date:1938..1937",
    "date:19x",
    "lang:",
    "foo:bar",
    '"unclosed phrase',
    "(unbalanced",
    "unbalanced)",
    "wo?d",
    "?",
    "OR",
    "NOT",
    "-",
    "a OR OR b",
    " ".join(f"w{i}" for i in range(40)),
    "x" * 65,
    "\ud800",
    "patrol*" * 10,
    "*" * 400,
]


@pytest.mark.parametrize("query", HOSTILE, ids=lambda q: repr(q[:20]) + f"-{len(q)}")
def test_hostile_queries_fail_clearly_or_finish_in_time(ix, query):
    start = time.perf_counter()
    try:
        results = search(ix, query)
    except QueryError as exc:
        assert str(exc) and "Traceback" not in str(exc)
    else:
        # A consistent first page: as many hits as the total allows, no facet above it.
        assert results.timed_out or len(results.hits) == min(results.total, results.per_page)
        assert all(n <= results.total for values in results.facets.values() for _, n in values)
    assert time.perf_counter() - start < LIMIT_SECONDS


def test_limits_are_explained(ix):
    cases = {
        "x" * 100_000: "over the limit of 500",
        "(" * 9 + "a" + ")" * 9: "nested more than 8",
        " ".join(f"w{i}" for i in range(33)): "over the limit of 32",
        "y" * 65: "longer than the limit of 64",
        "*a*": "cannot start a word",
        "ab*": "at least 3 letters",
        "word~9": "not supported",
        "wo?d": "not supported",
        "a\x00b": "control character",
        "theme:": "needs a value",
        '"open': "never closed",
        "(open": "never closed",
    }
    for query, message in cases.items():
        with pytest.raises(QueryError, match=re.escape(message)) as info:
            search(ix, query)
        assert info.value.hint, query


def test_unknown_field_is_searched_as_words_with_a_notice(ix):
    results = timed_search(ix, "escaped:forest")
    assert results.total == 1
    assert any("not a filter" in n for n in results.notices)


def test_time_limit_returns_partial_results_flagged(ix):
    # A zero limit fires as soon as the timer thread runs; a tiny switch
    # interval makes that happen while matches are still being collected.
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        results = search(ix, "", time_limit=0.0)
    finally:
        sys.setswitchinterval(old)
    assert results.timed_out
    assert results.as_dict()["timed_out"] is True
    assert results.as_dict()["total_is_lower_bound"] is True  # "at least N", never exact
    assert search(ix, "").as_dict()["total_is_lower_bound"] is False
    assert any("stopped after" in n for n in results.notices)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.one_of(
        st.text(max_size=120),
        st.lists(
            st.sampled_from(
                ["leave", "отпуск", "(", ")", '"', "OR", "NOT", "-", "*", "patrol*", "~2",
                 "theme:", "date:1937..", "lang:ru", ":", "?", "\\", "«", "»", "AND", "a*"]
            ),
            max_size=30,
        ).map(" ".join),
    )
)  # fmt: skip
def test_any_query_gives_results_or_query_error_in_time(ix, text):
    start = time.perf_counter()
    with contextlib.suppress(QueryError):
        search(ix, text)
    assert time.perf_counter() - start < LIMIT_SECONDS


# --- matching: the same documents, scores and order as Whoosh's collectors --------------------

# Queries over the module's archive: words in three languages, phrases (with a
# stop word), prefixes, typos, filters, dates, negation, OR, and browsing.
EQUIVALENCE_QUERIES = [
    "", "patrollers", "leave", "the", "escape forest", '"the commander"', '"sent home"',
    '"home sent"', "patrol*", "refus*", "patrolers", "commandr", "creek OR winter OR leave",
    "patrollers -creek", "-patrollers", '"the patrollers" -"the creek"', "leave OR -the",
    "отпуск", "ушёл самоволки", "відпустку", "відпуст*", "отпуск OR відпустку",
    "theme:desertion", "lang:uk", "patrollers place:mobile", 'place:"kharkiv region" escape',
    "narrator:ivan", "date:1937..1938 patrollers", "date:..1937", "(leave OR escape) -forest",
]  # fmt: skip


def _whoosh_ranking(searcher, query, order: str) -> tuple[list, int]:
    """What Whoosh's own collector for ``order`` finds, in its order (stock phrase matcher)."""
    stock = query.accept(
        lambda q: (
            wq.Phrase(q.fieldname, q.words, slop=q.slop, boost=q.boost)
            if isinstance(q, fastpath.Phrase)
            else q
        )
    )
    if order == "date":
        collector = searcher.collector(limit=None, sortedby=queries.DATE_ORDER)
    elif order == "relevance":
        collector = searcher.collector(limit=None)
    else:
        collector = searcher.collector(limit=None, scored=False)
    searcher.search_with_collector(stock, collector)
    results = collector.results()
    return [tuple(item) for item in results.top_n], len(results)


def assert_matches_like_whoosh(index: SearchIndex, queries: list[str]) -> int:
    """Every match, exact score and place in the order, for every query and order."""
    compared = 0
    with index.searching() as searcher:
        for text in queries:
            compiled = compiling.compile_query(parsing.parse_query(text), searcher)
            orders = ["index", "date"] + (["relevance"] if compiled.scored else [])
            for order in orders:
                expected, total = _whoosh_ranking(searcher, compiled.query, order)
                found = matching.match(
                    index, searcher, compiled.query, order, 0, max(total, 1), 60.0
                )
                page = found.page if order != "index" else [(None, d) for d in found.docs]
                assert found.total == total, (text, order)
                assert sorted(found.docs) == sorted(d for _, d in expected), (text, order)
                assert [tuple(item) for item in page] == expected, (text, order)
                # A page of the ranking is that part of it (the best k kept as they come).
                for first, count in ((0, 1), (0, 3), (2, 5), (total - 1, 2)):
                    if order != "index" and 0 <= first < total:
                        part = matching.match(
                            index, searcher, compiled.query, order, first, count, 60.0
                        )
                        assert part.total == total, (text, order, first)
                        wanted = expected[first : first + count]
                        assert [tuple(item) for item in part.page] == wanted, (text, order, first)
                compared += 1
    return compared


def test_matching_finds_and_ranks_as_whoosh_does(ix):
    assert assert_matches_like_whoosh(ix, EQUIVALENCE_QUERIES) > 60


def test_matching_across_segments_of_a_real_corpus(tmp_path):
    corpus = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "wpa"
    if not corpus.is_dir():
        pytest.skip(f"shared corpus not found at {corpus}")
    directory = tmp_path / "wpa"
    directory.mkdir()
    files = sorted(corpus.glob("*.md"))[::40][:30]
    for path in files:
        (directory / path.name).write_bytes(path.read_bytes())
    config = resolve_config(testimonies=directory, index=tmp_path / "index")
    build_index(config, full=True)
    for path in files[:2]:  # an update adds a segment
        target = directory / path.name
        target.write_text(
            target.read_text(encoding="utf-8") + "\n\nThe white folks read and write.\n",
            encoding="utf-8",
        )
    build_index(config)
    queries = [
        "slave", "the", "master OR mistress OR overseer", '"white folks"', '"read and write"',
        '"the big house"', '"jumped the broom"', '"of the"', "cotton -field", "church baptized",
        "whip*", "marsters", "-the", '"white folks" -"big house"', "freedom lincoln",
    ]  # fmt: skip
    with open_search_index(config.public_index) as index:
        with index.searching() as searcher:
            assert len(searcher.leaf_searchers()) > 1
        assert assert_matches_like_whoosh(index, queries) >= 40
        # Phrases find exactly the passages whose words, analysed afresh from
        # the stored text, hold the phrase's terms in a row.
        with index.searching() as searcher:
            reader = searcher.reader()
            passages = {
                d: analyze(fields["text"], fields["language"]) for d, fields in reader.iter_docs()
            }
            # Hits read stored fields past Whoosh's per-key schema check: the same dicts.
            for d in range(reader.doc_count_all()):
                if not reader.is_deleted(d):
                    assert fastpath.stored_fields(reader, d) == reader.stored_fields(d)
            for phrase in ('"white folks"', '"read and write"', '"the big house"', '"of the"',
                           '"jumped the broom"', '"i was born"', '"my mother and father"'):  # fmt: skip
                wanted = analyze(phrase.strip('"'), "en")
                expected = {
                    d
                    for d, terms in passages.items()
                    if any(terms[i : i + len(wanted)] == wanted for i in range(len(terms)))
                }
                found = matching.match(
                    index, searcher, compiling.compile_query(parsing.parse_query(phrase), searcher).query,
                    "index", 0, 1, 60.0,
                )  # fmt: skip
                assert set(found.docs) == expected, phrase
                assert expected, phrase


def test_negation_excludes_the_first_candidate_too(tmp_path):
    # Whoosh's AndNotMatcher never checks the first document of the kept side
    # when the excluded side starts earlier: "mill -river" listed a passage
    # with "river" in it.
    index = index_one(
        tmp_path,
        "mill-story",
        "The river was cold that spring.\n{: #cold }\n\n"
        "The mill stood by the river.\n{: #by-the-river }\n\n"
        "The mill was closed in winter.\n{: #closed }\n",
    )
    results = search(index, "mill -river")
    assert keys(results) == ["mill-story/closed"]
    assert results.total == 1


# --- what must never leave the archive ----------------------------------------------------------


def _everything(results, typed: str = "") -> str:
    """All a result says, less the echo of what the person typed."""
    import json

    data = results.as_dict()
    del data["query"]
    # Echoes of the typed words too: which of them no text holds, and the query as typed.
    data["unknown"] = [w for w in data["unknown"] if w.lower() not in typed.lower()]
    data["search_instead"] = None
    blob = json.dumps(data, ensure_ascii=False).lower()
    for word in typed.lower().replace('"', " ").replace("*", " ").split():
        blob = blob.replace(f"'{word}'", "")
    return blob


@pytest.mark.parametrize("canary", sorted(CANARIES.values()))
def test_canaries_never_appear_in_public_results(ix, canary):
    word = canary.lower()
    for query in (canary, canary[:4] + "*", f'"{canary}"', canary[:-1] + "x", canary[:-2]):
        results = timed_search(ix, query)
        assert results.total == 0, query
        assert word not in _everything(results, query)
        assert results.suggestion is None or word not in results.suggestion.lower()
    everything = timed_search(ix, "", per_page=100)
    assert word not in _everything(everything)
    for query in ("commander", "refused leave", "furlough", "border", "river"):
        assert word not in _everything(timed_search(ix, query, per_page=100))


def test_restricted_testimonies_are_not_in_facets_or_browse(ix):
    results = timed_search(ix, "", per_page=100)
    testimonies = {h.testimony for h in results.hits}
    assert "closed-restricted" not in testimonies and "later-embargoed" not in testimonies
    places = [v for v, _ in results.facets["place"]]
    assert CANARIES["restricted_place"] not in places


def test_private_index_is_for_the_archivist_only(archive_config):
    runner = CliRunner()
    base = ["--testimonies", str(archive_config.testimonies), "--index", str(archive_config.index)]
    public = runner.invoke(main, [*base, "search", CANARIES["restricted"], "--json"])
    assert public.exit_code == 0, public.output
    assert '"total": 0' in public.output
    private = runner.invoke(
        main, [*base, "search", CANARIES["restricted"], "--json", "--include-restricted"]
    )
    assert private.exit_code == 0, private.output
    assert '"total": 1' in private.output
    inline = runner.invoke(
        main, [*base, "search", CANARIES["inline"], "--json", "--include-restricted"]
    )
    [hit] = json.loads(inline.output)["hits"]
    # Found, but never as a shareable link carrying the redacted words.
    assert hit["anchor"] is None and CANARIES["inline"] not in hit["url"]


# --- CLI -------------------------------------------------------------------------------------------


def _cli(archive_config, *args):
    base = ["--testimonies", str(archive_config.testimonies), "--index", str(archive_config.index)]
    return CliRunner().invoke(main, [*base, *args])


def test_cli_search_text_marks_words_in_brackets(archive_config):
    result = _cli(archive_config, "search", "escape forest")
    assert result.exit_code == 0, result.output
    assert "[escaped] through the [forest]" in result.output
    assert "<mark>" not in result.output
    assert "/t/officer-en/" in result.output


def test_cli_search_json_and_options(archive_config):
    import json

    result = _cli(archive_config, "search", "patrollers", "--json", "--limit", "1", "--page", "2",
                  "--sort", "date", "--lang", "en")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["per_page"] == 1 and data["page"] == 2 and data["sort"] == "date"
    assert data["filters"] == {"language": ["en"]}
    assert len(data["hits"]) == 1


def test_cli_search_errors_without_traceback(archive_config):
    result = _cli(archive_config, "search", "*a*")
    assert result.exit_code == 1
    assert "Error:" in result.output and "Traceback" not in result.output
    missing = CliRunner().invoke(main, ["--index", "/nonexistent/index", "search", "x"])
    assert missing.exit_code == 1 and "archive index" in missing.output


def test_cli_search_help_has_examples():
    result = CliRunner().invoke(main, ["search", "--help"])
    assert result.exit_code == 0 and "Examples" in result.output


def test_a_long_phrase_checks_passages_lazily_and_within_the_time_limit(write_testimony, tmp_path):
    """Pairs that often stand together but seldom in a row ("the same" and "of the") make
    Whoosh's matchers walk many candidates through the phrase check: it must neither run
    while matchers are merely built nor outlast the search's time limit."""
    body = "\n\n".join(f"The same {i} of the river, said the same of the road." for i in range(40))
    write_testimony("pairs", body + "\n\nAnd one of the same kind.\n")
    config = resolve_config(testimonies=write_testimony.directory, index=tmp_path / "index")
    build_index(config)
    with open_search_index(config.public_index) as index, index.searching() as searcher:
        phrase = queries.InRow(
            wq.And([wq.Term("pairs_en", "of the"), wq.Term("pairs_en", "the same")]),
            ["of", "the", "same"],
        )
        sub = next(iter(searcher.leaf_searchers()))[0]
        calls = []
        check = phrase.matcher(sub).check
        matcher = queries.InRowMatcher(
            phrase.child.matcher(sub), lambda d: calls.append(d) or check(d)
        )
        assert calls == []  # built, not yet walked
        assert [sub.stored_fields(d)["text"] for d in matcher.all_ids()] == [
            "And one of the same kind."
        ]
        assert len(calls) == 41
        token = queries.DEADLINE.set(time.perf_counter() - 1)  # already past
        try:
            late = phrase.matcher(sub).check
            with pytest.raises(queries.OutOfTime):
                for d in range(queries.CHECK_EVERY):
                    late(d % sub.doc_count_all())
        finally:
            queries.DEADLINE.reset(token)
    hits = search(config.public_index, '"one of the same"').hits
    assert [h.snippet for h in hits] == ["And <mark>one of the same</mark> kind."]
