"""Text analysis shared by indexing, querying, theme matching and quote checking.

Search only lands on the exact passage when the text and the query are cut into
the same terms, so there is one tokenizer, one :func:`fold` and one analyzer per
language, and every part of the archive imports them from here.

Whoosh pickles the schema, analyzers included, into the index. The classes
below are therefore part of the index format: they live at module level, hold
no heavy state (the pymorphy3 analyzer and the caches are process-wide and
created on first use), and renaming one makes existing indexes unreadable.
Any change to what a text produces must bump :data:`ANALYSIS_VERSION` so
indexes built with the old terms get rebuilt.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from whoosh.analysis import Analyzer, CompositeAnalyzer, Filter, RegexTokenizer, Token
from whoosh.lang.snowball.english import EnglishStemmer
from whoosh.lang.snowball.russian import RussianStemmer

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "ANALYSIS_VERSION",
    "INWORD",
    "LANGUAGES",
    "TOKEN_PATTERN",
    "EnglishStemFilter",
    "FoldingTokenizer",
    "RussianStemFilter",
    "UkrainianLemmaFilter",
    "PairFilter",
    "analyze",
    "analyze_spans",
    "analyzer_for",
    "base_language",
    "pairs_analyzer_for",
    "fold",
    "is_stopword",
]

ANALYSIS_VERSION = 1
LANGUAGES = ("en", "ru", "uk")

# --- tokenizer -------------------------------------------------------------

# A letter or digit. Underscore is out because Markdown uses it for emphasis;
# the two modifier-letter apostrophes are out so they only ever join words.
_LETTER = r"[^\W_\u02b9\u02bc]"
# Combining marks (stress accents, decomposed й/ї) and invisible characters
# that copy-paste leaves inside words (soft hyphen, zero-width space/joiners,
# word joiner, BOM). \w matches none of them, so without this "за́мок" or a
# PDF's "відпуст\u00adка" would split in two.
INWORD = (
    r"[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
    r"\u00ad\u200b-\u200d\u2060\ufeff]"
)
# Apostrophes that may join two parts of one word: п'ять п’ять пʼять п`ять don’t.
_APOSTROPHE_CHARS = "'`\u00b4\u02b9\u02bc\u2018\u2019\u201b"
_SEGMENT = rf"{_LETTER}+(?:{INWORD}+{_LETTER}*)*"

TOKEN_PATTERN: re.Pattern[str] = re.compile(rf"{_SEGMENT}(?:[{_APOSTROPHE_CHARS}]{_SEGMENT})*")
"""One word: letters/digits, word-internal apostrophes and combining marks.

Everything else separates words: Markdown punctuation (``*`` ``_`` ``~``),
quotes around a word, and hyphens, so "self-injury" is the two terms
"self" "injury" at consecutive positions and is found by the phrase
"self injury", by "injury" alone, and matches "self injury" when searched
as "self-injury". The joined spelling "selfinjury" is a different term.
"""

# --- fold ----------------------------------------------------------------------

_CANONICAL_APOSTROPHE = "'"  # the one pymorphy3's Ukrainian dictionary uses
# Letters NFD would strip that are letters of their own in Ukrainian or
# Belarusian: й is not и, ї is not і.
_KEEP_MARKED = frozenset("йЙїЇўЎ")
# Letters with no canonical decomposition that people still expect to fold.
_EXTRA_FOLDS = {"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŧ": "t", "ı": "i", "æ": "ae", "œ": "oe"}
_FOLD_RANGES = (
    (0x00C0, 0x024F),  # Latin-1 letters, Latin Extended-A/B
    (0x0370, 0x03FF),  # Greek
    (0x0400, 0x04FF),  # Cyrillic (ё ѐ ѝ ӣ ...)
    (0x1E00, 0x1EFF),  # Latin Extended Additional (Vietnamese ...)
    (0x1F00, 0x1FFF),  # Greek Extended
)
_DELETE_RANGES = (
    (0x0300, 0x036F),
    (0x0483, 0x0489),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),
    (0x00AD, 0x00AD),
    (0x200B, 0x200D),
    (0x2060, 0x2060),
    (0xFEFF, 0xFEFF),
)


def _build_fold_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for lo, hi in _FOLD_RANGES:
        for cp in range(lo, hi + 1):
            ch = chr(cp)
            if ch in _KEEP_MARKED:
                continue
            decomposed = unicodedata.normalize("NFD", ch)
            if len(decomposed) > 1 and all(unicodedata.combining(c) for c in decomposed[1:]):
                table[cp] = decomposed[0].casefold()
    for lo, hi in _DELETE_RANGES:
        for cp in range(lo, hi + 1):
            table[cp] = None
    for src, dst in _EXTRA_FOLDS.items():
        table[ord(src)] = dst
    for ch in _APOSTROPHE_CHARS:
        table[ord(ch)] = _CANONICAL_APOSTROPHE
    return table


_FOLD_TABLE = _build_fold_table()

# Mixed-script words are typing accidents (Latin i for Ukrainian і, a Latin
# "K" in "ТЦK"); mapping look-alikes to the script most of the word uses makes
# "вiдпустка" (Latin i) the same term as "відпустка".
_LATIN_TO_CYRILLIC = str.maketrans("aceiopxykhbmt", "асеіорхукнвмт")
_CYRILLIC_TO_LATIN = str.maketrans("асеіорхукнвмт", "aceiopxykhbmt")
_LATIN = re.compile(r"[a-z]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LETTER_RUN = re.compile(r"[^\W\d_]+")


def _unmix_word(match: re.Match[str]) -> str:
    word = match.group()
    latin = len(_LATIN.findall(word))
    if not latin:
        return word
    cyrillic = len(_CYRILLIC.findall(word))
    if not cyrillic:
        return word
    if cyrillic >= latin:
        return word.translate(_LATIN_TO_CYRILLIC)
    return word.translate(_CYRILLIC_TO_LATIN)


def fold(text: str) -> str:
    """Normalise text so that spelling variants people do not notice compare equal.

    Case, ё/е, the apostrophe variants, Latin accents and stress marks differ
    between a transcript and the way a journalist types a query; й, ї and ў
    are real letters and survive. The result can be shorter or longer than
    the input (ß becomes ss, marks disappear), so never use it for offsets:
    tokenize the original text and fold each token.
    """
    if text.isascii():
        text = text.lower()
        return text.replace("`", _CANONICAL_APOSTROPHE) if "`" in text else text
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)  # decomposed й/ї become one letter
    text = text.casefold().translate(_FOLD_TABLE)
    if not unicodedata.is_normalized("NFC", text):  # deleting a mark can unblock a composition
        text = unicodedata.normalize("NFC", text)
    if _LATIN.search(text) and _CYRILLIC.search(text):
        text = _LETTER_RUN.sub(_unmix_word, text)
    return text


# --- per-language term functions ------------------------------------------------

# Longer "words" are glued-together garbage; stemming them only costs time.
_MAX_MORPH_LEN = 48
_CACHE_SIZE = 1 << 17

_fold_token = lru_cache(maxsize=_CACHE_SIZE)(fold)

_english_stem = EnglishStemmer().stem
_russian_stem = RussianStemmer().stem
_RUSSIAN_WORD = re.compile(r"[а-я]+")  # after fold, ё is е


@lru_cache(maxsize=_CACHE_SIZE)
def _english_term(word: str) -> str:
    # Porter2 rather than whoosh's default Porter: whoosh's Porter never undoes
    # consonant doubling, so "stopped" -> "stopp" and "running" -> "runn".
    if len(word) > _MAX_MORPH_LEN or not word.isascii():
        return word
    return _english_stem(word)


@lru_cache(maxsize=_CACHE_SIZE)
def _russian_term(word: str) -> str:
    # The snowball stemmer reads Latin input as transliterated Russian
    # ("nato" -> "nat") and turns apostrophes into ь, so only Russian words go in.
    if len(word) > _MAX_MORPH_LEN or not _RUSSIAN_WORD.fullmatch(word):
        return word
    return _russian_stem(word)


_morph_lock = threading.Lock()
_morph_analyzer: Any = None


def _morph() -> Any:
    global _morph_analyzer
    if _morph_analyzer is None:
        with _morph_lock:
            if _morph_analyzer is None:
                import pymorphy3

                _morph_analyzer = pymorphy3.MorphAnalyzer(lang="uk")
    return _morph_analyzer


# pymorphy3's Ukrainian dictionary has no frequency data: every dictionary parse
# scores 1.0 and tied parses come in arbitrary order, so the first one is often
# a rare reading ("його" -> "йога", "вона" -> the surname "вон", "була" -> the
# adjective "булий"). Among the tied best parses, closed word classes win (a
# word that can be a conjunction or pronoun nearly always is one), then verbs
# (past tense and participles join their verb: втекла -> втекти), then nouns
# ("хлопців" is the plural of "хлопець", not a possessive adjective).
_POS_RANK = {"CONJ": 0, "PREP": 0, "NPRO": 1, "PRCL": 2, "NUMR": 2, "VERB": 3, "NOUN": 4}
_OTHER_RANK = 5


@lru_cache(maxsize=_CACHE_SIZE)
def _ukrainian_term(word: str) -> str:
    # Words outside the dictionary get pymorphy3's suffix-based guess, which
    # keeps the inflections of new words (зсушника, зсушники) together.
    if len(word) > _MAX_MORPH_LEN or not _CYRILLIC.search(word):
        return word
    parses = _morph().parse(word)
    if not parses:
        return word
    top = parses[0].score - 1e-9
    best = min(
        (p for p in parses if p.score >= top),
        key=lambda p: _POS_RANK.get(p.tag.POS, _OTHER_RANK),
    )
    return fold(best.normal_form) or word


# --- whoosh components ------------------------------------------------------------


class FoldingTokenizer(RegexTokenizer):
    """Cut text with :data:`TOKEN_PATTERN` and fold each token on the way out.

    Folding here rather than in a filter keeps it out of Whoosh's ``no_morph``
    switch (the spelling dictionary then still gets folded words) and saves a
    generator layer per token. Offsets and ``original`` stay on the raw text.

    With ``tokenize=False`` (how Whoosh's query parser hands over prefix,
    wildcard and range text) the token is marked ``verbatim``; see
    :class:`UkrainianLemmaFilter` for why that matters.
    """

    def __init__(self, expression: re.Pattern[str] | str = TOKEN_PATTERN) -> None:
        super().__init__(expression, gaps=False)

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        t.verbatim = not tokenize
        if not tokenize:
            t.original = value
            t.text = _fold_token(value)
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar = start_char
                t.endchar = start_char + len(value)
            yield t
            return
        fold_token = _fold_token
        for pos, match in enumerate(self.expression.finditer(value)):
            raw = match.group()
            t.text = fold_token(raw)
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = raw
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar = start_char + match.start()
                t.endchar = start_char + match.end()
            yield t


class _TermFilter(Filter):
    """Replace each folded token by its language's search term.

    Holds no state: the term function is a class attribute, so pickles carry
    only the class name.
    """

    is_morph = True
    _term = staticmethod(str)
    _skip_verbatim = False

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        term = self._term
        skip_verbatim = self._skip_verbatim
        for t in tokens:
            if not (skip_verbatim and getattr(t, "verbatim", False)):
                t.text = term(t.text)
            yield t


class EnglishStemFilter(_TermFilter):
    """Snowball English (Porter2): escaped/escape, deserted/desert, furloughs/furlough."""

    _term = staticmethod(_english_term)


class RussianStemFilter(_TermFilter):
    """Snowball Russian: отпуск/отпуска/отпуске, дезертировал/дезертировать."""

    _term = staticmethod(_russian_term)


class UkrainianLemmaFilter(_TermFilter):
    """pymorphy3 lemmas: відпустку/відпустці -> відпустка, втік -> втекти.

    Ukrainian inflection changes stems (втік/втекти, вертоліт/вертольоті), so a
    suffix stripper cannot join the forms; a dictionary can.

    Prefix and wildcard text ("втек*") is only folded: a stemmer cuts a word
    fragment down to a prefix of the stems ("cancell" -> "cancel"), but the
    lemmatiser completes it into some other word ("втек" -> "втека").
    """

    _term = staticmethod(_ukrainian_term)
    _skip_verbatim = True


_MORPH_FILTERS: dict[str, type[_TermFilter]] = {
    "en": EnglishStemFilter,
    "ru": RussianStemFilter,
    "uk": UkrainianLemmaFilter,
}


def base_language(language: str) -> str:
    """The primary language subtag, lower-cased: ``uk-UA`` and ``uk_ua`` are ``uk``."""
    return language.strip().lower().replace("_", "-").split("-", 1)[0]


def analyzer_for(language: str) -> Analyzer:
    """The analyzer for a field in ``language``, used for both index and query.

    No stop words: quotes are checked word for word, phrase search needs every
    position, and the words a stop list drops ("not", "no", "я", "не") change
    what a witness said. BM25 already gives frequent words little weight.
    Region subtags are ignored ("uk-UA" is "uk"); a language without its own
    rules is tokenized and folded only.
    """
    tokenizer = FoldingTokenizer()
    morph = _MORPH_FILTERS.get(base_language(language))
    if morph is None:
        return CompositeAnalyzer(tokenizer)
    return CompositeAnalyzer(tokenizer, morph())


class PairFilter(Filter):
    """Each two tokens in a row as one ``"first second"`` token.

    Whoosh's BiWordFilter passes a lone token through (a one-word passage
    would then "hold" a pair) and fails on a stream with no tokens at all.
    """

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        previous = None
        for t in tokens:
            text = t.text
            if previous is not None:
                t.text = f"{previous} {text}"
                yield t
            previous = text


def pairs_analyzer_for(language: str) -> Analyzer:
    """The analyzer of a ``pairs_`` field: :func:`analyzer_for`'s terms, two at a time."""
    return analyzer_for(language) | PairFilter()


_analyzers: dict[str, Analyzer] = {}


def _analyzer(language: str) -> Analyzer:
    base = base_language(language)
    analyzer = _analyzers.get(base)
    if analyzer is None:
        analyzer = _analyzers.setdefault(base, analyzer_for(base))
    return analyzer


def analyze(text: str, language: str) -> list[str]:
    """The terms ``text`` is indexed under, in order, for checks outside Whoosh."""
    return [t.text for t in _analyzer(language)(text)]


def analyze_spans(text: str, language: str) -> tuple[list[str], list[int]]:
    """The terms of ``text`` in order, and where each stands: ``[start0, end0, start1, ...]``."""
    terms: list[str] = []
    offsets: list[int] = []
    for t in _analyzer(language)(text, chars=True):
        terms.append(t.text)
        offsets += (t.startchar, t.endchar)
    return terms, offsets


# --- stop words ----------------------------------------------------------------
#
# Never removed from the index (see analyzer_for): only search's best-match
# mode reads them, to leave words like "the", "who", "как", "через" out of
# "most of the query's words" and out of highlights.

_EXTRA_STOPWORDS = {
    "en": "get gets got would could also us yes",
    "ru": "это этот быть был была были весь свой который которая которые",
    "uk": (
        "і й та в у на з із зі до по за від для що як це не ні але а чи же ж би б він вона "
        "воно вони я ми ви ти його її їх мене мені нас вас був була було були бути є так там "
        "тут коли де хто який яка яке які через після при про під над між без собі себе свій "
        "своє свою все всі вже ще теж тільки лише цей ця ці той те ті щоб аби якщо бо мій моя"
    ),
}


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Every language's stop words, folded: they do not count toward best match's "most
    words" and are not highlighted (the static page gets the same set)."""
    from whoosh.lang.stopwords import stoplists

    words: set[str] = set()
    for language in LANGUAGES:
        words.update(stoplists.get(language, ()))
        words.update(_EXTRA_STOPWORDS.get(language, "").split())
    return frozenset(fold(w) for w in words)


def is_stopword(word: str) -> bool:
    """Whether ``word`` (as typed) is a function word of English, Russian or Ukrainian.

    One list for all three: a query's language is not known, and the lists
    barely overlap (Whoosh's for en and ru, the archive's own for uk).
    """
    return fold(word) in stopwords()
