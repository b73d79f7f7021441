"""Quote anchors: point at exact words in a testimony and find them again after edits.

Character offsets alone break as soon as anything before the quote changes, and
the quoted words alone are ambiguous when they occur twice. An anchor therefore
keeps both, the way web annotation tools do (W3C ``TextQuoteSelector`` plus
``TextPositionSelector``): the exact words, up to :data:`CONTEXT_CHARS` of
context on each side and the old offsets. :func:`resolve_anchor` re-attaches it
to a new version of the text, in order of trust:

1. the exact words still at the old offsets;
2. the exact words elsewhere, choosing between copies by how well the
   surrounding context agrees, then by nearness to the old offsets;
3. an approximate match (typo fixed, punctuation or spacing changed, a word's
   case changed) scored over the words *and* their context;
4. otherwise ``None``: a link that says "this passage changed" is better than
   one that silently lands on the wrong words.

Everything works on plain strings (the public text of a testimony), so anchors
can be made, resolved and tested without the rest of the archive.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, LCSseq, Levenshtein

from archive.errors import AnchorError
from archive.plain import plain
from archive.urls import Quoting

__all__ = [
    "BROWSER_RULES",
    "CONTEXT_CHARS",
    "MAX_PARAM_CHARS",
    "MAX_QUOTE_CHARS",
    "Anchor",
    "Match",
    "QuoteRef",
    "checksum",
    "make_anchor",
    "parse_param",
    "parse_text_fragment",
    "resolve_anchor",
    "resolve_link",
    "resolve_ref",
    "text_fragment",
]

CONTEXT_CHARS = 32
"""Context kept on each side: enough to tell copies of a phrase apart, short
enough that an edit next door rarely touches it."""

MAX_QUOTE_CHARS = 2000
"""A citation is a few sentences; anything longer is a selection mistake and
would make URLs unwieldy and fuzzy matching slow."""

# Worst case for a parameter: every character is 4 UTF-8 bytes written as %XX.
MAX_PARAM_CHARS = (MAX_QUOTE_CHARS + 2 * CONTEXT_CHARS) * 12 + 32
_MAX_SELECTORS = 16
_MAX_SELECTOR_TEXT = 10 * MAX_QUOTE_CHARS

# Thresholds of the search (see _acceptable for the reasoning).
_MAX_OCCURRENCES = 5000  # exact copies considered, nearest to the old offsets first
_MAX_WINDOWS = 12  # fuzzy windows aligned precisely, best LCS first
_MAX_SEEDS = 8  # context seeds per side, nearest first
_MAX_FITS = 8  # rough spans whose ends are fitted precisely
_SHORT_WORDS = 4  # fewer words than this (or fewer chars than _SHORT_CHARS) is "short"
_SHORT_CHARS = 20
_LONG_CHARS = 64
_SHORT_ERROR_RATE = 0.15
_ERROR_RATE = 0.25
_LONE_ERROR_RATE = 0.12  # long quote, context gone: only light edits
_MEDIUM_LONE_ERROR_RATE = 0.10  # medium quote, one side of the context left
_MEDIUM_LONE_SUPPORT = 0.6
_SUPPORT_BEST = 0.75  # one side of the context mostly agrees
_SUPPORT_MEAN = 0.5  # both sides agree more than unrelated text does
_FUZZY_SUPPORT_BEST = 0.8  # an *edited* short quote: its context must clearly agree
_FUZZY_SUPPORT_MEAN = 0.6
_FIT_CHARS = 48  # characters at each end of a long quote used to place that end
_FRAGMENT_MAX_CHARS = 80  # a longer encoded quote uses the textStart,textEnd form
_FRAGMENT_EDGE_WORDS = 4  # at most this many words at each end, or of context
_FRAGMENT_EDGE_CHARS = 40  # and no more encoded characters than this, past the first word
_CHECK_CHARS = 7  # base 36 digits of a CRC-32: 36**7 > 2**32
# Weights of the final score, as in the Hypothesis web annotation client's
# quote matcher: the words matter most, each side of context a little less.
_W_QUOTE, _W_PREFIX, _W_SUFFIX, _W_POS = 50.0, 20.0, 20.0, 2.0

_WORD_JOINERS = "'\u2019\u02bc"  # word characters besides letters and digits (_is_word)
_EDGE = "\uffff"  # stands for the start or end of the text in context comparisons
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
_PARAM_RE = re.compile(r"([0-9]{1,9})-([0-9]{1,9})~(.*)", re.ASCII | re.DOTALL)
# A link's anchor today: START-END.CHECK (offsets and the checksum of the folded words).
_REF_RE = re.compile(rf"([0-9]{{1,9}})-([0-9]{{1,9}})\.([0-9a-z]{{{_CHECK_CHARS}}})", re.ASCII)
# Where a copy of a quote may start: not inside a word (links are made of whole words).
_WORD_START_RE = re.compile(r"(?<![^\W_]|['\u2019\u02bc])|(?![^\W_]|['\u2019\u02bc])")
# What an encoder may leave unescaped (ours leaves only [A-Za-z0-9_.]).
_PART_RE = re.compile(r"(?:[A-Za-z0-9_.!*'()~]|%[0-9A-Fa-f]{2})+", re.ASCII)
_FRAGMENT_PART_RE = re.compile(r"[^&,\-]+")

# Length-preserving folding: edits that only change case, typography (curly vs
# straight quotes, dashes, non-breaking spaces) or Russian ё/е cost nothing.
_FOLD_PAIRS = (
    ("ё", "е"),
    ("\u00a0", " "),
    ("\u2007", " "),
    ("\u2009", " "),
    ("\u202f", " "),
    ("\t", " "),
    ("\u201c", '"'),
    ("\u201d", '"'),
    ("\u201e", '"'),
    ("\u00ab", '"'),
    ("\u00bb", '"'),
    ("\u2018", "'"),
    ("\u2019", "'"),
    ("\u02bc", "'"),
    ("\u2010", "-"),
    ("\u2011", "-"),
    ("\u2012", "-"),
    ("\u2013", "-"),
    ("\u2014", "-"),
    ("\u2212", "-"),
)


#: What export-quote.js needs to read, make and resolve anchors as this module
#: does (exact tiers only), emitted into the page by webapp.pageconfig: the page
#: copies none of it. Regexes are written in the syntax both languages share.
BROWSER_RULES = {
    "context_chars": CONTEXT_CHARS,
    "max_quote_chars": MAX_QUOTE_CHARS,
    "max_param_chars": MAX_PARAM_CHARS,
    "max_occurrences": _MAX_OCCURRENCES,
    "short_words": _SHORT_WORDS,
    "short_chars": _SHORT_CHARS,
    "support_best": _SUPPORT_BEST,
    "support_mean": _SUPPORT_MEAN,
    "fragment_max_chars": _FRAGMENT_MAX_CHARS,
    "fragment_edge_words": _FRAGMENT_EDGE_WORDS,
    "fragment_edge_chars": _FRAGMENT_EDGE_CHARS,
    "check_chars": _CHECK_CHARS,
    "ref_re": _REF_RE.pattern,
    "weights": [_W_QUOTE, _W_PREFIX, _W_SUFFIX, _W_POS],
    "param_re": _PARAM_RE.pattern,
    "part_re": _PART_RE.pattern,
    "word_joiners": _WORD_JOINERS,
    "fold_pairs": [list(pair) for pair in _FOLD_PAIRS],
}


@dataclass(frozen=True)
class Match:
    """Where an anchor landed in a text; ``score`` is 1.0 only for the exact
    words at the old offsets, so callers can flag anything that moved or changed."""

    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Anchor:
    """A quote, its context and where it was: enough to find it again after edits.

    ``testimony`` and ``passage`` are carried for the caller's convenience; the
    text-level formats (selectors, URL parameter, text fragment) leave them out
    because the page URL already names both.
    """

    exact: str
    prefix: str
    suffix: str
    start: int
    end: int
    testimony: str | None = None
    passage: str | None = None
    #: The ``:~:text=`` value, made by :func:`make_anchor` from the whole text (so it
    #: carries context only where the words occur earlier); "" to make it from the
    #: anchor's own context.
    fragment: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        # Anchors also arrive from URLs and JSON: one place guards them all.
        for name in ("exact", "prefix", "suffix"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise AnchorError(f"anchor {name} must be text, not {type(value).__name__}")
            if _SURROGATE_RE.search(value):
                raise AnchorError(f"anchor {name} contains an unpaired surrogate")
        for name in ("testimony", "passage"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise AnchorError(f"anchor {name} must be text or None")
        if not isinstance(self.fragment, str):
            raise AnchorError("anchor fragment must be text")
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise AnchorError(f"anchor {name} must be an integer offset")
        _check_quote(self.exact)
        if len(self.prefix) > CONTEXT_CHARS or len(self.suffix) > CONTEXT_CHARS:
            raise AnchorError(f"anchor context is limited to {CONTEXT_CHARS} characters a side")
        if self.start < 0 or self.end - self.start != len(self.exact):
            raise AnchorError(
                f"anchor offsets {self.start}-{self.end} do not fit a quote of "
                f"{len(self.exact)} characters"
            )

    # -- W3C Web Annotation selectors ------------------------------------------

    def to_selectors(self) -> list[dict[str, Any]]:
        """W3C Web Annotation selectors, so annotations can travel to other tools."""
        return [
            {
                "type": "TextQuoteSelector",
                "exact": self.exact,
                "prefix": self.prefix,
                "suffix": self.suffix,
            },
            {"type": "TextPositionSelector", "start": self.start, "end": self.end},
        ]

    @classmethod
    def from_selectors(
        cls,
        selectors: Any,
        *,
        testimony: str | None = None,
        passage: str | None = None,
    ) -> Anchor:
        """Read selectors from JSON, which may come from another tool or a person.

        Other selector types are ignored (annotations may carry several);
        context longer than :data:`CONTEXT_CHARS` is cut to the characters
        nearest the quote, since those are the ones that matter.
        """
        if isinstance(selectors, dict):
            selectors = [selectors]
        if not isinstance(selectors, list | tuple):
            raise AnchorError("selectors must be a list of objects")
        if len(selectors) > _MAX_SELECTORS:
            raise AnchorError(f"too many selectors (at most {_MAX_SELECTORS})")
        found: dict[str, dict] = {}
        for selector in selectors:
            if not isinstance(selector, dict):
                raise AnchorError("each selector must be an object with a 'type'")
            kind = selector.get("type")
            if kind in ("TextQuoteSelector", "TextPositionSelector"):
                if kind in found:
                    raise AnchorError(f"more than one {kind}")
                found[kind] = selector
        if "TextQuoteSelector" not in found or "TextPositionSelector" not in found:
            raise AnchorError("an anchor needs a TextQuoteSelector and a TextPositionSelector")
        quoted, position = found["TextQuoteSelector"], found["TextPositionSelector"]
        texts = {}
        for key in ("exact", "prefix", "suffix"):
            value = quoted.get(key)
            if value is None and key != "exact":
                value = ""  # W3C makes the context optional
            if not isinstance(value, str):
                raise AnchorError(f"TextQuoteSelector.{key} must be text")
            if len(value) > _MAX_SELECTOR_TEXT:
                raise AnchorError(f"TextQuoteSelector.{key} is too long")
            texts[key] = value
        offsets = []
        for key in ("start", "end"):
            value = position.get(key)
            if not isinstance(value, int) or isinstance(value, bool):
                raise AnchorError(f"TextPositionSelector.{key} must be an integer")
            offsets.append(value)
        return cls(
            exact=texts["exact"],
            prefix=texts["prefix"][-CONTEXT_CHARS:],
            suffix=texts["suffix"][:CONTEXT_CHARS],
            start=offsets[0],
            end=offsets[1],
            testimony=testimony,
            passage=passage,
        )

    # -- URL query parameter ---------------------------------------------------

    def to_param(self) -> str:
        """The ``?a=`` value of a link: ``START-END.CHECK``, e.g. ``1269-1279.0k3x9ab``.

        Offsets and a checksum of the folded words (:func:`checksum`), nothing to
        percent-encode: a link stays printable whatever the script, and the URL
        carries no words anyone could pass off as the witness's. The words travel
        in the ``#:~:text=`` fragment for the browser; :func:`resolve_ref` finds
        them again, at the old offsets or moved anywhere in the text.
        """
        return f"{self.start}-{self.end}.{checksum(self.exact)}"

    def to_words_param(self) -> str:
        """The earlier form, still read: ``START-END~prefix-,exact,-suffix``.

        The three texts follow the Text Fragments syntax (``prefix-`` and
        ``-suffix`` are left out when empty), each percent-encoded UTF-8 with
        ``-``, ``,`` and ``~`` escaped too. Example:
        ``10-17~asked%20the-,colonel,-%20for%20leave``. Links no longer carry it
        (a Cyrillic sentence came to over 1,300 characters); tests make hostile
        links with it.
        """
        parts = [_encode_part(self.exact)]
        if self.prefix:
            parts.insert(0, _encode_part(self.prefix) + "-")
        if self.suffix:
            parts.append("-" + _encode_part(self.suffix))
        return f"{self.start}-{self.end}~{','.join(parts)}"

    @classmethod
    def from_param(
        cls,
        s: Any,
        *,
        testimony: str | None = None,
        passage: str | None = None,
    ) -> Anchor:
        """Read :meth:`to_words_param` output; anything else raises :class:`AnchorError`.

        The value comes straight from a URL anyone can type, so it is length
        capped before any work and every failure is the same clear error.
        """
        if not isinstance(s, str):
            raise AnchorError("quote parameter must be text")
        if len(s) > MAX_PARAM_CHARS:
            raise AnchorError(
                f"quote parameter is too long ({len(s)} characters, at most {MAX_PARAM_CHARS})"
            )
        m = _PARAM_RE.fullmatch(s)
        if not m:
            raise AnchorError(
                "quote parameter is not in the form START-END.CHECK (for example "
                "1269-1279.0k3x9ab), nor the earlier START-END~prefix-,exact,-suffix",
                hint="copy the link again from the archive, or use its short /q/ID/ link",
            )
        pieces = m.group(3).split(",")
        if len(pieces) > 3:
            raise AnchorError("quote parameter has too many ',' separated parts")
        prefix = suffix = ""
        if len(pieces) > 1 and pieces[0].endswith("-"):
            prefix = _decode_part(pieces.pop(0)[:-1], "prefix")
        if len(pieces) > 1 and pieces[-1].startswith("-"):
            suffix = _decode_part(pieces.pop()[1:], "suffix")
        if len(pieces) != 1:
            raise AnchorError("quote parameter must hold exactly one quoted text")
        exact = _decode_part(pieces[0], "quote")
        return cls(
            exact=exact,
            prefix=prefix,
            suffix=suffix,
            start=int(m.group(1)),
            end=int(m.group(2)),
            testimony=testimony,
            passage=passage,
        )

    # -- browser Text Fragments ------------------------------------------------

    def to_text_fragment(self) -> str:
        """Value of a ``#:~:text=`` directive, so a browser highlights the quote
        even without the archive's own script: :func:`text_fragment`, judged on
        the whole text when :func:`make_anchor` made the anchor, else on its context."""
        if self.fragment:
            return self.fragment
        cut = len(self.prefix) == CONTEXT_CHARS and "\n" not in self.prefix
        return text_fragment(self.exact, self.prefix, cut_before=cut)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (for the web app's API and exported citations)."""
        return plain(
            self,
            "exact prefix suffix start end testimony passage fragment",
            fragment=self.to_text_fragment(),
        )


@dataclass(frozen=True)
class QuoteRef:
    """What a link's ``?a=`` carries (:meth:`Anchor.to_param`): the old offsets and
    the checksum of the words. It holds no words: a page can say where the words
    are now, or that they were not found, never what they were."""

    start: int
    end: int
    check: str

    def to_param(self) -> str:
        return f"{self.start}-{self.end}.{self.check}"


def checksum(exact: str) -> str:
    """CRC-32 of the folded words' UTF-8, in :data:`_CHECK_CHARS` base 36 digits.

    Folded (case, typography, ё) as the fuzzy tier compares, so a link survives
    those edits; CRC-32 because the page scripts compute it too (no hash API a
    static page on plain http may count on)."""
    value = zlib.crc32(_fold(exact).encode("utf-8"))
    digits = ""
    while value:
        value, digit = divmod(value, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[digit] + digits
    return digits.rjust(_CHECK_CHARS, "0")


def parse_param(s: Any) -> Anchor | QuoteRef:
    """A link's ``?a=`` value: a :class:`QuoteRef` (today's links) or an
    :class:`Anchor` (links made before, which carried the words)."""
    if isinstance(s, str):
        m = _REF_RE.fullmatch(s)
        if m:
            start, end = int(m.group(1)), int(m.group(2))
            if not start < end or end - start > MAX_QUOTE_CHARS:
                raise AnchorError(f"quote link offsets {start}-{end} cannot hold a quote")
            return QuoteRef(start, end, m.group(3))
    return Anchor.from_param(s)


def resolve_ref(ref: QuoteRef, text: str) -> Match | None:
    """The words a :class:`QuoteRef` names, in (a possibly edited) ``text``.

    At the old offsets if the folded words there have the link's checksum
    (score 1.0); else the copy with that checksum nearest the old offsets,
    among the spans of the same length starting where a word starts (score
    below 1); else ``None``. Words edited beyond case and typography, or a
    quote that started mid-word and moved, are not found: the page says so.
    """
    length, t = ref.end - ref.start, _fold_text(text)
    if ref.end <= len(t) and checksum(t[ref.start : ref.end]) == ref.check:
        return Match(ref.start, ref.end, 1.0)
    best = None
    for m in _WORD_START_RE.finditer(t, 0, max(0, len(t) - length + 1)):
        a = m.start()
        if best is not None and abs(a - ref.start) >= abs(best - ref.start):
            continue
        if a + length <= len(t) and checksum(t[a : a + length]) == ref.check:
            best = a  # folding is idempotent: checksum() folds the folded text alike
    if best is None:
        return None
    return Match(best, best + length, min(_score(1.0, 1.0, 1.0, best, ref.start, len(t)), 0.999))


def resolve_link(link: Anchor | QuoteRef, text: str) -> Match | None:
    """:func:`resolve_ref` or :func:`resolve_anchor`, whichever ``link`` is."""
    if isinstance(link, QuoteRef):
        return resolve_ref(link, text)
    return resolve_anchor(link, text)


def text_fragment(exact: str, before: str = "", *, cut_before: bool = False) -> str:
    """A ``:~:text=`` value for ``exact``, as short as tells it from earlier text.

    ``before`` is the text before the quote (the whole text for :func:`make_anchor`);
    ``cut_before`` says its first word may be cut. Browsers match whole words on
    rendered text, case-insensitively, and take the first match: so a quote whose
    encoded words fit :data:`_FRAGMENT_MAX_CHARS` is given whole, a longer one (or
    one over several paragraphs) as ``textStart,textEnd`` with the fewest words at
    each end (up to :data:`_FRAGMENT_EDGE_WORDS`) whose first match is the quote's;
    words of context before it (same line, up to as many) are added only when the
    start words occur earlier. Words are added only while a part stays within
    :data:`_FRAGMENT_EDGE_CHARS` encoded characters, so a link stays printable in
    Cyrillic too. It is a best effort (the script and the server find the words by
    ``?a=``): the page around the text (title, notes) is not looked at, a repeated
    start the budget cannot tell apart is left so, and a quote starting mid-word
    cannot be expressed exactly.
    """
    lines = [" ".join(line.split()) for line in exact.splitlines()]
    lines = [line for line in lines if line]
    flat = " ".join(lines)
    earlier = _fold(" ".join(before.split()))
    seen = f"{earlier} {_fold(flat)}" if earlier else _fold(flat)
    at = len(seen) - len(flat)  # where the quote starts in ``seen``

    def first(words: str) -> bool:
        return seen.find(_fold(words)) == at

    def fits(words: list[str]) -> bool:  # a Cyrillic letter encodes to 6 characters
        return len(_encode_fragment(" ".join(words))) <= _FRAGMENT_EDGE_CHARS

    if len(lines) == 1 and len(_encode_fragment(flat)) <= _FRAGMENT_MAX_CHARS:
        start, parts = flat, [_encode_fragment(flat)]
    else:
        words = lines[0].split()
        size = 1
        while (
            size < min(_FRAGMENT_EDGE_WORDS, len(words))
            and not first(" ".join(words[:size]))
            and fits(words[: size + 1])
        ):
            size += 1
        start = " ".join(words[:size])
        # The end words come from the last line, after the head words.
        pool = lines[-1].split() if len(lines) > 1 else flat.split()[size:]
        rest = _fold(flat[len(start) :])
        size = min(1, len(pool))
        tail = " ".join(pool[-size:])
        # Browsers take the first textEnd after textStart: grow it until that
        # first occurrence is the real end of the quote.
        while (
            size < len(pool)
            and rest.find(_fold(tail)) != len(rest) - len(tail)
            and fits(pool[-size - 1 :])
        ):
            size += 1
            tail = " ".join(pool[-size:])
        # One long word can outweigh a sentence in Cyrillic: past the limit the browser
        # is given the start alone (it scrolls there; the page's script marks the rest).
        parts = [_encode_fragment(start)]
        if tail and len(_encode_fragment(tail)) <= _FRAGMENT_MAX_CHARS:  # one word: no end
            parts.append(_encode_fragment(tail))
    if not first(start):
        line = before.rsplit("\n", 1)[-1]
        context = line.split()
        if context and cut_before and _is_word(line[0]):
            context = context[1:]
        context = context[-_FRAGMENT_EDGE_WORDS:]
        size = 1
        while (
            size < len(context)
            and seen.find(_fold(" ".join([*context[-size:], start])))
            != at - len(" ".join(context[-size:])) - 1
            and fits(context[-size - 1 :])
        ):
            size += 1
        if context and len(_encode_fragment(" ".join(context[-size:]))) <= _FRAGMENT_MAX_CHARS:
            parts.insert(0, _encode_fragment(" ".join(context[-size:])) + "-")
    return ",".join(parts)


def make_anchor(
    text: str,
    start: int,
    end: int,
    *,
    testimony: str | None = None,
    passage: str | None = None,
    offset: int = 0,
) -> Anchor:
    """Anchor ``text[start:end]``, keeping the context that later tells copies apart.

    ``offset`` is where ``text`` starts in the testimony's public text, when it
    is only a part of it (a passage and its neighbours): the anchor's offsets
    count from the start of the whole text.
    """
    if not isinstance(text, str):
        raise AnchorError("anchors are made on text")
    for name, value in (("start", start), ("end", end), ("offset", offset)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise AnchorError(f"quote {name} must be an integer offset")
    if offset < 0:
        raise AnchorError(f"the text's offset {offset} is negative")
    if not 0 <= start < end <= len(text):
        raise AnchorError(
            f"quote offsets {start}-{end} are outside the text (0-{len(text)})",
            hint="select at least one character of the testimony",
        )
    _check_quote(text[start:end])
    return Anchor(
        exact=text[start:end],
        prefix=text[max(0, start - CONTEXT_CHARS) : start],
        suffix=text[end : end + CONTEXT_CHARS],
        start=offset + start,
        end=offset + end,
        testimony=testimony,
        passage=passage,
        fragment=text_fragment(text[start:end], text[:start]),
    )


def resolve_anchor(anchor: Anchor, text: str) -> Match | None:
    """Find the anchored words in (a possibly edited) ``text``.

    ``None`` means the words are gone or changed beyond a light edit: the
    caller should say the quote is orphaned rather than point somewhere else.
    """
    if not isinstance(anchor, Anchor) or not isinstance(text, str):
        raise TypeError("resolve_anchor(anchor: Anchor, text: str)")
    # Fast path: nothing moved and the context is intact, nothing can beat it.
    if text.startswith(anchor.exact, anchor.start) and _context_scores(
        anchor.prefix, anchor.suffix, text, anchor.start, anchor.end
    ) == (1.0, 1.0):
        return Match(anchor.start, anchor.end, 1.0)

    strong, weak = _resolve_exact(anchor, text)
    if strong is not None:
        return strong
    fuzzy = _resolve_fuzzy(anchor, text)
    if weak is not None and (fuzzy is None or weak.score >= fuzzy.score):
        return weak
    return fuzzy


# -- resolution internals -----------------------------------------------------


def _resolve_exact(anchor: Anchor, text: str) -> tuple[Match | None, Match | None]:
    """Copies of the exact words: a *strong* pick has context support, a *weak*
    one (long quotes only) has none and must compete with fuzzy matches."""
    exact, hint = anchor.exact, anchor.start
    positions = _occurrences(text, exact, hint)
    if not positions:
        return None, None
    length, n = len(exact), len(text)
    scored = []
    for a in positions:
        p, s = _context_scores(anchor.prefix, anchor.suffix, text, a, a + length)
        supported = max(p, s) >= _SUPPORT_BEST or (p + s) / 2 >= _SUPPORT_MEAN
        scored.append((supported, p + s, -abs(a - hint), a, p, s))
    best = max(scored)
    supported, _, _, a, p, s = best
    score = 1.0 if a == hint else min(_score(1.0, p, s, a, hint, n), 0.999)
    match = Match(a, a + length, score)
    if supported:
        return match, None
    if _length_class(exact) == "short":
        return None, None  # "yes" elsewhere, in other words, is not this "yes"
    return None, match


def _resolve_fuzzy(anchor: Anchor, text: str) -> Match | None:
    """Approximate matches, for quotes whose words were lightly edited.

    Comparison is on folded text (case, typography, ё), so those edits cost
    nothing, and offsets stay valid because folding keeps lengths. Candidates
    come from a complete but cheap window filter, are placed roughly, and only
    the best few get their ends fitted, which keeps a 100 KB text fast.
    """
    q = _fold(anchor.exact)
    t = _fold_text(text)
    length, n = len(q), len(t)
    klass = _length_class(anchor.exact)
    budget = _max_errors(length, klass)
    prefix, suffix = _fold(anchor.prefix), _fold(anchor.suffix)

    spans: set[tuple[int, int]] = set()
    if budget == 0:
        spans.update((a, a + length) for a in _occurrences(t, q, anchor.start))
    else:
        rough: set[tuple[int, int]] = set()
        for w0, w1 in _candidate_windows(q, t, budget, anchor.start, prefix, suffix):
            rough.update(_rough_spans(q, t, w0, w1, budget))
        # Fitting the ends is the costly part: only for the few rough spans
        # that are already close to the best one.
        ranked = sorted((OSA.distance(q, t[x:y]), x, y) for x, y in rough)
        cutoff = ranked[0][0] + max(4, budget // 2) if ranked else 0
        reach = min(budget, 16) + 2
        for d0, x, y in ranked[:_MAX_FITS]:
            if d0 <= cutoff:
                spans.add(_fit_ends(q, t, x, y, reach, prefix, suffix))

    best: tuple[float, int, int, int] | None = None
    for a0, b0 in spans:
        if text[a0:b0] == anchor.exact:
            continue  # exact copies were weighed already, with the same context
        a, b = _snap(anchor, t, a0, b0)
        d = OSA.distance(q, t[a:b])
        p, s = _context_scores(prefix, suffix, t, a, b)
        if not _acceptable(klass, length, d, p, s):
            continue
        score = min(_score(1.0 - d / length, p, s, a, anchor.start, n), 0.99)
        candidate = (score, -abs(a - anchor.start), a, b)
        if best is None or candidate > best:
            best = candidate
    return None if best is None else Match(best[2], best[3], best[0])


def _acceptable(klass: str, length: int, errors: int, prefix: float, suffix: float) -> bool:
    """Whether an approximate match is trustworthy enough to link to.

    Short quotes (a name, "yes", "he refused") occur by chance all over a long
    text, so they need both a near-exact match and context that clearly agrees.
    Longer quotes may carry more edits when their context agrees (mean side
    similarity 0.5 is far above the ~0.2-0.3 of unrelated text), and long ones
    may stand alone if only lightly edited. A quarter of the characters changed
    is where a sentence stops being "the same words"; for short quotes it is
    15% (one edit below 14 characters: a typo, not another word).
    """
    rate = errors / length
    best, mean = max(prefix, suffix), (prefix + suffix) / 2
    if klass == "short":
        return (
            errors <= _max_errors(length, klass)
            and best >= _FUZZY_SUPPORT_BEST
            and (errors == 0 or mean >= _FUZZY_SUPPORT_MEAN)
        )
    if rate <= _ERROR_RATE and mean >= _SUPPORT_MEAN:
        return True
    if klass == "medium":
        return rate <= _MEDIUM_LONE_ERROR_RATE and best >= _MEDIUM_LONE_SUPPORT
    return rate <= _LONE_ERROR_RATE


def _candidate_windows(
    q: str, t: str, budget: int, hint: int, prefix: str, suffix: str
) -> list[tuple[int, int]]:
    """Stretches of ``t`` that may hold ``q`` with at most ``budget`` edits.

    Overlapping windows guarantee every span of up to ``len(q) + budget``
    characters lies inside one; a longest-common-subsequence filter (bit-parallel,
    in C) drops windows that cannot reach ``len(q) - budget`` matching
    characters; the best dozen are kept, which only matters in very
    repetitive text. Windows right after the prefix or before the suffix are
    added, so an edited quote is still found next to its intact context.
    """
    length, n = len(q), len(t)
    stride = max(length, 32)
    width = stride + length + budget
    starts = list(range(0, max(n, 1), stride))
    windows = [t[i : i + width] for i in starts]
    hits = process.extract(
        q, windows, scorer=LCSseq.similarity, score_cutoff=length - budget, limit=_MAX_WINDOWS
    )
    found = {(starts[i], min(n, starts[i] + width)) for _, _, i in hits}
    margin = budget + 2
    if len(prefix) >= 4:
        tail = prefix[-12:]
        for pos in _occurrences(t, tail, hint - len(tail), limit=_MAX_SEEDS):
            a = pos + len(tail)
            found.add((max(0, a - margin), min(n, a + length + margin)))
    if len(suffix) >= 4:
        head = suffix[:12]
        for pos in _occurrences(t, head, hint + length, limit=_MAX_SEEDS):
            found.add((max(0, pos - length - margin), min(n, pos + margin)))
    return sorted(w for w in found if w[1] > w[0])


def _rough_spans(q: str, t: str, w0: int, w1: int, budget: int) -> set[tuple[int, int]]:
    """Where ``q`` roughly sits inside the window ``t[w0:w1]``.

    A quote of up to ``2 * _FIT_CHARS`` characters is placed directly by
    ``partial_ratio_alignment``. A longer one is located by the size-weighted
    median diagonal of its longest-common-subsequence blocks (robust to the
    stray blocks an LCS scatters at the edges), and its first and last
    characters are then placed near there the same way. Edits near the ends
    leave those a few characters off, which :func:`_fit_ends` settles.
    """
    length, n = len(q), len(t)
    if length <= 2 * _FIT_CHARS:
        if w1 - w0 <= length:
            return {(w0, w1)}
        found = fuzz.partial_ratio_alignment(q, t[w0:w1])
        return {(w0 + found.dest_start, w0 + found.dest_end)}
    blocks = [m for m in LCSseq.opcodes(q, t[w0:w1]).as_matching_blocks() if m.size]
    if not blocks:
        return set()
    diagonals = sorted((m.b - m.a, m.size) for m in blocks)
    half, seen, main = sum(size for _, size in diagonals) / 2, 0, diagonals[0][0]
    for diagonal, size in diagonals:
        seen += size
        if seen >= half:
            main = diagonal
            break
    guess = w0 + main
    lo, hi = max(0, guess - budget - 8), max(0, guess + budget + _FIT_CHARS + 8)
    a = lo + fuzz.partial_ratio_alignment(q[:_FIT_CHARS], t[lo:hi]).dest_start
    lo, hi = max(0, guess + length - budget - _FIT_CHARS - 8), max(0, guess + length + budget + 8)
    b = lo + fuzz.partial_ratio_alignment(q[-_FIT_CHARS:], t[lo:hi]).dest_end
    # In repetitive text the best head and the best tail may belong to
    # different copies: also try quote-length spans from each of them and
    # from the main diagonal.
    rough = {
        (max(0, a), min(n, a + length)),
        (max(0, b - length), min(n, b)),
        (max(0, guess), min(n, guess + length)),
    }
    if b - a >= 2 * _FIT_CHARS:
        rough.add((a, b))
    return {(x, y) for x, y in rough if y > x}


def _fit_ends(
    q: str, t: str, a: int, b: int, reach: int, prefix: str, suffix: str
) -> tuple[int, int]:
    """Move each end of ``t[a:b]`` to where ``q`` aligns best (coordinate descent).

    Long quotes are fitted by their first and last :data:`_FIT_CHARS`
    characters only, which keeps this cheap for a 2,000-character quote.

    The cost of an end is the quote's edit distance plus half the stored
    context's distance to the text beyond that end: the context is what says
    where the quote begins when its first words were edited ("The second
    time" become "Next time" must not swallow the sentence before), and it
    breaks the many ties at the ends ("ee" edited to "eex" is one insertion
    or one substitution). Remaining ties go to an end at the text's edge if
    the context was empty there, then to an end that is the quote's own end
    character, then to the length closest to the quote's.
    """
    n = len(t)
    before, after = prefix[-1:], suffix[:1]
    whole = len(q) <= 2 * _FIT_CHARS
    head, tail = (q, q) if whole else (q[:_FIT_CHARS], q[-_FIT_CHARS:])
    for _ in range(8):
        stop = b if whole else min(n, a + _FIT_CHARS)
        best: tuple = (float("inf"), True, True, 0, 0, a)
        for s in range(max(0, a - reach), min(stop - 1, a + reach) + 1):
            d = OSA.distance(head, t[s:stop]) + _context_cost(
                prefix, t[max(0, s - len(prefix)) : s]
            )
            outside = (t[s - 1] != before) if before and s else (s != 0 or bool(before))
            key = (d, outside, t[s] != head[0], abs(stop - s - len(head)), abs(s - a), s)
            best = min(best, key)
        moved = best[-1] != a
        a = best[-1]
        origin = a if whole else max(a, b - _FIT_CHARS)
        best = (float("inf"), True, True, 0, 0, b)
        for e in range(max(origin + 1, b - reach), min(n, b + reach) + 1):
            d = OSA.distance(tail, t[origin:e]) + _context_cost(suffix, t[e : e + len(suffix)])
            outside = (t[e] != after) if after and e < n else (e != n or bool(after))
            key = (d, outside, t[e - 1] != tail[-1], abs(e - origin - len(tail)), abs(e - b), e)
            best = min(best, key)
        moved = moved or best[-1] != b
        b = best[-1]
        if not moved:
            break
    return a, b


def _context_cost(context: str, window: str) -> float:
    # Half weight: where the quote itself fits clearly, a shift of one
    # character costs the context at most as much as it saves the quote.
    return 0.5 * OSA.distance(context, window) if context else 0.0


def _snap(anchor: Anchor, t: str, a: int, b: int) -> tuple[int, int]:
    """Extend a fuzzy span to whole words when the original quote began or
    ended on a word boundary: an edited first or last word is then covered
    whole, not cut mid-word. Stray whitespace the quote never had is trimmed."""
    exact = anchor.exact
    if _is_word(exact[0]) and not (anchor.prefix and _is_word(anchor.prefix[-1])):
        s = a
        while s > 0 and _is_word(t[s - 1]) and _is_word(t[s]) and a - s < 24:
            s -= 1
        if s == 0 or not _is_word(t[s - 1]):
            a = s
    if _is_word(exact[-1]) and not (anchor.suffix and _is_word(anchor.suffix[0])):
        e = b
        while e < len(t) and _is_word(t[e]) and _is_word(t[e - 1]) and e - b < 24:
            e += 1
        if e == len(t) or not _is_word(t[e]):
            b = e
    if not exact[0].isspace():
        while a < b - 1 and t[a].isspace():
            a += 1
    if not exact[-1].isspace():
        while b > a + 1 and t[b - 1].isspace():
            b -= 1
    return a, b


def _occurrences(text: str, needle: str, hint: int, limit: int = _MAX_OCCURRENCES) -> list[int]:
    """All (overlapping) positions of ``needle``, the ``limit`` nearest ``hint``."""
    found = []
    i = text.find(needle)
    while i != -1:
        found.append(i)
        i = text.find(needle, i + 1)
    if len(found) > limit:
        found.sort(key=lambda x: abs(x - hint))
        del found[limit:]
    return found


def _context_scores(prefix: str, suffix: str, text: str, a: int, b: int) -> tuple[float, float]:
    """How well the stored context agrees with the text beside ``text[a:b]``."""
    return _side_similarity(prefix, text, a, before=True), _side_similarity(
        suffix, text, b, before=False
    )


def _side_similarity(context: str, text: str, at: int, *, before: bool) -> float:
    """Agreement of one side's stored context with the text now beside a candidate.

    Context shorter than :data:`CONTEXT_CHARS` means the quote was near the
    start or end of the text, and that edge is context too: it is compared as
    one more character. Otherwise a lone "." kept before the end of a text
    would vouch for any copy of the quote followed by a full stop.
    """
    if len(context) >= CONTEXT_CHARS:
        window = text[max(0, at - len(context)) : at] if before else text[at : at + len(context)]
        return Levenshtein.normalized_similarity(context, window)
    span = len(context) + 1
    if before:
        window = text[max(0, at - span) : at]
        if at < span:
            window = _EDGE + window
        return Levenshtein.normalized_similarity(_EDGE + context, window)
    window = text[at : at + span]
    if at + span > len(text):
        window += _EDGE
    return Levenshtein.normalized_similarity(context + _EDGE, window)


def _score(quote_sim: float, prefix: float, suffix: float, a: int, hint: int, n: int) -> float:
    position = 1.0 - min(1.0, abs(a - hint) / max(n, 1))
    raw = _W_QUOTE * quote_sim + _W_PREFIX * prefix + _W_SUFFIX * suffix + _W_POS * position
    return raw / (_W_QUOTE + _W_PREFIX + _W_SUFFIX + _W_POS)


def _length_class(exact: str) -> str:
    words = len(exact.split())
    if words < _SHORT_WORDS or len(exact.strip()) < _SHORT_CHARS:
        return "short"
    return "long" if len(exact) >= _LONG_CHARS else "medium"


def _max_errors(length: int, klass: str) -> int:
    rate = _SHORT_ERROR_RATE if klass == "short" else _ERROR_RATE
    return int(length * rate)


def _fold(s: str) -> str:
    low = s.lower()
    if len(low) != len(s):  # a few characters lower to two ('İ'): keep offsets aligned
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in s)
    for old, new in _FOLD_PAIRS:  # str.replace is far faster than translate here
        if old in low:
            low = low.replace(old, new)
    return low


# A page resolves many anchors against the same text: fold it once.
_fold_text = lru_cache(maxsize=4)(_fold)


def _is_word(c: str) -> bool:
    return c.isalnum() or c in _WORD_JOINERS


def _check_quote(exact: str) -> None:
    if not exact:
        raise AnchorError("a quote needs at least one character")
    if len(exact) > MAX_QUOTE_CHARS:
        raise AnchorError(
            f"quote is too long ({len(exact)} characters, at most {MAX_QUOTE_CHARS})",
            hint="cite a shorter passage, or several",
        )
    if exact.isspace():
        raise AnchorError("a quote cannot be only whitespace")


# -- encodings ----------------------------------------------------------------

#: quote(s, safe="") and the compact form's separators '-' and '~'.
_encode_part = Quoting("-~")


def _decode_part(part: str, what: str) -> str:
    if not _PART_RE.fullmatch(part):
        raise AnchorError(f"quote parameter: the {what} is empty or badly encoded")
    try:
        return unquote(part, errors="strict")
    except UnicodeDecodeError:
        raise AnchorError(f"quote parameter: the {what} is not valid UTF-8") from None


#: Text Fragments reserve '&', ',' and '-'; quote() leaves only '-' of those.
_encode_fragment = Quoting("-")


def parse_text_fragment(value: str) -> dict[str, str | None]:
    """Split a ``:~:text=`` value into prefix, start, end and suffix (decoded).

    The inverse of :meth:`Anchor.to_text_fragment`, for checking links and
    for tools that receive fragments; ``end`` is ``None`` for a single string.
    """
    if not isinstance(value, str) or len(value) > MAX_PARAM_CHARS:
        raise AnchorError("text fragment must be text of reasonable length")
    for lead in (":~:text=", "text="):
        if value.startswith(lead):
            value = value[len(lead) :]
    pieces = value.split(",")
    prefix = suffix = None
    if len(pieces) > 1 and pieces[0].endswith("-"):
        prefix = pieces.pop(0)[:-1]
    if len(pieces) > 1 and pieces[-1].startswith("-"):
        suffix = pieces.pop()[1:]
    if len(pieces) not in (1, 2):
        raise AnchorError("text fragment must have a start and at most one end")
    decoded = []
    for part in [prefix, *pieces, suffix]:
        if part is None:
            decoded.append(None)
            continue
        if not _FRAGMENT_PART_RE.fullmatch(part):
            raise AnchorError("text fragment has an empty or unescaped part")
        try:
            decoded.append(unquote(part, errors="strict"))
        except UnicodeDecodeError:
            raise AnchorError("text fragment is not valid UTF-8") from None
    end = decoded[2] if len(pieces) == 2 else None
    return {
        "prefix": decoded[0],
        "start": decoded[1],
        "end": end,
        "suffix": decoded[-1],
    }
