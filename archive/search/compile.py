"""Compiling a parsed query (:mod:`archive.query`) into a Whoosh query.

Each word is analyzed once per language field and looked up in the index:
words, phrases (as word pairs in passage text), prefixes (expanded to the
most frequent words), typo corrections and "did you mean", filters and
dates. What the query means is decided here and in :mod:`.queries`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

from rapidfuzz.distance import OSA
from whoosh import query as wq
from whoosh.codec.base import Automata

from .. import query as q
from ..analysis import fold, is_stopword
from ..fields import TEXT_FIELDS, pair_terms, pairs_field
from . import fastpath
from .queries import AndNot, DateFilter, InRow, UnionOr

__all__ = [
    "MODES",
    "Best",
    "Compiled",
    "Compiler",
    "Item",
    "Pattern",
    "compile_query",
    "min_should_match",
    "suggestion_text",
]

#: ``best``: descriptive queries rank passages by how many of their words they
#: hold; ``all``: every word must match (``+word`` requires one word in best).
MODES = ("best", "all")

#: Words also match these testimony-level fields, with less weight than the
#: passage text: a title word says little about which passage to read.
META_BOOSTS = {"title": 0.2, "narrator": 0.2, "place": 0.1}
PREFIX_EXPANSIONS = 64  # words a prefix may stand for, most frequent first
_PREFIX_SCAN = 5000  # lexicon entries looked at for one prefix
TYPO_CANDIDATES = 5
_MIN_TYPO_CHARS = 5  # shorter words are never corrected silently...
MIN_SUGGEST_CHARS = 4  # ...but may get a "did you mean"
MAX_TYPO_CHARS = 32
_TYPO_BOOST = 0.8
#: A name's spelling variants (a capitalised word) rank below the name as typed.
_VARIANT_BOOST = 0.6
VARIANT_CANDIDATES = 3

#: Latin letters to Cyrillic, for names typed in transliteration ("Mykola", "Olga"):
#: longest first; a name is looked up in both spellings, Russian and Ukrainian.
_TO_CYRILLIC = {
    "ru": [("shch", "щ"), ("zh", "ж"), ("kh", "х"), ("ch", "ч"), ("sh", "ш"), ("ts", "ц"),
           ("ya", "я"), ("yu", "ю"), ("yo", "ё"), ("ye", "е"), ("ey", "ей"), ("ay", "ай"),
           ("oy", "ой"), ("iy", "ий"), ("y", "ы"), ("i", "и"), ("h", "х"), ("e", "е")],
    "uk": [("shch", "щ"), ("zh", "ж"), ("kh", "х"), ("ch", "ч"), ("sh", "ш"), ("ts", "ц"),
           ("ya", "я"), ("yu", "ю"), ("ye", "є"), ("yi", "ї"), ("iy", "ій"), ("y", "и"),
           ("i", "і"), ("h", "г"), ("e", "е")],
}  # fmt: skip
_LATIN = dict(zip("abvgdzklmnoprstufcwxjq", "абвгдзклмнопрстуфквксйк", strict=False))
_LATIN["x"] = "кс"


# A highlight pattern is a sequence of term alternatives: ("escap",) marks every
# occurrence of one term, ("sent", "home") only where the terms are adjacent.
Pattern = tuple[str, ...]


@dataclass
class Item:
    """A positive word, phrase or prefix of the query, and where it can match."""

    label: str  # as typed
    text: wq.Query  # in passage text (typo corrections included)
    meta: dict[str, wq.Query]  # in title, narrator, place
    significant: bool  # not a stop word: counts toward "most of the words"
    required: bool


@dataclass
class Best:
    """Best-match plan: ``optional`` items (indices into ``Compiled.items``), of which a
    passage must hold ``minimum``; ``pairs`` are word pairs of the query, per text field,
    that boost a passage holding them (proximity)."""

    optional: list[int]
    minimum: int
    pairs: list[wq.Query]


@dataclass
class Compiled:
    query: wq.Query
    scored: bool  # has words that rank passages (not only filters)
    highlights: list[dict[str, set[Pattern]]]  # one per positive word/phrase/prefix
    suggestion: dict[q.Word, str]
    notices: list[str]
    items: list[Item]
    unknown: list[str]  # words no passage, title, narrator or place holds
    corrections: dict[str, list[str]]  # word -> the words searched instead
    dropped: list[str]  # unknown words left out of a best-match search
    best: Best | None  # None: every item must match (mode all, or operators)
    themes: list[str]  # theme: slugs of the query


def min_should_match(significant: int) -> int:
    """Of ``significant`` optional words, how many a passage must hold.

    One or two: all (a two-word search means both). Three or more: half,
    rounded up, and never fewer than two, so a descriptive sentence finds the
    passages that tell of most of what it describes. That is the first tier:
    when fewer than ``ranking.FILL_TESTIMONIES`` testimonies reach it, the
    best of the passages holding fewer follow as a marked fill tier.
    """
    if significant <= 2:
        return significant
    return max(2, -(-significant // 2))


class Compiler:
    """Turns the parsed tree into Whoosh queries, one word at a time, per field."""

    def __init__(self, searcher: Any, suggest: bool = True, fast_path: bool = True) -> None:
        self.searcher = searcher
        # The same phrase, its matcher set up only when walked (see fastpath.Phrase).
        self.phrase = fastpath.Phrase if fast_path else wq.Phrase
        self.suggest = suggest  # typo corrections and "did you mean" from the index's words
        self.reader = searcher.reader()
        self.schema = searcher.schema
        self.text_fields = [f for f in TEXT_FIELDS if f in self.schema]
        self.meta_fields = {f: b for f, b in META_BOOSTS.items() if f in self.schema}
        self.highlights: list[dict[str, set[Pattern]]] = []
        self.suggestion: dict[q.Word, str] = {}
        self.notices: list[str] = []
        self.scored = False
        self._terms: dict[tuple[str, str], list[str]] = {}
        self.items: list[Item] = []
        self.unknown: list[str] = []
        self.corrections: dict[str, list[str]] = {}
        self.themes: list[str] = []
        self._stop_highlights: list[int] = []  # highlights of stop words (left out if others)
        self.dropped: list[str] = []

    # -- helpers

    def terms(self, fieldname: str, text: str) -> list[str]:
        key = (fieldname, text)
        found = self._terms.get(key)
        if found is None:
            found = list(self.schema[fieldname].process_text(text, mode="query"))
            self._terms[key] = found
        return found

    def exists(self, fieldname: str, terms: Iterable[str]) -> bool:
        return all(self.reader.doc_frequency(fieldname, t) > 0 for t in terms)

    def _sequence(self, fieldname: str, terms: list[str], boost: float = 1.0) -> wq.Query:
        """Terms in a row in a field that keeps positions (title, narrator, place)."""
        if len(terms) == 1:
            return wq.Term(fieldname, terms[0], boost=boost)
        return self.phrase(fieldname, terms, boost=boost)

    @staticmethod
    def _text_sequence(fieldname: str, terms: list[str], boost: float = 1.0) -> wq.Query:
        """Terms in a row in passage text (see archive.fields).

        A phrase is its word pairs: for two words the pair is the phrase
        itself, scored by how often the phrase occurs (where Whoosh would
        score its words one by one); past two words the passages holding
        every pair are checked against their terms column.
        """
        if len(terms) == 1:
            return wq.Term(fieldname, terms[0], boost=boost)
        pairs = [wq.Term(pairs_field(fieldname), p) for p in pair_terms(terms)]
        if len(pairs) == 1:
            return pairs[0].with_boost(boost)
        return InRow(wq.And(pairs), terms, boost=boost)

    # -- nodes

    def compile(self, node: q.Node, negative: bool = False) -> wq.Query:
        if isinstance(node, q.And):
            return self._and(node, negative)
        if isinstance(node, q.Or):
            return wq.Or([self.compile(c, negative) for c in node.children])
        if isinstance(node, q.Not):
            return wq.Not(self.compile(node.child, not negative))
        if isinstance(node, q.Word):
            return self._word(node, negative)
        if isinstance(node, q.Phrase):
            return self._phrase(node.text, negative)
        if isinstance(node, q.Prefix):
            return self._prefix(node, negative)
        if isinstance(node, q.DateRange):
            # Undated passages are stored with 0: an open start must not reach them.
            low = node.low if node.low is not None else 1
            high = node.high if node.high is not None else 99_999_999
            return DateFilter(low, high)
        if isinstance(node, q.Filter):
            return self._filter(node)
        raise TypeError(node)  # pragma: no cover - the parser makes only the nodes above

    def _and(self, node: q.And, negative: bool) -> wq.Query:
        positives = [c for c in node.children if not isinstance(c, q.Not)]
        negatives = [c.child for c in node.children if isinstance(c, q.Not)]
        compiled = [self.compile(c, negative) for c in positives]
        if any(c is wq.NullQuery for c in compiled):
            # A word that matches nothing makes the AND match nothing (Whoosh's
            # normalize() would drop it and search the other words: a false "found").
            return wq.NullQuery
        base: wq.Query = wq.And(compiled) if compiled else wq.Every()
        if not negatives:
            return base
        return AndNot(base, wq.Or([self.compile(c, not negative) for c in negatives]))

    def _word(self, node: q.Word, negative: bool, required: bool = True) -> wq.Query:
        text_parts: list[wq.Query] = []
        meta: dict[str, wq.Query] = {}
        marks: dict[str, set[Pattern]] = {}
        for f in self.text_fields:
            terms = self.terms(f, node.text)
            if terms and self.exists(f, terms):
                text_parts.append(self._text_sequence(f, terms))
                marks.setdefault(f, set()).add(tuple(terms))
        for f, boost in self.meta_fields.items():
            terms = self.terms(f, node.text)
            if terms and self.exists(f, terms):
                meta[f] = self._sequence(f, terms, boost)
        if not any(self.terms(f, node.text) for f in self.text_fields):
            return wq.NullQuery  # punctuation only, cannot match anything
        known = bool(text_parts or meta)
        if not known and not negative:
            self.unknown.append(node.text)
            # "+word" is searched as typed: never replaced by another word.
            if self.suggest and not node.required:
                text_parts = self._typo(node, marks)
                if _name_like(node.text):  # a name also by its other spellings
                    parts, used = self._variants(node, marks)
                    fixed = self.corrections.get(node.text, [])
                    text_parts += [p for p, w in zip(parts, used, strict=True) if w not in fixed]
                    if used:
                        self.corrections[node.text] = list(dict.fromkeys([*fixed, *used]))
        if known and not negative and self.suggest and not node.required and _name_like(node.text):
            text_parts = [*text_parts, *self._variants(node, marks)[0]]
        parts = [*text_parts, *meta.values()]
        if not negative:
            self.scored = True
            if parts:
                stop = is_stopword(node.text)
                if marks:
                    if stop:
                        self._stop_highlights.append(len(self.highlights))
                    self.highlights.append(marks)
                self.items.append(
                    Item(node.text, _or(text_parts), meta, not stop, required or node.required)
                )
        return UnionOr(parts) if parts else wq.NullQuery

    def _phrase(self, text: str, negative: bool) -> wq.Query:
        text_parts: list[wq.Query] = []
        meta: dict[str, wq.Query] = {}
        marks: dict[str, set[Pattern]] = {}
        for f in self.text_fields:
            terms = self.terms(f, text)
            if terms and self.exists(f, terms):
                text_parts.append(self._text_sequence(f, terms))
                marks.setdefault(f, set()).add(tuple(terms))
        for f, boost in self.meta_fields.items():
            terms = self.terms(f, text)
            if terms and self.exists(f, terms):
                meta[f] = self._sequence(f, terms, boost)
        parts = [*text_parts, *meta.values()]
        if not negative:
            self.scored = True
            if marks:
                self.highlights.append(marks)
            if parts:
                self.items.append(Item(f'"{text}"', _or(text_parts), meta, True, True))
            elif any(self.terms(f, text) for f in self.text_fields):
                self.unknown.append(f'"{text}"')
        return UnionOr(parts) if parts else wq.NullQuery

    def _prefix(self, node: q.Prefix, negative: bool) -> wq.Query:
        parts: list[wq.Query] = []
        marks: dict[str, set[Pattern]] = {}
        capped = False
        for f in [*self.text_fields, *self.meta_fields]:
            terms, cut = self._expand(f, node.text)
            capped = capped or cut
            boost = self.meta_fields.get(f, 1.0)
            parts.extend(wq.Term(f, t, boost=boost) for t in terms)
            if terms and f in self.text_fields:
                marks.setdefault(f, set()).update((t,) for t in terms)
        if capped:
            self.notices.append(
                f"'{node.text}*' matches many words; only the {PREFIX_EXPANSIONS} most "
                "frequent were searched (type more letters to narrow it)"
            )
        if not negative:
            self.scored = True
            if marks:
                self.highlights.append(marks)
            if parts:
                text_parts = [p for p in parts if p.field() in self.text_fields]
                meta_parts = [p for p in parts if p.field() in self.meta_fields]
                meta = {f: _or([p for p in meta_parts if p.field() == f]) for f in self.meta_fields}
                self.items.append(Item(f"{node.text}*", _or(text_parts), meta, True, True))
            else:
                self.unknown.append(f"{node.text}*")
        return wq.Or(parts) if parts else wq.NullQuery

    def _expand(self, fieldname: str, prefix: str) -> tuple[list[str], bool]:
        """Terms of ``fieldname`` for words starting with ``prefix``.

        Prefixes are matched against the words as written (the spelling
        field, when the analyzer stems or lemmatizes), then mapped to the
        field's terms: "runni*" finds "running" although its term is "run".
        """
        fieldobj = self.schema[fieldname]
        spellname = fieldobj.spelling_fieldname(fieldname)
        if spellname not in self.schema:
            spellname = fieldname
        folded = list(self.schema[fieldname].process_text(prefix, mode="query", tokenize=False))
        start = fold(prefix) if spellname != fieldname else (folded[0] if folded else "")
        if not start:
            return [], False
        from_bytes = self.schema[spellname].from_bytes
        words = [
            (freq, from_bytes(btext))
            for btext, freq in _prefix_terms(self.reader, spellname, start, _PREFIX_SCAN)
        ]
        words.sort(key=lambda x: (-x[0], x[1]))
        capped = len(words) > PREFIX_EXPANSIONS
        chosen = [w for _, w in words[:PREFIX_EXPANSIONS]]
        if spellname == fieldname:
            return chosen, capped
        terms: list[str] = []
        for word in chosen:
            for term in self.schema[fieldname].process_text(word, mode="index"):
                if term not in terms and self.reader.doc_frequency(fieldname, term):
                    terms.append(term)
        return terms, capped

    def _typo(self, node: q.Word, marks: dict[str, set[Pattern]]) -> list[wq.Query]:
        """Words within a small edit distance of a word that matches nothing.

        1 edit for 5-7 letters, 2 for longer words; shorter words only get a
        "did you mean" (4 letters, 1 edit). Candidates come from the index's
        own words, and only those still in a live document count.
        """
        word = fold(node.text)
        if not word.isalpha() or not MIN_SUGGEST_CHARS <= len(word) <= MAX_TYPO_CHARS:
            return []
        maxdist = 1 if len(word) < 8 else 2
        found: dict[str, tuple[int, int, str]] = {}  # word -> (distance, -freq, field)
        for f in self.text_fields:
            fieldobj = self.schema[f]
            if not getattr(fieldobj, "spelling", False):
                continue
            spellname = fieldobj.spelling_fieldname(f)
            if spellname not in self.schema:
                continue
            for cand in _terms_within(self.reader, f, word, maxdist):
                if cand == word or cand in found:
                    continue
                freq = self._live_frequency(spellname, cand)
                if freq:
                    found[cand] = (OSA.distance(word, cand), -freq, f)
        if not found:
            return []
        ranked = sorted(found.items(), key=lambda item: (item[1][0], item[1][1], item[0]))
        self.suggestion[node] = ranked[0][0]
        if len(word) < _MIN_TYPO_CHARS:
            return []
        parts: list[wq.Query] = []
        used = []
        for cand, (_, _, f) in ranked[:TYPO_CANDIDATES]:
            terms = self.terms(f, cand)
            if terms and self.exists(f, terms):
                parts.append(self._text_sequence(f, terms, _TYPO_BOOST))
                marks.setdefault(f, set()).add(tuple(terms))
                used.append(cand)
        if used:
            self.corrections[node.text] = used
        return parts

    def _variants(
        self, node: q.Word, marks: dict[str, set[Pattern]]
    ) -> tuple[list[wq.Query], list[str]]:
        """Other spellings of a name, searched beside it with less weight.

        Names are spelt many ways ("Silvia Canon" for Sylvia Cannon, "Natches",
        a transliterated "Olga" for Ольга) and the index holds them as written:
        a capitalised word also finds the index's words one edit away (two
        from 8 letters), and a Latin one its Cyrillic spellings.
        """
        word = fold(node.text)
        if not word.isalpha():
            return [], []
        wanted: list[tuple[str, int]] = []
        if len(word) >= _MIN_TYPO_CHARS:
            wanted.append((word, 1 if len(word) < 8 else 2))
        if word.isascii() and len(word) >= MIN_SUGGEST_CHARS:
            wanted.extend((c, 1) for c in _cyrillic(word))
        found: dict[str, tuple[int, int, str]] = {}  # word -> (distance, -freq, field)
        for spelt, maxdist in wanted:
            for f in self.text_fields:
                fieldobj = self.schema[f]
                spellname = fieldobj.spelling_fieldname(f)
                if not getattr(fieldobj, "spelling", False) or spellname not in self.schema:
                    continue
                for cand in _terms_within(self.reader, f, spelt, maxdist):
                    if cand == word or cand in found:
                        continue
                    freq = self._live_frequency(spellname, cand)
                    if freq:
                        found[cand] = (OSA.distance(spelt, cand), -freq, f)
        ranked = sorted(found.items(), key=lambda item: (item[1][0], item[1][1], item[0]))
        parts: list[wq.Query] = []
        used: list[str] = []
        for cand, (_, _, f) in ranked[:VARIANT_CANDIDATES]:
            terms = self.terms(f, cand)
            if terms and self.exists(f, terms):
                parts.append(self._text_sequence(f, terms, _VARIANT_BOOST))
                marks.setdefault(f, set()).add(tuple(terms))
                used.append(cand)
        return parts, used

    def _live_frequency(self, fieldname: str, text: str) -> int:
        """Documents still holding a word: the lexicon keeps words of deleted documents."""
        matcher = self.reader.postings(fieldname, text)
        count = 0
        while matcher.is_active() and count < 1000:
            count += 1
            matcher.next()
        return count

    def _filter(self, node: q.Filter) -> wq.Query:
        if node.name == "theme":
            self.themes.append(node.value)
            return wq.ConstantScoreQuery(wq.Term("theme_tree", node.value), 0.0)
        if node.name == "lang":
            # lang:uk also matches region tags as written in files (uk-UA).
            codes = [
                t
                for t in map(bytes.decode, self.reader.lexicon("language"))
                if t.lower() == node.value or t.lower().startswith(node.value + "-")
            ]
            return wq.Or([wq.Term("language", c) for c in codes]) if codes else wq.NullQuery
        fieldname = node.name  # place, narrator: words of a text field
        terms = self.terms(fieldname, node.value) if fieldname in self.schema else []
        if not terms:
            return wq.NullQuery
        if node.phrase:
            return wq.ConstantScoreQuery(self._sequence(fieldname, terms), 0.0)
        return wq.ConstantScoreQuery(wq.And([wq.Term(fieldname, t) for t in terms]), 0.0)

    # -- best match

    def best(self, children: tuple[q.Node, ...]) -> tuple[wq.Query, Best | None]:
        """An AND of plain words, phrases, prefixes and filters, as best match reads it.

        Phrases, prefixes, ``+words`` and filters are required; the other words
        are optional, and a passage must hold :func:`min_should_match` of the
        significant ones (stop words never count, and are searched only when
        the query has nothing else). Unknown optional words are left out (and
        reported); matching is one AND of the required parts and an OR of the
        optional words, and what each passage holds is counted afterwards
        (:mod:`.ranking`).
        """
        required: list[wq.Query] = []
        optional: list[tuple[q.Word, wq.Query, int]] = []
        dropped: list[str] = []
        for child in children:
            if isinstance(child, q.Word) and not child.required:
                before = len(self.items)
                compiled = self._word(child, negative=False, required=False)
                if compiled is wq.NullQuery:
                    if len(self.items) == before and any(
                        self.terms(f, child.text) for f in self.text_fields
                    ):
                        dropped.append(child.text)
                    continue
                optional.append((child, compiled, before))
            else:
                compiled = self.compile(child)
                if compiled is wq.NullQuery:
                    return wq.NullQuery, None
                required.append(compiled)
        if not optional and not required:
            return wq.NullQuery, None  # every word unknown: nothing, never everything
        significant = [(w, c, i) for w, c, i in optional if self.items[i].significant]
        if not significant:
            if not required:  # only stop words: every one of them
                required = [c for _, c, _ in optional]
            for _, _, i in optional:
                self.items[i].required = True
            optional = []
        else:
            for _, _, i in optional:  # stop words beside significant ones: not searched
                if not self.items[i].significant:
                    self.items[i].required = False
            optional = significant
        self.dropped = dropped
        minimum = min_should_match(len(optional))
        pairs = self._pairs([w for w, _, _ in significant] if significant else [], children)
        # Two words or more stay an OR even when a passage must hold all of them: the
        # passages holding fewer may fill the page (ranking's fill tier).
        if len(optional) == 1:
            required.extend(c for _, c, _ in optional)
            for _, _, i in optional:
                self.items[i].required = True
            optional_query: list[wq.Query] = []
        else:
            optional_query = [UnionOr([c for _, c, _ in optional])] if optional else []
        parts = [*required, *optional_query]
        query = parts[0] if len(parts) == 1 else wq.And(parts) if parts else wq.Every()
        plan = Best([i for _, _, i in optional], minimum, pairs)
        return query, plan

    def _pairs(self, words: list[q.Word], children: tuple[q.Node, ...]) -> list[wq.Query]:
        """Word pairs of the query text (stop words included: "shot themselves"),
        per text field, where both its words are held."""
        plain = [c for c in children if isinstance(c, q.Word)]
        if len(words) < 2:
            return []
        pairs: list[wq.Query] = []
        for a, b in zip(plain, plain[1:], strict=False):
            if is_stopword(a.text) and is_stopword(b.text):
                continue
            for f in self.text_fields:
                ta, tb = self.terms(f, a.text), self.terms(f, b.text)
                if len(ta) == 1 and len(tb) == 1:
                    term = pair_terms([ta[0], tb[0]])[0]
                    if self.reader.doc_frequency(pairs_field(f), term):
                        pairs.append(wq.Term(pairs_field(f), term))
        return pairs

    def finish_highlights(self) -> list[dict[str, set[Pattern]]]:
        """The highlights, without stop words when the query has other words."""
        if len(self._stop_highlights) == len(self.highlights):
            return self.highlights
        left_out = set(self._stop_highlights)
        return [h for i, h in enumerate(self.highlights) if i not in left_out]


def _prefix_terms(reader: Any, fieldname: str, prefix: str, limit: int) -> list[tuple[bytes, int]]:
    """The first ``limit`` terms of a field starting with ``prefix``, with their doc frequency.

    What ``reader.iter_prefix`` gives, read a segment at a time: over several
    segments Whoosh merges their term lists and looks each term up again in
    every segment. The first ``limit`` terms of the merged list are among the
    first ``limit`` of each segment, and a segment with no terms in the field
    is not looked at.
    """
    frequency: dict[bytes, int] = {}
    for sub in getattr(reader, "readers", None) or [reader]:
        if fieldname not in sub.indexed_field_names():
            continue
        for btext, info in islice(sub.iter_prefix(fieldname, prefix), limit):
            frequency[btext] = frequency.get(btext, 0) + info.doc_frequency()
    return [(btext, frequency[btext]) for btext in sorted(frequency)[:limit]]


def _terms_within(reader: Any, fieldname: str, word: str, maxdist: int) -> set[str]:
    """Spelling words of a text field within ``maxdist`` edits, first letter fixed.

    One Levenshtein automaton is built and run over each segment's word list
    (Whoosh would rebuild it per segment, and its multi-segment fallback
    computes the distance to every word sharing the first letter).
    """
    spellname = reader.schema[fieldname].spelling_fieldname(fieldname)
    dfa = Automata.levenshtein_dfa(word, maxdist, 1)
    found: set[str] = set()
    for sub in getattr(reader, "readers", None) or [reader]:
        if sub.field_length(fieldname):
            found.update(Automata.find_matches(dfa, sub.cursor(spellname)))
    return found


def _name_like(text: str) -> bool:
    """A capitalised word that is not a function word: maybe a name or a place."""
    return text[:1].isupper() and not is_stopword(text)


def _cyrillic(word: str) -> list[str]:
    """A Latin (transliterated) word in Russian and Ukrainian spelling."""
    spellings = []
    for pairs in _TO_CYRILLIC.values():
        out, i = [], 0
        while i < len(word):
            for latin, cyr in pairs:
                if word.startswith(latin, i):
                    out.append(cyr)
                    i += len(latin)
                    break
            else:
                out.append(_LATIN.get(word[i], ""))
                i += 1
        spelt = "".join(out)
        if spelt and spelt not in spellings:
            spellings.append(spelt)
    return spellings


def _or(parts: list[wq.Query]) -> wq.Query:
    if not parts:
        return wq.NullQuery
    return parts[0] if len(parts) == 1 else UnionOr(parts)


def _plain(root: q.Node) -> tuple[q.Node, ...] | None:
    """The clauses of a query best match may read: words, phrases, prefixes and
    filters joined by AND (no OR, NOT or parentheses, whose meaning stays exact)."""
    children = root.children if isinstance(root, q.And) else (root,)
    kinds = (q.Word, q.Phrase, q.Prefix, q.Filter, q.DateRange)
    if all(isinstance(c, kinds) for c in children):
        return children
    return None


def compile_query(
    parsed: q.ParsedQuery,
    searcher: Any,
    suggest: bool = True,
    fast_path: bool = True,
    mode: str = "all",
) -> Compiled:
    """The Whoosh query for ``parsed``, with what highlighting and the page need."""
    compiler = Compiler(searcher, suggest, fast_path)
    best: Best | None = None
    plain = _plain(parsed.root) if parsed.root is not None and mode == "best" else None
    if parsed.root is None:
        query: wq.Query = wq.Every()
    elif plain is not None:
        query, best = compiler.best(plain)
    elif isinstance(parsed.root, q.Not):
        query = AndNot(wq.Every(), compiler.compile(parsed.root.child, True))
    else:
        query = compiler.compile(parsed.root)
    if query is wq.NullQuery:
        best = None
    return Compiled(
        query if query is wq.NullQuery else query.normalize(),
        compiler.scored,
        compiler.finish_highlights(),
        compiler.suggestion,
        [*parsed.notices, *compiler.notices],
        compiler.items,
        list(dict.fromkeys(compiler.unknown)),
        compiler.corrections,
        compiler.dropped,
        best,
        compiler.themes,
    )


def suggestion_text(parsed: q.ParsedQuery, corrections: Mapping[q.Word, str]) -> str | None:
    if not corrections:
        return None
    text = parsed.text
    for word in sorted(corrections, key=lambda w: w.start, reverse=True):
        text = text[: word.start] + corrections[word] + text[word.end :]
    return " ".join(text.split())
