"""Highlighting: where the query's words stand in a hit, its snippet, and its quote anchor.

Highlights are cut from the stored passage text at the character offsets
kept with its terms at index time (so a stemmed match such as "escaped" for
"escape" is marked exactly); if a passage has none, the stored text is
re-analyzed with the field's own analyzer. Snippets are HTML-escaped text of
the stored passage with ``<mark>`` tags: nothing else is ever added. Each hit
carries a quote anchor over its matched words, in offsets of the testimony's
public text.
"""

from __future__ import annotations

import html
from bisect import bisect_right
from dataclasses import dataclass
from itertools import compress
from typing import Any

from ..anchors import CONTEXT_CHARS, Anchor, make_anchor
from ..errors import AnchorError
from ..fields import unpack_offsets, unpack_terms
from ..model import PASSAGE_SEPARATOR
from .compile import Pattern
from .opened import SearchIndex

__all__ = [
    "SNIPPET_CHARS",
    "Mark",
    "anchor_span",
    "choose_window",
    "hit_anchor",
    "marks_for",
    "occurrences",
    "snippet",
]

SNIPPET_CHARS = 240
SNIPPET_LEAD = 60  # context kept before the first mark when the passage is cut
MAX_ANCHOR_CHARS = 200


@dataclass(frozen=True)
class Mark:
    start: int
    end: int
    group: int


def occurrences(
    index: SearchIndex,
    searcher: Any,
    fieldname: str,
    stored: dict[int, dict],
    terms: set[str],
) -> dict[int, dict[str, list[tuple[int, int, int]]]]:
    """(position, start, end) of each term in each document, from its terms columns.

    Falls back to re-analyzing the stored text with the field's analyzer when
    a document has no terms, or when they do not fit its text (an index built
    from other text than it stores).
    """
    found: dict[int, dict[str, list[tuple[int, int, int]]]] = {}
    misfits = []
    runs, spans = index.term_columns(searcher)
    for d, fields in stored.items():
        text = fields.get("text") or ""
        words, offsets = unpack_terms(runs[d]), unpack_offsets(spans[d])
        if not words or len(offsets) != 2 * len(words):
            misfits.append(d)
            continue
        occ: dict[str, list[tuple[int, int, int]]] = {}
        # The few words that match, picked out in C: a passage has hundreds of words.
        for i in compress(range(len(words)), map(terms.__contains__, words)):
            start, end = offsets[2 * i], offsets[2 * i + 1]
            if not 0 <= start < end <= len(text):
                misfits.append(d)
                break
            occ.setdefault(words[i], []).append((i, start, end))
        else:
            found[d] = occ
    texts = {d: stored[d].get("text") or "" for d in misfits}
    found.update(_reanalyze(searcher.schema[fieldname], misfits, terms, texts))
    return found


def _reanalyze(fieldobj: Any, docnums: list[int], terms: set[str], texts: dict[int, str]) -> dict:
    found: dict[int, dict[str, list[tuple[int, int, int]]]] = {}
    for d in docnums:
        occ: dict[str, list[tuple[int, int, int]]] = {}
        for token in fieldobj.analyzer(texts[d], positions=True, chars=True, mode="index"):
            if token.text in terms:
                occ.setdefault(token.text, []).append((token.pos, token.startchar, token.endchar))
        found[d] = occ
    return found


def marks_for(
    patterns_by_group: list[set[Pattern]], occ: dict[str, list[tuple[int, int, int]]]
) -> list[Mark]:
    marks: list[Mark] = []
    for group, patterns in enumerate(patterns_by_group):
        for pattern in patterns:
            first = occ.get(pattern[0])
            if not first:
                continue
            if len(pattern) == 1:
                marks.extend(Mark(s, e, group) for _, s, e in first)
                continue
            rest = [{p: (s, e) for p, s, e in occ.get(t, ())} for t in pattern[1:]]
            for pos, s, _ in first:
                end = None
                for i, by_pos in enumerate(rest, start=1):
                    hit = by_pos.get(pos + i)
                    if hit is None:
                        break
                    end = hit[1]
                else:
                    if end is not None:
                        marks.append(Mark(s, end, group))
    marks.sort(key=lambda m: (m.start, -m.end))
    return marks


def choose_window(text: str, marks: list[Mark]) -> tuple[int, int]:
    n = len(text)
    if n <= SNIPPET_CHARS:
        return 0, n
    if not marks:
        return 0, _word_end(text, SNIPPET_CHARS)
    # The window starting just before a mark that holds the most matched groups, then
    # the most marks, then starts first. Marks are sorted by start, so the marks a
    # window may hold are a run from its own mark on: each window scans only that run.
    best: tuple[int, int, int] | None = None
    best_start = 0
    starts = [m.start for m in marks]
    ends = [m.end for m in marks]
    if len({m.group for m in marks}) == 1 and ends == sorted(ends):
        # One word, prefix or phrase, marks in a row: the marks a window holds are
        # those from its own up to the last ending inside it.
        for i, start in enumerate(starts):
            lo = max(0, start - SNIPPET_LEAD)
            key = (1, bisect_right(ends, lo + SNIPPET_CHARS, i) - i, -lo)
            if best is None or key > best:
                best, best_start = key, lo
    else:
        for i, m in enumerate(marks):
            lo = max(0, m.start - SNIPPET_LEAD)
            hi = lo + SNIPPET_CHARS
            inside = [x for x in marks[i : bisect_right(starts, hi, i)] if x.end <= hi]
            key = (len({x.group for x in inside}), len(inside), -lo)
            if best is None or key > best:
                best, best_start = key, lo
    lo = best_start
    if lo + SNIPPET_CHARS >= n:
        lo = max(0, n - SNIPPET_CHARS)
    hi = min(n, lo + SNIPPET_CHARS)
    return _word_start(text, lo, marks), _word_end(text, hi)


def _word_start(text: str, lo: int, marks: list[Mark]) -> int:
    if lo <= 0:
        return 0
    first_mark = min((m.start for m in marks if m.start >= lo), default=lo)
    i = lo
    while i < first_mark and not text[i - 1].isspace():
        i += 1
    return i if i <= first_mark else lo


def _word_end(text: str, hi: int) -> int:
    if hi >= len(text):
        return len(text)
    i = hi
    while i > 0 and not text[i].isspace() and hi - i < 30:
        i -= 1
    return i if i > 0 and text[i].isspace() else hi


def snippet(text: str, marks: list[Mark]) -> tuple[str, tuple[tuple[str, bool], ...], int, int]:
    """HTML snippet, plain parts, and the window it shows."""
    lo, hi = choose_window(text, marks)
    merged: list[list[int]] = []
    for m in marks:
        s, e = max(m.start, lo), min(m.end, hi)
        if s >= e:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    parts: list[tuple[str, bool]] = []
    if lo > 0:
        parts.append(("\u2026", False))
    pos = lo
    for s, e in merged:
        if s > pos:
            parts.append((text[pos:s], False))
        parts.append((text[s:e], True))
        pos = e
    if pos < hi:
        parts.append((text[pos:hi], False))
    if hi < len(text):
        parts.append(("\u2026", False))
    return _snippet_html(parts), tuple(parts), lo, hi


def _snippet_html(parts: list[tuple[str, bool]]) -> str:
    """The parts escaped, marked ones in ``<mark>``: escaped in one go between two
    control characters that stand for the tags, unless the text holds one."""
    joined = "".join(f"\x01{t}\x02" if marked else t for t, marked in parts)
    if joined.count("\x01") + joined.count("\x02") == 2 * sum(m for _, m in parts):
        return html.escape(joined).replace("\x01", "<mark>").replace("\x02", "</mark>")
    return "".join(
        f"<mark>{html.escape(t)}</mark>" if marked else html.escape(t) for t, marked in parts
    )


def anchor_span(marks: list[Mark], lo: int, hi: int) -> tuple[int, int] | None:
    """The shortest run of marks in the window that covers every matched group in it."""
    inside = [m for m in marks if m.start >= lo and m.end <= hi]
    if not inside:
        return None
    groups = {m.group for m in inside}
    if len(groups) == 1:  # one word or phrase: the run is its shortest mark, the first of equals
        shortest = min(inside, key=lambda m: m.end - m.start)
        best: tuple[int, int] | None = (shortest.start, shortest.end)
    else:
        best = None
        counts: dict[int, int] = {}
        ends = [m.end for m in inside]
        left = 0
        for right, m in enumerate(inside):
            counts[m.group] = counts.get(m.group, 0) + 1
            while len(counts) == len(groups):
                span = (inside[left].start, max(ends[left : right + 1]))
                if best is None or span[1] - span[0] < best[1] - best[0]:
                    best = span
                group = inside[left].group
                counts[group] -= 1
                if not counts[group]:
                    del counts[group]
                left += 1
    if best is None or best[1] - best[0] > MAX_ANCHOR_CHARS:
        first = inside[0]
        return first.start, first.end
    return best


def hit_anchor(fields: dict, start: int, end: int) -> Anchor | None:
    text = fields.get("text") or ""
    offset = fields.get("offset")
    if offset is None:
        return None
    local, shift = text, 0
    # The neighbours' edges are stored with the passage (archive.index.schema).
    before, after = fields.get("before"), fields.get("after")
    if start < CONTEXT_CHARS and before is not None:
        local = before + PASSAGE_SEPARATOR + local
        shift = len(before) + len(PASSAGE_SEPARATOR)
    if len(text) - end < CONTEXT_CHARS and after is not None:
        local = local + PASSAGE_SEPARATOR + after
    try:
        return make_anchor(
            local,
            start + shift,
            end + shift,
            testimony=fields.get("testimony"),
            passage=fields.get("passage"),
            offset=offset - shift,
        )
    except AnchorError:
        return None
