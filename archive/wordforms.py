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

A word a testimony does not use at all may still be a form of one it uses
("відпустку" of the text's "відпустка"): for each stem or lemma, the
beginning shared by its dictionary forms (pymorphy3's lexeme) that the
archive's own analyzer gives the same term is a key too ("відпуст"), so the
page's cut of a few last letters reaches it.

Every other public word (English, digits) is a key too, with an empty value:
"search it as typed" (Pagefind stems English itself). So the page knows,
before asking Pagefind, whether a word occurs in any public text at all: a
word no key resembles is reported as such ("No passage has ..."), never
sent to Pagefind, which would split an unknown word into shorter words it
knows ("qzx..." into the "Q" of "**Q:**"); and the keys are the words a
"did you mean" proposes.

Keys and beginnings are in Pagefind's own normalisation (:func:`pagefind_form`:
lower case, marks dropped, so "ё" is "е" and "й" is "и"), which Pagefind
applies to the words it indexes and to every query.

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
from functools import cache
from typing import Any

from .analysis import INWORD, analyze, analyze_spans, base_language
from .model import Testimony, public_text

__all__ = [
    "MAX_ENDING",
    "MIN_START",
    "chunk_name",
    "chunks",
    "lexeme_start",
    "pagefind_form",
    "word_starts",
]

#: A beginning shorter than this stands for too many words to be useful.
MIN_START = 3
#: At most this many last letters are dropped from a word no testimony uses.
MAX_ENDING = 4

_CYRILLIC_WORD = re.compile(r"[\u0400-\u04ff]+")
#: A word as Pagefind cuts text (letters and digits; apostrophes and hyphens split).
_PLAIN_WORD = re.compile(r"[^\W_]+")
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


@cache
def _morph(language: str) -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang=language)


def lexeme_start(form: str, term: str, language: str) -> str:
    """The beginning shared by the dictionary forms of ``form`` that the archive's analyzer
    reduces to ``term`` as it reduces ``form`` (so the server finds them alike), or ""."""
    if language not in ("ru", "uk"):
        return ""
    forms = {form}
    for parsed in _morph(language).parse(form)[:3]:
        if analyze(parsed.normal_form, language) != [term]:
            continue  # another word spelt alike
        for other in parsed.lexeme:
            word = pagefind_form(other.word)
            known = word in forms or not _CYRILLIC_WORD.fullmatch(word)
            if not known and analyze(other.word, language) == [term]:
                forms.add(word)
    return os.path.commonprefix(sorted(forms)) if len(forms) > 1 else ""


def word_starts(testimonies: Iterable[Testimony]) -> dict[str, str]:
    """Each word form of the public text of ``testimonies`` (pass the public ones only), and
    each Cyrillic stem, lemma and lexeme beginning, in Pagefind's normalisation -> the
    beginning to search it by ("" for a word Pagefind searches as typed)."""
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    plain: set[str] = set()
    for testimony in testimonies:
        text = public_text(testimony)
        plain.update(_PLAIN_WORD.findall(pagefind_form(text)))
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

    lexemes: dict[str, str] = {}
    for (language, term), forms in sorted(groups.items()):
        common = os.path.commonprefix(sorted(forms))
        for form in forms:
            keep(form, _start(common, form))
        lemma = pagefind_form(term)
        if not _CYRILLIC_WORD.fullmatch(lemma):
            continue
        # The forms' shared dictionary beginning, for a form no text uses: "відпустку" is
        # cut down to "відпуст" and searched as the text's "відпустка". Kept only where it
        # is long enough and points one way (never over a key of the text's own).
        start = _start(common, min(forms, key=len))
        shared = lexeme_start(min(sorted(forms), key=len), term, language)
        if shared and _start(shared, min(forms, key=len)) == shared:
            lexemes[shared] = start if lexemes.get(shared, start) == start else ""
        # The stem or lemma, and the beginning it shares with the forms, are keys too: a
        # query word no testimony uses comes down to one of them once its ending goes. Only
        # where the forms share a beginning: "бути" must not search the word "бути", which
        # no testimony uses, when "був" and "була" share only "бу".
        anchor = os.path.commonprefix([lemma, common])
        extra = {lemma, anchor} if _start(anchor, lemma) == anchor else {lemma}
        for key in sorted(extra - forms):
            if _start(common, key) == common:
                keep(key, common)
    for key, start in lexemes.items():
        if start and key not in starts:
            starts[key] = start
    for word in plain:
        if not _CYRILLIC_WORD.fullmatch(word):
            starts.setdefault(word, "")
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
