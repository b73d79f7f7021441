"""Other forms of Russian and Ukrainian words, for a search that cannot analyse them.

The archive's own search finds every form of a word: its analyzer
(:mod:`archive.analysis`) reduces Russian words to their stem and Ukrainian
words to their lemma. The published copy searches with Pagefind in the
browser, which has English word rules only (one index for every language),
but which does find every word that *begins* with a query word. So a word
can be searched by the beginning its forms share: "мобилизаци" finds
"мобилизации" and "мобилизацию", where "мобилизация" itself (a form no
testimony uses) would find nothing.

:func:`word_starts` works that beginning out from the public text, with the
archive's own analyzer: for each group of forms it puts together (one stem,
one lemma), the longest beginning the forms share. Every form is a key, and
so are the stem or lemma and the beginning it shares with the forms; the
search page looks a query word no testimony uses up without its last
letters (at most :data:`MAX_ENDING`: an ending the text does not have). A
beginning too short to mean anything (under :data:`MIN_START` letters, or
under half the word: "день" and "дня" share only "д") is not used; such a
form stands for itself.

Keys and beginnings are in Pagefind's own normalisation (:func:`pagefind_form`:
lower case, marks dropped, so "ё" is "е" and "й" is "и"), which Pagefind
applies to the words it indexes and to every query. Only words in Cyrillic
are here: the English ones Pagefind stems itself.

The table is built from public text only (:func:`archive.model.public_text`
of public testimonies: redacted words are already gone), and is split by a
key's first two letters (:func:`chunk_name`) so a search loads only the part
its words need.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable

from .analysis import INWORD, analyze_spans, base_language
from .model import Testimony, public_text

__all__ = [
    "MAX_ENDING",
    "MIN_START",
    "chunk_name",
    "chunks",
    "pagefind_form",
    "word_starts",
]

#: A beginning shorter than this stands for too many words to be useful.
MIN_START = 3
#: At most this many last letters are dropped from a word no testimony uses.
MAX_ENDING = 4

_CYRILLIC_WORD = re.compile(r"[\u0400-\u04ff]+")
_HAS_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
#: What the tokenizer keeps inside a word without it being a letter: combining marks (a
#: stress accent; й is и with one) and invisible characters (a PDF's soft hyphen).
_MARKS = re.compile(INWORD)


def pagefind_form(text: str) -> str:
    """``text`` as Pagefind compares words: lower case, decomposed, without marks."""
    text = text.lower()
    return text if text.isascii() else _MARKS.sub("", unicodedata.normalize("NFD", text))


def _start(common: str, word: str) -> str:
    """The beginning to search ``word`` by, or the word itself when the beginning is too short."""
    long_enough = len(common) >= MIN_START and 2 * len(common) >= len(word)
    return common if long_enough else word


def word_starts(testimonies: Iterable[Testimony]) -> dict[str, str]:
    """Each Cyrillic word form, stem and lemma of the public text of ``testimonies`` (pass the
    public ones only), in Pagefind's normalisation -> the beginning to search it by."""
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for testimony in testimonies:
        text = public_text(testimony)
        if not _HAS_CYRILLIC.search(text):
            continue  # an English testimony costs no analysis
        terms, offsets = analyze_spans(text, testimony.language)
        for n, term in enumerate(terms):
            form = pagefind_form(text[offsets[2 * n] : offsets[2 * n + 1]])
            if _CYRILLIC_WORD.fullmatch(form):  # not "м'ясо" or a mixed-script word
                groups[(base_language(testimony.language), term)].add(form)
    starts: dict[str, str] = {}

    def keep(key: str, start: str) -> None:
        # A key in two groups (a form in Russian and a lemma in Ukrainian) searches what
        # both beginnings share if that is long enough; else the one that begins the key
        # itself, for a word a text uses must find that text ("мати" is not to search
        # "мав", the forms of the Ukrainian lemma "мати").
        known = starts.get(key)
        if known is None or known == start:
            starts[key] = start
            return
        both = os.path.commonprefix([known, start])
        if _start(both, key) == both:
            starts[key] = both
        elif key.startswith(start) and not key.startswith(known):
            starts[key] = start

    for (_language, term), forms in sorted(groups.items()):
        common = os.path.commonprefix(sorted(forms))
        for form in forms:
            keep(form, _start(common, form))
        lemma = pagefind_form(term)
        if not _CYRILLIC_WORD.fullmatch(lemma):
            continue
        # The stem or lemma, and the beginning it shares with the forms, are keys too: a
        # query word no testimony uses comes down to one of them once its ending goes. Only
        # where the forms share a beginning: "бути" must not search the word "бути", which
        # no testimony uses, when "був" and "була" share only "бу".
        anchor = os.path.commonprefix([lemma, common])
        extra = {lemma, anchor} if _start(anchor, lemma) == anchor else {lemma}
        for key in sorted(extra - forms):
            if _start(common, key) == common:
                keep(key, common)
    return dict(sorted(starts.items()))


def chunk_name(key: str) -> str:
    """The file a key is in: its first two letters as hexadecimal code points ("мо" ->
    "043c043e"), ASCII for any web host; the search page computes the same name."""
    return "".join(f"{ord(c):04x}" for c in key[:2])


def chunks(starts: dict[str, str]) -> dict[str, dict[str, str]]:
    """:func:`word_starts`' table split by :func:`chunk_name`, each part sorted."""
    parts: dict[str, dict[str, str]] = defaultdict(dict)
    for key, start in starts.items():
        parts[chunk_name(key)][key] = start
    return {name: parts[name] for name in sorted(parts)}
