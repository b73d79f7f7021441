"""The Python half of tests/data/shared_cases.json: the rules the page scripts also run
(folding, the query syntax the static search reads, anchors, citation text).

tests/test_export_e2e.py runs the same table in Chromium against archive-common.js and
export-quote.js, so neither language can change a rule alone.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from e2e_helpers import TODAY, WEB_TESTIMONIES
from helpers import write_archive

from archive.anchors import Anchor, _fold, parse_param, resolve_link
from archive.citations import Citation, render
from archive.model import public_text
from archive.parse import load_archive
from archive.query import And, Filter, Phrase, Prefix, Word, parse_query
from webapp.pageconfig import page_config

CASES = json.loads((Path(__file__).parent / "data" / "shared_cases.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def officer(tmp_path_factory):
    archive = load_archive(write_archive(tmp_path_factory.mktemp("shared") / "t", WEB_TESTIMONIES))
    return archive.get_public("officer", dt.date.fromisoformat(TODAY))


@pytest.mark.parametrize("case", CASES["fold"], ids=lambda c: c["text"])
def test_folding(case):
    assert _fold(case["text"]) == case["folded"]


def _static_view(q: str) -> tuple[list[str], dict[str, list[str]], bool]:
    """What of the server's parse a static search can use: words, theme/lang filters, and
    whether anything else (either word, leaving out, other fields) is in the query."""
    root = parse_query(q).root
    clauses = root.children if isinstance(root, And) else ((root,) if root else ())
    facets = page_config()["query"]["filter_facets"]
    words: list[str] = []
    filters: dict[str, list[str]] = {}
    other = False
    for node in clauses:
        if isinstance(node, Word):
            words.append(node.text)
        elif isinstance(node, Prefix):
            words.append(node.text + "*")
        elif isinstance(node, Phrase):
            words.append(f'"{node.text}"')
        elif isinstance(node, Filter) and node.name in facets:
            filters.setdefault(facets[node.name], []).append(node.value)
        else:
            other = True
    return words, filters, other


@pytest.mark.parametrize("case", CASES["query"], ids=lambda c: c["q"])
def test_the_query_syntax(case):
    words, filters, other = _static_view(case["q"])
    assert other == bool(case["unsupported"])
    if not other:  # what the static search leaves out, the server reads otherwise
        assert (words, filters) == (case["words"], case["filters"])


@pytest.mark.parametrize("case", CASES["anchor"], ids=lambda c: c["exact"][:20])
def test_anchor_forms(case):
    a = Anchor.from_param(case["param"])
    assert (a.exact, a.prefix, a.suffix, a.start, a.end) == (
        case["exact"], case["prefix"], case["suffix"], case["start"], case["end"],
    )  # fmt: skip
    assert a.to_words_param() == case["param"]
    assert a.to_param() == case["link"]
    assert a.to_text_fragment() == case["fragment"]


@pytest.mark.parametrize("case", CASES["resolve"], ids=lambda c: c["param"][:24])
def test_anchor_resolution(case, officer):
    match = resolve_link(parse_param(case["param"]), public_text(officer))
    found = (match.start, match.end, match.score) if match else (None, None, None)
    assert found == (case["start"], case["end"], case["score"])


@pytest.mark.parametrize("case", CASES["citation"], ids=lambda c: c["format"])
def test_citation_text(case, officer):
    citation = Citation(
        testimony=officer,
        url=case["url"],
        accessed=dt.date.fromisoformat(case["accessed"]),
        site_name=case["site"],
        anchor=Anchor.from_param(case["param"]),
    )
    assert render(citation, case["format"]) == case["text"]
