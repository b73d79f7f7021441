"""Quote anchors must keep landing on the same words after a testimony is edited,
and must say "orphaned" (None) rather than land on the wrong words."""

from __future__ import annotations

import random
import re
import time
from functools import partial
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from archive import urls
from archive.anchors import (
    CONTEXT_CHARS,
    MAX_PARAM_CHARS,
    MAX_QUOTE_CHARS,
    Anchor,
    Match,
    QuoteRef,
    checksum,
    make_anchor,
    parse_param,
    parse_text_fragment,
    resolve_anchor,
    resolve_link,
    resolve_ref,
)
from archive.errors import AnchorError

INTERVIEW = (
    "Interviewer: When did you first ask for leave?\n\n"
    "Officer: In March. I went to the commander and asked for ten days of leave to see "
    "my mother, who was ill in Kharkiv. He refused. He said nobody leaves the brigade "
    "before the rotation, and that I should be ashamed to ask.\n\n"
    "Interviewer: Did you ask again?\n\n"
    "Officer: Yes, twice. The second time he tore up my report in front of the whole "
    "platoon. He refused. After that I stopped asking and wrote to my mother instead.\n"
)

RUSSIAN = (
    "Интервьюер: Когда вы впервые попросили отпуск?\n\n"
    "Офицер: В марте. Я пошёл к командиру и попросил десять дней отпуска, чтобы "
    "навестить маму в Харькове. Он отказал и сказал, что до ротации никто не уедет.\n"
)

UKRAINIAN = (
    "Інтерв'юер: Що було далі?\n\n"
    "Офіцерка: Я подала рапорт утретє. Командир сказав, що м’ясо для кухні важливіше "
    "за мою відпустку, і порвав рапорт при всіх.\n"
)


def anchor_on(text: str, quote: str, nth: int = 0) -> Anchor:
    at = -1
    for _ in range(nth + 1):
        at = text.index(quote, at + 1)
    return make_anchor(text, at, at + len(quote), testimony="t-017", passage="p3")


def landed(anchor: Anchor, text: str) -> str | None:
    match = resolve_anchor(anchor, text)
    return None if match is None else text[match.start : match.end]


SENTENCES = [
    s.strip() + "."
    for s in (INTERVIEW + RUSSIAN + UKRAINIAN).replace("?", ".").replace("\n", " ").split(".")
    if len(s.split()) > 2
]


def _corpus(size: int, seed: int) -> str:
    """About ``size`` characters of interview-like paragraphs (repetitive, like real ones)."""
    rng = random.Random(seed)
    paragraphs = []
    total = 0
    while total < size:
        paragraph = " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(3, 8)))
        paragraphs.append(paragraph)
        total += len(paragraph) + 2
    return "\n\n".join(paragraphs)


# -- making anchors -----------------------------------------------------------


def test_make_anchor_keeps_context_and_ids():
    anchor = anchor_on(INTERVIEW, "asked for ten days of leave")
    assert anchor.exact == "asked for ten days of leave"
    assert len(anchor.prefix) == CONTEXT_CHARS
    assert INTERVIEW[: anchor.start].endswith(anchor.prefix)
    assert INTERVIEW[anchor.end :].startswith(anchor.suffix)
    assert len(anchor.suffix) == CONTEXT_CHARS
    assert anchor.as_dict() == {
        "exact": anchor.exact,
        "prefix": anchor.prefix,
        "suffix": anchor.suffix,
        "start": anchor.start,
        "end": anchor.end,
        "testimony": "t-017",
        "passage": "p3",
        "fragment": "asked%20for%20ten%20days%20of%20leave",
    }


def test_context_is_shorter_at_the_edges_of_the_text():
    anchor = make_anchor("Yes, twice.", 0, 3)
    assert (anchor.prefix, anchor.exact, anchor.suffix) == ("", "Yes", ", twice.")


@pytest.mark.parametrize(
    ("start", "end"),
    [(-1, 3), (3, 3), (5, 2), (0, len(INTERVIEW) + 1), (True, 4), (0, 2.5), ("0", 4)],
)
def test_make_anchor_rejects_bad_offsets(start, end):
    with pytest.raises(AnchorError):
        make_anchor(INTERVIEW, start, end)


def test_make_anchor_rejects_whitespace_and_overlong_quotes():
    with pytest.raises(AnchorError, match="whitespace"):
        make_anchor("a \n\n b", 1, 4)
    long_text = "word " * 1000
    with pytest.raises(AnchorError, match="too long"):
        make_anchor(long_text, 0, MAX_QUOTE_CHARS + 1)
    assert make_anchor(long_text, 0, MAX_QUOTE_CHARS).end == MAX_QUOTE_CHARS


def test_anchor_validates_direct_construction():
    with pytest.raises(AnchorError):
        Anchor(exact="abc", prefix="", suffix="", start=0, end=4)
    with pytest.raises(AnchorError):
        Anchor(exact="", prefix="", suffix="", start=0, end=0)
    with pytest.raises(AnchorError):
        Anchor(exact="abc", prefix="x" * (CONTEXT_CHARS + 1), suffix="", start=40, end=43)
    with pytest.raises(AnchorError):
        Anchor(exact=b"abc", prefix="", suffix="", start=0, end=3)  # type: ignore[arg-type]


# -- resolving ----------------------------------------------------------------


def test_unchanged_text_resolves_at_old_position_with_full_score():
    anchor = anchor_on(INTERVIEW, "asked for ten days of leave")
    assert resolve_anchor(anchor, INTERVIEW) == Match(anchor.start, anchor.end, 1.0)


def test_paragraph_inserted_before_moves_the_anchor():
    anchor = anchor_on(INTERVIEW, "asked for ten days of leave to see my mother")
    preface = "Recorded in Dnipro, 2023. The officer asked us not to use her name.\n\n"
    edited = preface + INTERVIEW
    match = resolve_anchor(anchor, edited)
    assert match is not None
    assert (match.start, match.end) == (anchor.start + len(preface), anchor.end + len(preface))
    assert 0.9 < match.score < 1.0


def test_duplicate_quote_is_chosen_by_context():
    first = anchor_on(INTERVIEW, "He refused.", 0)
    second = anchor_on(INTERVIEW, "He refused.", 1)
    edited = INTERVIEW.replace(
        "Interviewer: Did you ask again?", "Interviewer: Did you ever ask again, after March?"
    )
    shift = len(edited) - len(INTERVIEW)
    assert resolve_anchor(first, edited) == Match(first.start, first.end, 1.0)
    match = resolve_anchor(second, edited)
    assert match is not None and match.start == second.start + shift
    # The first copy is nearer the old offsets but has the wrong context.
    assert abs(first.start - second.start) > shift


def test_duplicate_quote_chosen_by_context_even_when_old_position_holds_a_copy():
    text = "He said no. Then he said no again. Later the commander said yes."
    second = anchor_on(text, "said no", 1)
    edited = "Interview, 2023. " + text
    # The old offsets now hold the *first* copy, with the wrong context.
    assert edited[second.start : second.end] == "said no"
    match = resolve_anchor(second, edited)
    assert match is not None
    assert match.start == second.start + len("Interview, 2023. ")
    assert match.score < 1.0


def test_typo_fix_inside_the_quote_lands_on_the_corrected_words():
    old = INTERVIEW.replace("ill in Kharkiv", "ill in Karkhiv")
    anchor = anchor_on(old, "asked for ten days of leave to see my mother, who was ill in Karkhiv")
    match = resolve_anchor(anchor, INTERVIEW)
    assert match is not None
    assert (
        INTERVIEW[match.start : match.end]
        == "asked for ten days of leave to see my mother, who was ill in Kharkiv"
    )
    assert match.score < 1.0


def test_typo_fix_in_the_last_word_covers_the_whole_word():
    old = INTERVIEW.replace("platoon", "plattoon")
    anchor = anchor_on(old, "he tore up my report in front of the whole plattoon")
    assert landed(anchor, INTERVIEW) == "he tore up my report in front of the whole platoon"


@pytest.mark.parametrize(
    ("quote", "before", "after", "expected"),
    [
        # punctuation
        (
            "He refused. He said nobody leaves",
            "He refused. He said",
            "He refused; he said",
            "He refused; he said nobody leaves",
        ),
        (
            "the rotation, and that I should",
            "rotation, and that",
            "rotation and that",
            "the rotation and that I should",
        ),
        # whitespace: doubled space, line break
        (
            "He refused. He said nobody leaves",
            "nobody leaves",
            "nobody  leaves",
            "He refused. He said nobody  leaves",
        ),
        (
            "He refused. He said nobody leaves",
            "He said nobody",
            "He said\nnobody",
            "He refused. He said\nnobody leaves",
        ),
        # case of a word
        (
            "He refused. He said nobody leaves",
            "He refused. He said",
            "He refused. he said",
            "He refused. he said nobody leaves",
        ),
        # changed final punctuation stays inside the span
        (
            "I should be ashamed to ask.",
            "ashamed to ask.",
            "ashamed to ask!",
            "I should be ashamed to ask!",
        ),
        # case change of the first word
        (
            "the commander and asked for ten days",
            "the commander and",
            "The Commander and",
            "The Commander and asked for ten days",
        ),
        # a quote spanning paragraphs, with a line added between them
        (
            "ashamed to ask.\n\nInterviewer: Did you ask again?",
            "to ask.\n\nInterviewer",
            "to ask.\n\n\nInterviewer",
            "ashamed to ask.\n\n\nInterviewer: Did you ask again?",
        ),
    ],
)
def test_light_edits_land_on_the_edited_span(quote, before, after, expected):
    anchor = anchor_on(INTERVIEW, quote)
    edited = INTERVIEW.replace(before, after, 1)
    assert edited != INTERVIEW
    assert landed(anchor, edited) == expected


def test_typographic_changes_cost_nothing():
    old = 'He said: "nobody leaves the brigade" - and walked out.'
    new = "He said: «nobody leaves the brigade» — and walked out."
    anchor = anchor_on(old, '"nobody leaves the brigade" - and walked')
    assert landed(anchor, new) == "«nobody leaves the brigade» — and walked"


def test_rewritten_first_words_do_not_swallow_the_sentence_before():
    quote = "The second time he tore up my report in front of the whole platoon."
    anchor = anchor_on(INTERVIEW, quote)
    edited = INTERVIEW.replace("The second time he", "Next time he")
    assert landed(anchor, edited) == "Next time he tore up my report in front of the whole platoon."


def test_long_quote_with_several_fixes():
    text = _corpus(30_000, seed=5)
    start = text.index(" ", 12_000) + 1
    anchor = make_anchor(text, start, start + 1500)
    end = start + 1500
    # A word doubled near the start, a letter dropped in the middle, a comma added near the end.
    edited = (
        text[: start + 40] + "the " + text[start + 40 : start + 700] + text[start + 701 : end - 30]
    )
    edited += "," + text[end - 30 :]
    match = resolve_anchor(anchor, edited)
    assert match is not None
    assert (match.start, match.end) == (start, end + len("the ") - 1 + len(","))


@pytest.mark.parametrize(
    ("quoted", "old", "new"),
    [
        pytest.param(
            "he tore up my report in front of the whole platoon",
            "The second time he tore up my report in front of the whole platoon. ",
            "",
            id="deleted-passage",
        ),
        pytest.param(
            "I went to the commander and asked for ten days of leave to see my mother",
            "I went to the commander and asked for ten days of leave to see my mother",
            "My request to the brigade commander for a short visit home was denied",
            id="rewritten-passage",
        ),
        pytest.param(  # orphaned, not stretched over what is left of the sentence
            "He said nobody leaves the brigade before the rotation",
            "He said nobody leaves the brigade before the rotation",
            "His answer was that leave is impossible until rotation",
            id="partly-rewritten-sentence",
        ),
    ],
)
def test_quote_whose_words_are_gone_is_orphaned(quoted, old, new):
    anchor = anchor_on(INTERVIEW, quoted)
    assert old in INTERVIEW
    assert resolve_anchor(anchor, INTERVIEW.replace(old, new)) is None


def test_vanished_short_quote_does_not_match_elsewhere():
    # "He refused." occurs twice; the second one's sentence goes, the other stays.
    anchor = anchor_on(INTERVIEW, "whole platoon. He refused")
    assert anchor.exact == "whole platoon. He refused"
    short = anchor_on(INTERVIEW, "He refused", 1)
    edited = INTERVIEW.replace("platoon. He refused. After", "platoon. After")
    assert resolve_anchor(short, edited) is None
    # A short word that exists elsewhere in the text is not picked up either.
    twice = anchor_on(INTERVIEW, "twice")
    assert resolve_anchor(twice, INTERVIEW.replace("Yes, twice. ", "Yes. ")) is None


def test_vanished_short_quote_with_similar_words_nearby_is_orphaned():
    text = "She refused to go. Later he refused to sign. Then they left."
    anchor = anchor_on(text, "he refused", 1)
    edited = "She refused to go. Later the paper stayed unsigned. Then they left."
    assert resolve_anchor(anchor, edited) is None


def test_a_lone_full_stop_at_the_end_does_not_vouch_for_a_copy():
    text = "Officer: The second time he tore up my report. He refused."
    anchor = anchor_on(text, "He refused")
    assert anchor.suffix == "."
    elsewhere = "Officer: He refused. He left.\n\nEarlier: the second time he tore it up."
    assert resolve_anchor(anchor, elsewhere) is None
    # Text added after it: the quote is still found by its intact prefix.
    appended = text + "\n\nNote: recorded in Dnipro."
    assert resolve_anchor(anchor, appended) == Match(anchor.start, anchor.end, 1.0)


def test_short_quote_follows_its_context():
    anchor = anchor_on(INTERVIEW, "twice")
    edited = "Note: names changed.\n\n" + INTERVIEW
    match = resolve_anchor(anchor, edited)
    assert match is not None and edited[match.start : match.end] == "twice"
    assert match.start == anchor.start + len("Note: names changed.\n\n")


def test_short_quote_light_edit_needs_intact_context():
    anchor = anchor_on(INTERVIEW, "Kharkiv")
    assert landed(anchor, INTERVIEW.replace("Kharkiv", "Kharkіv")) == "Kharkіv"  # Cyrillic і
    anchor = anchor_on(INTERVIEW, "twice")
    assert landed(anchor, INTERVIEW.replace("Yes, twice.", "Yes, Twice.")) == "Twice"


def test_russian_quote_survives_yo_and_typo_edits():
    anchor = anchor_on(RUSSIAN, "Я пошёл к командиру и попросил десять дней отпуска")
    edited = RUSSIAN.replace("пошёл", "пошел").replace("попросил", "попросил ")
    assert landed(anchor, edited) == "Я пошел к командиру и попросил  десять дней отпуска"
    moved = "Запись 2023 года.\n" + RUSSIAN
    match = resolve_anchor(anchor, moved)
    assert match is not None and match.start == anchor.start + len("Запись 2023 года.\n")


def test_ukrainian_quote_with_apostrophe_variants_and_case():
    anchor = anchor_on(UKRAINIAN, "Командир сказав, що м’ясо для кухні важливіше")
    edited = UKRAINIAN.replace("м’ясо", "м'ясо").replace("Командир", "командир")
    assert landed(anchor, edited) == "командир сказав, що м'ясо для кухні важливіше"
    gone = UKRAINIAN.replace(
        "Командир сказав, що м’ясо для кухні важливіше за мою відпустку, і ", ""
    )
    assert resolve_anchor(anchor, gone) is None


def test_empty_and_tiny_texts_are_orphans_not_errors():
    anchor = anchor_on(INTERVIEW, "He refused.")
    assert resolve_anchor(anchor, "") is None
    assert resolve_anchor(anchor, "He") is None
    with pytest.raises(TypeError):
        resolve_anchor(anchor, None)  # type: ignore[arg-type]


def _timed(anchor: Anchor, text: str) -> tuple[float, Match | None]:
    began = time.perf_counter()
    match = resolve_anchor(anchor, text)
    return time.perf_counter() - began, match


def test_resolving_in_a_long_text_is_fast():
    text = _corpus(100_000, seed=3)
    start = text.index(" ", 50_000) + 1
    anchor = make_anchor(text, start, start + 200)
    timings = {"typo": [], "gone": [], "moved": []}
    for run in range(3):
        marker = f"[{run}]"  # a fresh string each run: nothing cached from before
        typo = marker + text[: start + 90] + "x" + text[start + 91 :]
        seconds, match = _timed(anchor, typo)
        timings["typo"].append(seconds)
        assert match is not None and match.start == start + len(marker)
        assert match.end == start + 200 + len(marker)
        gone = marker + text[: start - 40] + text[start + 240 :]
        seconds, match = _timed(anchor, gone)
        timings["gone"].append(seconds)
        seconds, match = _timed(anchor, marker + text)
        timings["moved"].append(seconds)
        assert match is not None and match.start == start + len(marker)
    for kind, seconds in timings.items():
        assert min(seconds) < 0.05, (kind, seconds)


# -- W3C selectors ------------------------------------------------------------


def test_selectors_round_trip():
    anchor = anchor_on(RUSSIAN, "попросил десять дней отпуска")
    selectors = anchor.to_selectors()
    assert selectors == [
        {
            "type": "TextQuoteSelector",
            "exact": anchor.exact,
            "prefix": anchor.prefix,
            "suffix": anchor.suffix,
        },
        {"type": "TextPositionSelector", "start": anchor.start, "end": anchor.end},
    ]
    back = Anchor.from_selectors(selectors, testimony="t-017", passage="p3")
    assert back == anchor


def test_selectors_from_other_tools_are_accepted():
    selectors = [
        {"type": "RangeSelector", "startSelector": {}},
        {"type": "TextPositionSelector", "start": 100, "end": 110},
        {"type": "TextQuoteSelector", "exact": "He refused", "prefix": "x" * 80},
    ]
    anchor = Anchor.from_selectors(selectors)
    assert anchor.prefix == "x" * CONTEXT_CHARS and anchor.suffix == ""
    assert (anchor.testimony, anchor.passage) == (None, None)


@pytest.mark.parametrize(
    "selectors",
    [
        None,
        "TextQuoteSelector",
        42,
        [],
        [{"type": "TextQuoteSelector", "exact": "abc"}],
        [{"type": "TextPositionSelector", "start": 0, "end": 3}],
        [
            {"type": "TextQuoteSelector", "exact": 3},
            {"type": "TextPositionSelector", "start": 0, "end": 1},
        ],
        [
            {"type": "TextQuoteSelector", "exact": "abc"},
            {"type": "TextPositionSelector", "start": "0", "end": 3},
        ],
        [
            {"type": "TextQuoteSelector", "exact": "abc"},
            {"type": "TextPositionSelector", "start": False, "end": 3},
        ],
        [
            {"type": "TextQuoteSelector", "exact": "abc"},
            {"type": "TextPositionSelector", "start": 0, "end": 9},
        ],
        [
            {"type": "TextQuoteSelector", "exact": "abc", "prefix": ["a"]},
            {"type": "TextPositionSelector", "start": 0, "end": 3},
        ],
        [
            {"type": "TextQuoteSelector", "exact": ""},
            {"type": "TextPositionSelector", "start": 0, "end": 0},
        ],
        [{"type": "TextQuoteSelector", "exact": "abc"}] * 2
        + [{"type": "TextPositionSelector", "start": 0, "end": 3}],
        ["TextQuoteSelector"],
        [{}] * 100,
        [
            {"type": "TextQuoteSelector", "exact": "a" * 10**6},
            {"type": "TextPositionSelector", "start": 0, "end": 10**6},
        ],
    ],
)
def test_bad_selectors_raise_anchor_error(selectors):
    with pytest.raises(AnchorError):
        Anchor.from_selectors(selectors)


# -- URL parameter ------------------------------------------------------------


def test_param_is_offsets_and_a_checksum():
    anchor = make_anchor("I asked the colonel for leave, twice.", 2, 23)
    assert anchor.to_param() == f"2-23.{checksum('asked the colonel for')}"
    assert re.fullmatch(r"2-23\.[0-9a-z]{7}", anchor.to_param())
    # Case, typography and ё do not change it; a word does.
    assert checksum("Asked THE colonel") == checksum("asked the colonel")
    assert checksum("«Ёлка» — да") == checksum('"елка" - да')
    assert checksum("asked the general") != checksum("asked the colonel")
    assert parse_param(anchor.to_param()) == QuoteRef(2, 23, checksum("asked the colonel for"))
    assert parse_param(anchor.to_words_param()) == anchor


def test_a_short_link_finds_its_words_at_the_old_place_or_moved():
    text = "I asked the colonel for leave, twice. He said no."
    ref = parse_param(make_anchor(text, 2, 23).to_param())
    assert resolve_ref(ref, text) == Match(2, 23, 1.0)
    moved = resolve_ref(ref, "Then, in March, " + text)
    assert moved is not None and (moved.start, moved.end) == (18, 39) and moved.score < 1.0
    assert resolve_ref(ref, "In March I Asked The Colonel For leave.").score < 1.0  # case only
    assert resolve_ref(ref, "I asked the general for leave, twice.") is None
    assert resolve_ref(ref, "") is None
    twice = "He asked the colonel for tea. " + "x" * 60 + " I asked the colonel for leave."
    again = resolve_ref(parse_param(make_anchor(twice, 93, 114).to_param()), "Oh. " + twice)
    assert again is not None and again.start == 97  # the copy nearest the old offsets
    assert resolve_link(ref, text) == resolve_ref(ref, text)


@pytest.mark.parametrize("param", ["5-5.0000000", "9-3.abcdefg", "0-2001.abcdefg"])
def test_short_links_with_impossible_offsets_are_refused(param):
    with pytest.raises(AnchorError):
        parse_param(param)


def test_words_param_format_is_readable_and_round_trips():
    anchor = make_anchor("I asked the colonel for leave, twice.", 2, 23)
    param = anchor.to_words_param()
    assert param == "2-23~I%20-,asked%20the%20colonel%20for,-%20leave%2C%20twice."
    assert Anchor.from_param(param, testimony="t-1", passage="p2") == Anchor(
        exact="asked the colonel for",
        prefix="I ",
        suffix=" leave, twice.",
        start=2,
        end=23,
        testimony="t-1",
        passage="p2",
    )


@pytest.mark.parametrize(
    "text",
    [
        RUSSIAN,
        UKRAINIAN,
        "a-b,c~d%e&f=g+h#i/j?k\n\tl m\u00a0n 😀 -,-,-",
        "- , - , -",
    ],
)
def test_param_round_trips_special_characters(text):
    for start in range(0, len(text) - 5, 7):
        anchor = make_anchor(text, start, start + 5)
        if not anchor.exact.strip():
            continue
        param = anchor.to_words_param()
        assert set(param) <= set(
            "0123456789-~,%._ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        )
        assert Anchor.from_param(param) == anchor


def test_param_without_context():
    anchor = make_anchor("Yes", 0, 3)
    assert anchor.to_words_param() == "0-3~Yes"
    assert Anchor.from_param("0-3~Yes") == anchor


@pytest.mark.parametrize(
    "param",
    [
        "",
        "garbage",
        "1-4",
        "1-4~",
        "-1-4~abc",
        "4-1~abc",
        "1-5~abc",  # offsets do not fit the quote
        "1-4~a,b,c,d",
        "1-4~abc,",
        "1-4~,abc",
        "1-4~pre-,abc,-suf,-x",
        "1-4~-,abc",
        "1-4~abc,-",
        "1-4~a b",
        "1-4~%zzab",
        "1-4~%FF%FE%FD",
        "1-3~%ED%A0%80",  # an encoded surrogate
        "1-4~a%2",
        "1-4~%20%20%20",  # only whitespace
        "١-٤~abc",  # non-ASCII digits
        "1" * 20 + "-" + "2" * 20 + "~abc",
        "0-3~abc\n",
        "0-3~abc\x00",
        "0-3~a<script>",
        "0-3~abc#frag",
        "0-2001~" + "a" * 2001,
        "0-3~abc" + "," * 10_000,
        "0-3~" + "%41" * (MAX_PARAM_CHARS // 3),
        "x" * (MAX_PARAM_CHARS + 1),
    ],
)
def test_hostile_params_raise_anchor_error(param):
    with pytest.raises(AnchorError):
        Anchor.from_param(param)


@pytest.mark.parametrize("param", [None, 12, b"0-3~abc", ["0-3~abc"]])
def test_non_text_params_raise_anchor_error(param):
    with pytest.raises(AnchorError):
        Anchor.from_param(param)


# -- text fragments -----------------------------------------------------------


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_text_fragment_for_a_short_quote():
    anchor = anchor_on(INTERVIEW, "He refused.")
    value = anchor.to_text_fragment()
    parsed = parse_text_fragment(value)
    assert parsed["start"] == "He refused." and parsed["end"] is None
    # The first "He refused." of the text: no context needed.
    assert INTERVIEW.index("He refused.") == anchor.start
    assert parsed["prefix"] is None and parsed["suffix"] is None
    # '-', ',', '&' and spaces are escaped inside parts.
    assert " " not in value and "&" not in value


def test_text_fragment_escapes_reserved_characters():
    text = "Before: a-b, c&d = e-f, g. After"
    anchor = anchor_on(text, "a-b, c&d = e-f")
    value = anchor.to_text_fragment()
    assert value == "a%2Db%2C%20c%26d%20%3D%20e%2Df"
    assert parse_text_fragment(":~:text=" + value)["start"] == "a-b, c&d = e-f"


def test_text_fragment_uses_range_form_for_long_quotes():
    quote = "I went to the commander and asked for ten days of leave to see my mother, who was ill"
    anchor = anchor_on(INTERVIEW, quote)
    parsed = parse_text_fragment(anchor.to_text_fragment())
    # The fewest words at each end whose first match is the quote's; no context.
    assert (parsed["start"], parsed["end"]) == ("I went", "ill")
    assert _flat(quote).startswith(parsed["start"]) and _flat(quote).endswith(parsed["end"])
    assert parsed["prefix"] is None and parsed["suffix"] is None


def test_text_fragment_range_end_is_the_first_match_after_start():
    text = "Intro. He said no, and then he said no, and then he said no. End."
    anchor = make_anchor(text, 7, text.index(" End"))
    parsed = parse_text_fragment(anchor.to_text_fragment())
    rest = _flat(anchor.exact)[len(parsed["start"]) :]
    assert rest.find(parsed["end"]) == len(rest) - len(parsed["end"])


def test_text_fragment_across_paragraphs_keeps_context_on_the_same_line():
    anchor = anchor_on(INTERVIEW, "ashamed to ask.\n\nInterviewer: Did you")
    parsed = parse_text_fragment(anchor.to_text_fragment())
    assert (parsed["start"], parsed["end"]) == ("ashamed", "you")
    assert parsed["prefix"] is None and parsed["suffix"] is None


def test_text_fragment_adds_the_fewest_context_words_for_a_repeated_quote():
    text = "I said no. Then I said no again, and the colonel said nothing."
    second = text.index("said no", 5)
    parsed = parse_text_fragment(make_anchor(text, second, second + 7).to_text_fragment())
    assert (parsed["prefix"], parsed["start"]) == ("Then I", "said no")
    head = (
        "He went home. " * 3
        + "Later he went home again and again and again until the war was over for all of us here."
    )
    start = head.index("he went home again")
    parsed = parse_text_fragment(make_anchor(head, start, len(head)).to_text_fragment())
    assert (parsed["prefix"], parsed["start"], parsed["end"]) == (
        None, "he went home again", "here.",
    )  # fmt: skip


def test_a_single_long_word_is_a_fragment_of_its_own():
    word = "членовредительство"  # 18 letters, 108 characters encoded
    assert parse_text_fragment(make_anchor(f"Он сказал: {word}", 11, 29).to_text_fragment()) == {
        "prefix": None, "start": word, "end": None, "suffix": None,
    }  # fmt: skip


def test_text_fragment_from_context_alone():
    text = "Unbelievably, the commander said no, said no. " + "x" * 40
    second = text.index("said no", 35)
    made = make_anchor(text, second, second + 7)
    alone = Anchor(**{**made.as_dict(), "fragment": ""})  # judged on its own context
    assert alone.prefix == "ievably, the commander said no, "
    assert alone.to_text_fragment() == made.to_text_fragment() == "no%2C-,said%20no"


def test_text_fragment_in_cyrillic_round_trips():
    anchor = anchor_on(UKRAINIAN, "порвав рапорт при всіх")
    parsed = parse_text_fragment(anchor.to_text_fragment())
    # 22 letters encode to over 80 characters: the range form, one word at each end.
    assert (parsed["start"], parsed["end"]) == ("порвав", "всіх")


@pytest.mark.parametrize(
    "value", ["", ",", "a,b,c", "-,", "a,,b", "%FF", "a b&c", None, "x" * (MAX_PARAM_CHARS + 1)]
)
def test_bad_text_fragments_raise_anchor_error(value):
    with pytest.raises(AnchorError):
        parse_text_fragment(value)


# -- properties ---------------------------------------------------------------

ALPHABETS = st.sampled_from(
    [
        "ab \n",  # tiny alphabet: quotes repeat all the time
        "abcdefgh ,.\n",
        "Командир сказав, що ніхто не поїде.\n",
        "He refused. Он отказал! ",
    ]
)


@st.composite
def texts(draw, min_size: int = 1, max_size: int = 200) -> str:
    if draw(st.booleans()):
        alphabet = draw(ALPHABETS)
        return draw(st.text(alphabet=alphabet, min_size=min_size, max_size=max_size))
    return draw(st.text(min_size=min_size, max_size=max_size))


@st.composite
def anchored_texts(draw, padded: bool = False) -> tuple[str, Anchor]:
    """A text and an anchor on any span of it; ``padded`` keeps room on both
    sides of the quote for edits beyond its context."""
    if not padded:
        text = draw(texts())
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, min(len(text), start + 120)))
    else:
        alphabet = draw(st.none() | ALPHABETS)
        piece = partial(st.text, alphabet) if alphabet else st.text
        before = draw(piece(min_size=CONTEXT_CHARS, max_size=120))
        quote = draw(piece(min_size=1, max_size=60))
        text = before + quote + draw(piece(min_size=CONTEXT_CHARS, max_size=120))
        start, end = len(before), len(before) + len(quote)
    assume(text[start:end].strip())
    return text, make_anchor(text, start, end)


def _count(text: str, needle: str) -> int:
    count, at = 0, text.find(needle)
    while at != -1:
        count, at = count + 1, text.find(needle, at + 1)
    return count


def _edit(text: str, pos: int, kind: str, piece: str, length: int, lo: int, hi: int):
    """Apply one edit inside text[lo:hi]; return the new text, the length change and where."""
    if kind == "insert":
        at = lo + pos % (hi - lo + 1)
        return text[:at] + piece + text[at:], len(piece), at
    if hi == lo:
        return text, 0, lo
    at = lo + pos % (hi - lo)
    cut = min(length, hi - at)
    return text[:at] + text[at + cut :], -cut, at


edits = st.lists(
    st.tuples(
        st.sampled_from(["before", "after"]),
        st.sampled_from(["insert", "delete"]),
        st.integers(0, 10_000),
        st.text(min_size=1, max_size=40),
        st.integers(1, 40),
    ),
    max_size=4,
)

FAST = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


@FAST
@given(anchored_texts())
def test_property_unchanged_text_resolves_exactly(case):
    text, anchor = case
    assert resolve_anchor(anchor, text) == Match(anchor.start, anchor.end, 1.0)


def _apply_outside(text: str, anchor: Anchor, plan) -> tuple[str, int]:
    """Edit only outside the quote and the 32 characters on each side of it
    (near the edges of the text, the edge is part of the context)."""
    start = anchor.start
    for side, kind, pos, piece, length in plan:
        if side == "before":
            hi = start - CONTEXT_CHARS
            if hi < 0:
                continue
            text, delta, _ = _edit(text, pos, kind, piece, length, 0, hi)
            start += delta
        else:
            lo = start + len(anchor.exact) + CONTEXT_CHARS
            if lo > len(text):
                continue
            text, _, _ = _edit(text, pos, kind, piece, length, lo, len(text))
    return text, start


@FAST
@given(anchored_texts(padded=True), edits)
def test_property_edits_outside_the_context_keep_the_exact_span(case, plan):
    text, anchor = case
    edited, start = _apply_outside(text, anchor, plan)
    assert edited[start : start + len(anchor.exact)] == anchor.exact
    match = resolve_anchor(anchor, edited)
    assert match is not None
    # Whatever copy is chosen, it is the exact quote with its full context...
    assert edited[match.start : match.end] == anchor.exact
    # ...so when quote-plus-context occurs once, it is the moved span itself.
    unique = _count(edited, anchor.prefix + anchor.exact + anchor.suffix) == 1
    if unique:
        assert (match.start, match.end) == (start, start + len(anchor.exact))
        assert (match.score == 1.0) == (start == anchor.start)
    event(f"moved={start != anchor.start}, quote with context unique={unique}")


@FAST
@given(
    anchored_texts(padded=True) | anchored_texts(),
    edits,
    st.sampled_from(["prefix", "suffix"]),
    st.sampled_from(["insert", "delete"]),
    st.integers(0, 10_000),
    st.text(min_size=1, max_size=20),
    st.integers(1, 20),
)
def test_property_edits_touching_one_side_of_the_context(
    case, plan, side, kind, pos, piece, length
):
    text, anchor = case
    edited, start = _apply_outside(text, anchor, plan)
    end = start + len(anchor.exact)
    if side == "prefix":
        edited, delta, _ = _edit(
            edited, pos, kind, piece, length, start - len(anchor.prefix), start
        )
        start, end = start + delta, end + delta
    else:
        edited, _, _ = _edit(edited, pos, kind, piece, length, end, end + len(anchor.suffix))
    assert edited[start:end] == anchor.exact
    match = resolve_anchor(anchor, edited)
    # The untouched side still vouches for the moved quote, so it is never lost.
    assert match is not None
    assert edited[match.start : match.end] == anchor.exact
    unique = _count(edited, anchor.exact) == 1
    if unique:
        assert (match.start, match.end) == (start, end)
    event(f"context edited={edited != text}, quote unique={unique}")


@FAST
@given(
    st.lists(st.sampled_from(SENTENCES), min_size=3, max_size=10).map(" ".join),
    st.data(),
)
def test_property_light_edit_inside_a_quote_lands_on_the_edited_span(text, data):
    start = data.draw(st.integers(0, len(text) - 40), label="start")
    end = data.draw(st.integers(start + 40, min(len(text), start + 240)), label="end")
    anchor = make_anchor(text, start, end)
    kind = data.draw(st.sampled_from(["substitute", "insert", "delete"]), label="kind")
    at = data.draw(st.integers(start + 1, end - 2), label="at")
    letter = data.draw(st.sampled_from("xqж ї,"), label="letter")
    if kind == "substitute":
        assume(text[at] != letter)
        edited, new_end = text[:at] + letter + text[at + 1 :], end
    elif kind == "insert":
        edited, new_end = text[:at] + letter + text[at:], end + 1
    else:
        edited, new_end = text[:at] + text[at + 1 :], end - 1
    preface = data.draw(st.sampled_from(["", "Recorded in 2023.\n\n"]), label="preface")
    edited = preface + edited
    assume(anchor.exact not in edited)
    match = resolve_anchor(anchor, edited)
    assert match is not None
    assert (match.start, match.end) == (start + len(preface), new_end + len(preface))
    assert match.score < 1.0


@FAST
@given(anchored_texts(), texts(min_size=0, max_size=300))
def test_property_resolving_against_any_text_is_safe(case, other):
    _, anchor = case
    match = resolve_anchor(anchor, other)
    if match is not None:
        assert 0 <= match.start < match.end <= len(other)
        assert 0.0 < match.score <= 1.0
        assert match.score < 1.0 or other[match.start : match.end] == anchor.exact


@FAST
@given(anchored_texts(), st.none() | st.text(max_size=10), st.none() | st.text(max_size=10))
def test_property_serialisations_round_trip(case, testimony, passage):
    _, anchor = case
    ids = {"testimony": testimony, "passage": passage}
    expected = Anchor(**{**anchor.as_dict(), **ids})
    assert Anchor.from_param(anchor.to_words_param(), **ids) == expected
    assert parse_param(anchor.to_param()) == QuoteRef(
        anchor.start, anchor.end, checksum(anchor.exact)
    )
    # Nothing in a link's ?a= value needs escaping: it is never encoded twice.
    assert quote(anchor.to_param(), safe="") == anchor.to_param()
    assert Anchor.from_selectors(anchor.to_selectors(), **ids) == expected
    fragment = parse_text_fragment(anchor.to_text_fragment())
    assert _flat(anchor.exact).startswith(fragment["start"])
    if fragment["end"] is not None:
        assert _flat(anchor.exact).endswith(fragment["end"])


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=300)
    | st.from_regex(r"\A[0-9]{1,4}-[0-9]{1,4}~[A-Za-z0-9%,.~\-]{0,40}\Z")
    | st.builds(
        lambda a, b, s: f"{a}-{b}~{s}", st.integers(0, 60), st.integers(0, 60), st.text(max_size=30)
    )
)
def test_property_from_param_only_raises_anchor_error(param):
    try:
        anchor = Anchor.from_param(param)
    except AnchorError:
        return
    assert Anchor.from_param(anchor.to_words_param()) == anchor


@given(st.text(max_size=40))
def test_link_quoting_is_urllib_quote_with_its_extra_escapes(text):
    """Links quote their texts with a translate table for ASCII: it must be quote()."""
    assert urls.quote_all(text) == quote(text, safe="")
    assert urls.Quoting("-~")(text) == quote(text, safe="").replace("-", "%2D").replace("~", "%7E")
    assert urls.quote_path(text) == quote(text)  # ids in paths and fragments: "/" kept
