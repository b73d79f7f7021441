"""The query grammar: what each piece of syntax means, and every limit refused clearly."""

from __future__ import annotations

import re
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.errors import QueryError
from archive.query import (
    MAX_DEPTH,
    MAX_QUERY_CHARS,
    MAX_TERMS,
    MAX_TOKEN_CHARS,
    And,
    DateRange,
    Filter,
    Not,
    Or,
    Phrase,
    Prefix,
    Word,
    parse_query,
)


def tree(text: str):
    return parse_query(text).root


def words(node) -> list[str]:
    """Words of a tree in order, for compact assertions."""
    if isinstance(node, And | Or):
        return [w for c in node.children for w in words(c)]
    if isinstance(node, Not):
        return ["-" + w for w in words(node.child)]
    if isinstance(node, Word):
        return [node.text]
    if isinstance(node, Phrase):
        return [f'"{node.text}"']
    if isinstance(node, Prefix):
        return [node.text + "*"]
    return [repr(node)]


def test_words_all_must_match():
    root = tree("furlough  border")
    assert isinstance(root, And) and words(root) == ["furlough", "border"]
    assert words(tree("furlough AND border")) == words(root)


def test_or_binds_tighter_than_the_implicit_and():
    root = tree("deserter soldier OR officer")
    assert isinstance(root, And)
    assert root.children[0] == Word("deserter", 0, 8)
    assert isinstance(root.children[1], Or) and words(root.children[1]) == ["soldier", "officer"]


def test_lowercase_operators_are_words():
    assert words(tree("leave or stay")) == ["leave", "or", "stay"]
    assert words(tree("not me")) == ["not", "me"]


def test_negation_forms():
    assert tree("-border") == Not(Word("border", 1, 7))
    assert tree("NOT border") == Not(Word("border", 4, 10))
    assert tree("NOT NOT border") == Word("border", 8, 14)
    assert words(tree('leave -"sent home" -(a OR b)')) == ["leave", '-"sent home"', "-a", "-b"]
    assert words(tree("a OR -b")) == ["a", "-b"]
    assert words(tree("self-injury")) == ["self-injury"]  # a hyphen inside a word stays
    assert tree("leave - border") == And((Word("leave", 0, 5), Word("border", 8, 14)))


def test_parentheses_group():
    root = tree("(leave OR furlough) (border OR crossing)")
    assert isinstance(root, And) and all(isinstance(c, Or) for c in root.children)
    assert tree("()") is None
    assert tree("((leave))") == Word("leave", 2, 7)


@pytest.mark.parametrize("text", ['"sent home"', "“sent home”", "„sent home“", "«sent home»"])
def test_phrases_with_any_quotes(text):
    assert tree(text) == Phrase("sent home")


def test_filters():
    assert tree("theme:Furlough") == Filter("theme", "furlough")
    assert tree("themes:furlough") == Filter("theme", "furlough")
    assert tree("lang:RU") == Filter("lang", "ru")
    assert tree("language:uk") == Filter("lang", "uk")
    assert tree("place:kharkiv") == Filter("place", "kharkiv")
    assert tree('place:"new orleans"') == Filter("place", "new orleans", phrase=True)
    assert tree("narrator:andrei") == Filter("narrator", "andrei")


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("date:1937", 19370000, 19371299),
        ("year:1937", 19370000, 19371299),
        ("date:1937-05", 19370500, 19370599),
        ("date:1937-05-12", 19370512, 19370512),
        ("date:1937..1938", 19370000, 19381299),
        ("date:1937-05..1938-02", 19370500, 19380299),
        ("date:..1938", None, 19381299),
        ("date:1937..", 19370000, None),
    ],
)
def test_dates(text, low, high):
    assert tree(text) == DateRange(low, high)


def test_prefix():
    assert tree("escap*") == Prefix("escap")
    assert tree("відпуст*") == Prefix("відпуст")
    assert tree("п'ять*") == Prefix("п'ять")


def test_question_mark_at_the_end_is_punctuation():
    assert tree("where did he go?") == tree("where did he go")
    assert tree("why??") == Word("why", 0, 3)


def test_unknown_field_becomes_words_with_a_notice():
    parsed = parse_query("foo:bar")
    assert words(parsed.root) == ["foo", "bar"]
    assert parsed.notices and "'foo:' is not a filter" in parsed.notices[0]
    assert parse_query("Andrei: hello").notices == ()  # "name:" with nothing after is a word


def test_invisible_characters_are_dropped_and_text_normalised():
    assert tree("furl\u00adough") == Word("furlough", 0, 8)
    assert tree("e\u0301scape") == Word("\u00e9scape", 0, 6)  # NFC
    assert words(tree("leave\tborder\nnow")) == ["leave", "border", "now"]


def test_word_offsets_point_into_the_cleaned_text():
    parsed = parse_query('leave "sent home" furlogh?')
    word = parsed.root.children[-1]
    assert parsed.text[word.start : word.end] == "furlogh"


def test_punctuation_only_is_nothing():
    assert tree("...") is None
    assert tree("") is None
    assert tree("   ") is None


# --- refusals ---------------------------------------------------------------------------

REFUSED = {
    "*a*": "cannot start a word",
    "*": "cannot start a word",
    "**": "cannot start a word",
    "a*": "at least 3 letters",
    "ab*": "at least 3 letters",
    "ab*c": "only at the end",
    "esc*pe": "only at the end",
    "~5": "not supported",
    "word~9": "not supported",
    "word~": "not supported",
    "wo?d": "not supported",
    "?word": "not supported",
    "x" * (MAX_QUERY_CHARS + 1): f"over the limit of {MAX_QUERY_CHARS}",
    "y" * (MAX_TOKEN_CHARS + 1): f"longer than the limit of {MAX_TOKEN_CHARS}",
    "(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1): f"nested more than {MAX_DEPTH}",
    " ".join(f"w{i}" for i in range(MAX_TERMS + 1)): f"over the limit of {MAX_TERMS}",
    '"' + " ".join(f"w{i}" for i in range(MAX_TERMS + 1)) + '"': f"limit of {MAX_TERMS}",
    "a\x00b": "control character",
    "a\x1bb": "control character",
    "a\x7fb": "control character",
    "a\ud800": "unpaired surrogate",
    "theme:": "needs a value",
    "lang:": "needs a value",
    "date:": "needs a value",
    "place:": "needs a value",
    "theme:not_a_slug!": "not a theme slug",
    "lang:english1": "not a language code",
    "date:19x": "not a date",
    "date:1937-13": "no such month",
    "date:1938..1937": "ends before it starts",
    "date:..": "at least one date",
    "place:kh*": "not wildcards",
    '"open phrase': "never closed",
    '"wild* phrase"': "inside a phrase",
    "(open": "never closed",
    "((open)": "never closed",
    "close)": "has no '(' before it",
    "OR a": "OR needs a word on each side",
    "a OR": "OR needs a word on each side",
    "a OR OR b": "OR needs a word on each side",
    "(a OR) b": "OR needs a word on each side",
    "AND a": "AND needs a word before it",
    "a AND": "AND needs a word after it",
    "NOT": "needs a word after it",
    "a -": None,  # a lone dash is punctuation, not an error
}


@pytest.mark.parametrize("text", list(REFUSED), ids=lambda t: repr(t[:24]))
def test_refusals_say_what_is_wrong(text):
    message = REFUSED[text]
    if message is None:
        parse_query(text)
        return
    with pytest.raises(QueryError, match=re.escape(message)):
        parse_query(text)


def test_refusals_are_quick_on_huge_input():
    for text in ("x" * 10_000_000, "(" * 1_000_000, "a " * 1_000_000):
        start = time.perf_counter()
        with pytest.raises(QueryError):
            parse_query(text)
        assert time.perf_counter() - start < 0.5


def test_deep_nesting_within_the_limit_does_not_recurse_deeply():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # far below the default: the parser needs ~4 frames per level
    try:
        root = tree("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH)
        long_or = tree(" OR ".join(["w"] * 30))
    finally:
        sys.setrecursionlimit(limit)
    assert root == Word("a", MAX_DEPTH, MAX_DEPTH + 1)
    assert isinstance(long_or, Or) and len(long_or.children) == 30


def test_non_text_is_refused():
    with pytest.raises(QueryError, match="must be text"):
        parse_query(None)  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="must be text"):
        parse_query(b"leave")  # type: ignore[arg-type]


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=600))
def test_any_text_parses_or_raises_query_error_quickly(text):
    start = time.perf_counter()
    try:
        parsed = parse_query(text)
    except QueryError as exc:
        assert str(exc)
    else:
        assert parsed.text is not None
    assert time.perf_counter() - start < 0.2


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["(", ")", '"', "«", "»", "OR", "AND", "NOT", "-", "a", "bcd*", "theme:x",
             "date:1937", "date:..1938", "lang:en", "place:", "~", "?", "*", ":", "x:y"]
        ),
        max_size=60,
    ).map(" ".join)
)  # fmt: skip
def test_operator_soup_parses_or_raises_query_error(text):
    try:
        parse_query(text)
    except QueryError as exc:
        assert str(exc)
