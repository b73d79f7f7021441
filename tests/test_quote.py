"""Quote check on real text: a journalist's imperfect quote finds its source.

The index is built once from the 200-file subset of the shared corpus; the
quotes are cut from those files and then damaged the way drafts damage them.
"""

from __future__ import annotations

import contextlib
import json
import random
import time

import pytest
from click.testing import CliRunner
from conftest import copy_small_corpus
from helpers import build, write_archive
from search_archive import CANARIES, TESTIMONIES

from archive.analysis import TOKEN_PATTERN
from archive.cli import main
from archive.errors import QueryError
from archive.model import public_text
from archive.parse import load_archive
from archive.quotecheck import FOUND_SCORE, check_quote
from archive.search import open_search_index

LIMIT_SECONDS = 1.5


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("quote")
    target = copy_small_corpus(root / "wpa-small")
    config = build(target, root / "index")
    archive = load_archive(target)
    index = open_search_index(config.public_index)
    yield config, archive, index
    index.close()


def timed_check(index, text, **kwargs):
    start = time.perf_counter()
    result = check_quote(index, text, **kwargs)
    assert time.perf_counter() - start < LIMIT_SECONDS
    return result


def source_span(archive, testimony_id: str, needle: str) -> tuple[int, int]:
    text = public_text(archive.testimonies[testimony_id])
    start = text.index(needle)
    return start, start + len(needle)


def test_verbatim_quote(corpus):
    config, archive, index = corpus
    needle = "I was a man able to do a man’s work so I ’spects I was eighteen or twenty years old"
    result = timed_check(index, needle)
    best = result.matches[0]
    assert result.found and best.verdict == "verbatim" and best.score == 1.0
    assert best.testimony == "wpa-al-aarons-charlie"
    assert (best.start, best.end) == source_span(archive, best.testimony, needle)
    assert best.exact == needle
    assert all(op["op"] == "equal" for op in best.diff)


def test_changed_words_and_missing_punctuation(corpus):
    config, archive, index = corpus
    source = "Git away, why Madam, those nigger dogs would track you and all you got was a beating"
    quote = "git away why madam those dogs would follow you and all you got was a whipping"
    result = timed_check(index, quote)
    best = result.matches[0]
    assert best.testimony == "wpa-al-aarons-charlie"
    assert best.verdict == "close" and FOUND_SCORE <= best.score < 1.0
    assert best.exact == source
    assert (best.start, best.end) == source_span(archive, best.testimony, source)
    changes = [(op["op"], op["source"], op["quoted"]) for op in best.diff if op["op"] != "equal"]
    assert changes == [
        ("delete", "nigger", ""),
        ("replace", "track", "follow"),
        ("replace", "beating", "whipping"),
    ]
    assert best.diff[0] == {
        "op": "equal",
        "source": "Git away, why Madam, those",
        "quoted": "git away why madam those",
    }


def test_modern_spelling(corpus):
    config, archive, index = corpus
    quote = "I looked after Master John, tended the horses and the tents"
    best = timed_check(index, quote).matches[0]
    assert best.testimony == "wpa-al-aarons-charlie"
    assert best.exact == "I looked after Marster John, tended the horses and the tents"
    assert [op for op in best.diff if op["op"] != "equal"] == [
        {"op": "replace", "source": "Marster", "quoted": "Master"}
    ]


def test_quote_spanning_two_passages(corpus):
    config, archive, index = corpus
    quote = (
        "No Madam only to work. When asked if they had any special festivities at Christmas "
        "or any other holiday he replied"
    )
    best = timed_check(index, quote).matches[0]
    assert best.testimony == "wpa-al-aarons-charlie"
    assert len(best.passages) == 2
    assert "\n\n" in best.exact
    text = public_text(archive.testimonies[best.testimony])
    assert text[best.start : best.end] == best.exact
    assert best.exact.startswith("No, Madam, only to work") and best.exact.endswith("he replied")
    testimony = archive.testimonies[best.testimony]
    assert best.passage == best.passages[0]
    assert [p.id for p in testimony.passages].index(best.passages[1]) == [
        p.id for p in testimony.passages
    ].index(best.passages[0]) + 1


def test_citation_and_link(corpus):
    config, archive, index = corpus
    result = timed_check(index, "the siege of Vicksburg", base_url="https://example.org/a/")
    best = result.matches[0]
    cite = best.citation
    assert cite.title == "Charlie Aarons, Alabama"
    assert cite.narrator == "Charlie Aarons"
    assert cite.license == "public-domain" and "aarons-charlie.txt" in cite.source
    assert best.url.startswith("https://example.org/a/t/wpa-al-aarons-charlie/?a=")
    assert f"#{best.passage}:~:text=" in best.url
    assert best.anchor is not None and best.anchor.exact == best.exact
    assert cite.url == best.url
    data = result.as_dict()
    match = data["matches"][0]
    for key in ("testimony", "passage", "score", "exact", "start", "end", "diff", "citation",
                "url"):  # fmt: skip
        assert key in match
    for key in ("title", "narrator", "date", "source", "license", "url"):
        assert key in match["citation"]
    json.dumps(data)


def test_quote_not_in_the_archive(corpus):
    config, archive, index = corpus
    for quote in (
        "The quick brown fox jumps over the lazy dog near the river bank tonight",
        "Mobilisation was announced and the contract was extended until the end of the war",
        "Я ушёл в самоволку в сентябре",
    ):
        result = timed_check(index, quote)
        assert not result.found
        assert all(m.verdict == "weak" and m.score < FOUND_SCORE for m in result.matches)
        assert result.as_dict()["found"] is False


def _damage(words: list[str], rng: random.Random, replacements: list[str]) -> list[str]:
    out = list(words)
    for i in rng.sample(range(1, len(out) - 1), 3):
        out[i] = rng.choice(replacements)
    return out


def test_damaged_quotes_from_random_passages_find_their_source(corpus):
    """200-character quotes, three words changed, punctuation and case gone."""
    config, archive, index = corpus
    rng = random.Random(1937)
    passages = [
        (t, p)
        for t in sorted(archive.testimonies.values(), key=lambda t: t.id)
        for p in t.passages
        if len(p.public_text) > 400
    ]
    replacements = ["house", "river", "cotton", "morning", "church", "mother", "yankee"]
    found = 0
    trials = 30
    for _t, p in rng.sample(passages, trials):
        text = p.public_text
        words = [m for m in TOKEN_PATTERN.finditer(text) if m.start() < len(text) - 220]
        chosen = []
        for m in TOKEN_PATTERN.finditer(text, rng.choice(words).start()):
            chosen.append(m)
            if m.end() - chosen[0].start() >= 200:
                break
        original = text[chosen[0].start() : chosen[-1].end()]
        quote = " ".join(_damage([m.group() for m in chosen], rng, replacements)).lower()
        result = timed_check(index, quote)
        if not result.matches:
            continue
        best = result.matches[0]
        # Some narratives appear twice in the corpus: the text, not the id, must agree.
        if best.exact == original and best.verdict in ("close", "verbatim"):
            found += 1
    assert found >= trials - 1, f"{found}/{trials}"


def test_empty_and_oversized_quotes_are_refused(corpus):
    config, archive, index = corpus
    for bad in ("", "   ", "...", "x " * 3000):
        with pytest.raises(QueryError):
            check_quote(index, bad)
    with pytest.raises(QueryError, match="limit"):
        check_quote(index, "Madam", limit=0)


def test_hostile_quote_text_is_handled(corpus):
    config, archive, index = corpus
    for text in ("Madam\x00 I don’t know", "a" * 1999, "\u200b\u00adMadam", "(((" * 200):
        with contextlib.suppress(QueryError):
            timed_check(index, text)


def test_cli_quote(corpus):
    config, archive, index = corpus
    base = ["--testimonies", str(config.testimonies), "--index", str(config.index)]
    runner = CliRunner()
    result = runner.invoke(main, [*base, "quote", "those dogs would follow you and all you got"])
    assert result.exit_code == 0, result.output
    assert "Charlie Aarons, Alabama" in result.output
    assert "replace: track -> follow" in result.output
    data = json.loads(
        runner.invoke(main, [*base, "quote", "the siege of Vicksburg", "--json"]).output
    )
    assert data["found"] and data["matches"][0]["testimony"] == "wpa-al-aarons-charlie"
    missing = runner.invoke(main, [*base, "quote", "the quick brown fox jumps over the lazy dog"])
    assert missing.exit_code == 1
    help_text = runner.invoke(main, ["quote", "--help"]).output
    assert "Examples" in help_text


# --- nothing protected leaves through a quote check ----------------------------------------


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    root = tmp_path_factory.mktemp("guarded")
    config = build(write_archive(root / "testimonies", TESTIMONIES), root / "index")
    index = open_search_index(config.public_index)
    yield index
    index.close()


@pytest.mark.parametrize(
    "quote",
    [
        f"The commander {CANARIES['restricted']} refused my leave twice",
        f"The commander {CANARIES['embargoed']} signed the furlough papers",
        f"My unit was the {CANARIES['inline']} brigade near the river crossing",
        f"Sergei {CANARIES['passage']} drove me to the border in his van",
    ],
)
def test_protected_text_never_comes_back(guarded, quote):
    result = timed_check(guarded, quote, limit=5)
    data = result.as_dict()
    del data["quote"]  # the person's own words, echoed
    for match in data["matches"]:
        for op in match["diff"]:
            op.pop("quoted")
    blob = json.dumps(data, ensure_ascii=False).lower()
    for canary in CANARIES.values():
        assert canary.lower() not in blob
    if "unit was" in quote:  # the public rest of that passage is found, redaction marked
        best = result.matches[0]
        assert "[redacted]" in best.exact and best.testimony == "officer-en"
