"""Parse a person's search query into a small syntax tree, refusing what is unsafe.

User text never reaches Whoosh's own query parser: its wildcard, fuzzy and
nested-group syntax lets one query run for tens of seconds or overflow the
stack. This module reads the archive's small grammar with a single linear
scan and a parser whose depth is bounded before it starts, and every limit
raises :class:`~archive.errors.QueryError` with a message that says what to
change. :mod:`archive.search` turns the tree into Whoosh queries.

Grammar (``OR`` binds tighter than the implicit ``AND``, as in web search)::

    query    := clause*                      all clauses must match
    clause   := ("NOT" | "-")* group         the "-" is written against the word
    group    := atom ("OR" atom)*
    atom     := "(" query ")" | "PHRASE" | FIELD ":" VALUE | WORD | "+"WORD | PREFIX*

``+word`` marks a word as required (see :mod:`archive.search.ranking`: in
best-match mode the other words are optional). ``AND`` between clauses is
allowed and changes nothing. ``OR``, ``AND`` and
``NOT`` are operators only in capitals. Filters: ``theme:SLUG``,
``lang:xx``, ``place:word``/``place:"two words"``, ``narrator:word``,
``date:1937``, ``date:1937-05``, ``date:1937..1938`` (either end may be left
open: ``date:..1938``). ``word*`` is a prefix (three letters or more). Phrases
may be written with straight or typographic quotes (``"`` ``“”`` ``„“`` ``«»``).
A ``?`` at the end of a word is punctuation (a question); anywhere else it is
refused, as are ``~`` fuzzy operators (typo tolerance is automatic and bounded).
A word written ``name:value`` with a name that is not a filter is searched as
words, and the result carries a notice saying so.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from .errors import QueryError

__all__ = [
    "FIELDS",
    "OPERATORS",
    "QUOTE_MARKS",
    "MAX_DEPTH",
    "MAX_QUERY_CHARS",
    "MAX_TERMS",
    "MAX_TOKEN_CHARS",
    "MIN_PREFIX_CHARS",
    "And",
    "DateRange",
    "Filter",
    "Node",
    "Not",
    "Or",
    "ParsedQuery",
    "Phrase",
    "Prefix",
    "Word",
    "parse_query",
]

MAX_QUERY_CHARS = 500
MAX_TERMS = 32
MAX_DEPTH = 8
MAX_TOKEN_CHARS = 64
MIN_PREFIX_CHARS = 3

#: Filter names as typed (lower case) -> the filter they mean.
FIELDS = {
    "theme": "theme",
    "themes": "theme",
    "lang": "lang",
    "language": "lang",
    "place": "place",
    "narrator": "narrator",
    "date": "date",
    "year": "date",
}
FIELD_HELP = "theme:SLUG, lang:xx, place:word, narrator:word, date:1937..1938"

#: What may open or close a phrase, straight or typographic.
QUOTE_MARKS = '"\u201c\u201d\u201e\u00ab\u00bb'
#: The operators, in capitals only.
OPERATORS = ("AND", "OR", "NOT")
_ANY_QUOTE = frozenset(QUOTE_MARKS)
_STOP = frozenset("()") | _ANY_QUOTE
_FIELD_RE = re.compile(r"([A-Za-z]+):(.*)", re.DOTALL)
_SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_LANG_RE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")
_DATE_RE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_WORD_CHAR_RE = re.compile(r"[^\W_]")
_PREFIX_RE = re.compile(r"[^\W_]+(?:['\u2019\u02bc][^\W_]+)*")


# --- the tree -----------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    """A word as typed; analysis per language happens when the query is compiled."""

    text: str
    start: int = 0  # where it is in the query string, for "did you mean"
    end: int = 0
    required: bool = False  # written "+word": must match as typed, never corrected


@dataclass(frozen=True)
class Prefix:
    text: str  # without the trailing "*"


@dataclass(frozen=True)
class Phrase:
    text: str


@dataclass(frozen=True)
class Filter:
    """``theme``, ``lang``, ``place`` or ``narrator`` with its value."""

    name: str
    value: str
    phrase: bool = False


@dataclass(frozen=True)
class DateRange:
    """Inclusive bounds as ``yyyymmdd`` numbers; ``None`` is open."""

    low: int | None
    high: int | None


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Word | Prefix | Phrase | Filter | DateRange | And | Or | Not


@dataclass(frozen=True)
class ParsedQuery:
    """The tree (``None`` for an empty query), the cleaned text and notices for the reader.

    ``text`` is the query after cleaning (control-free, NFC); word offsets
    in the tree count in it.
    """

    root: Node | None
    text: str
    notices: tuple[str, ...] = field(default=())


# --- tokens ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    kind: str  # "(", ")", "OR", "AND", "NOT", "term"
    node: Node | None = None
    pos: int = 0


def _clean(query: object) -> str:
    if not isinstance(query, str):
        raise QueryError("the query must be text")
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(
            f"the query is {len(query):,} characters long, over the limit of {MAX_QUERY_CHARS}",
            hint="search for a few distinctive words, or use 'archive quote' to check a long quote",
        )
    chars = []
    for ch in query:
        if ch in "\t\n\r\u2028\u2029\u00a0\u3000":
            chars.append(" ")
            continue
        category = unicodedata.category(ch)
        if category == "Cc":
            raise QueryError(
                f"the query contains a control character (U+{ord(ch):04X})",
                hint="retype the query, or paste it as plain text",
            )
        if category == "Cs":
            raise QueryError("the query is not valid text (an unpaired surrogate)")
        if category == "Cf":  # soft hyphens, zero-width spaces, direction marks: invisible
            continue
        chars.append(ch)
    return unicodedata.normalize("NFC", "".join(chars))


def _tokens(text: str, notices: list[str]) -> list[_Tok]:
    tokens: list[_Tok] = []
    depth = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == " ":
            i += 1
        elif ch == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise QueryError(
                    f"parentheses are nested more than {MAX_DEPTH} deep",
                    hint="remove some of the parentheses",
                )
            tokens.append(_Tok("(", pos=i))
            i += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise QueryError(
                    f"a ')' at character {i + 1} has no '(' before it",
                    hint="remove it, or add the missing '('",
                )
            tokens.append(_Tok(")", pos=i))
            i += 1
        elif ch in _ANY_QUOTE:
            phrase, i = _read_phrase(text, i)
            tokens.append(_Tok("term", Phrase(phrase), pos=i))
        elif ch == "+" and i + 1 < n and _WORD_CHAR_RE.match(text[i + 1]):
            # "+word": the word is required (best-match mode makes the others optional).
            start = i + 1
            i = start
            while i < n and text[i] != " " and text[i] not in _STOP:
                i += 1
            node = _word(text[start:i], start)
            if isinstance(node, Word):
                node = Word(node.text, node.start, node.end, required=True)
            if node is not None:
                tokens.append(_Tok("term", node, pos=start))
        elif ch == "-" and i + 1 < n and text[i + 1] != " " and text[i + 1] != "-":
            # "-word", "-(a b)", '-"a phrase"', "-theme:x": a negation.
            tokens.append(_Tok("NOT", pos=i))
            i += 1
        else:
            start = i
            while i < n and text[i] != " " and text[i] not in _STOP:
                i += 1
            chunk = text[start:i]
            if chunk in OPERATORS:
                tokens.append(_Tok(chunk, pos=start))
                continue
            if chunk in ("|", "||"):
                tokens.append(_Tok("OR", pos=start))
                continue
            if chunk in ("&", "&&"):
                tokens.append(_Tok("AND", pos=start))
                continue
            match = _FIELD_RE.fullmatch(chunk)
            if match and match.group(1).lower() in FIELDS:
                name = FIELDS[match.group(1).lower()]
                value, phrase = match.group(2), False
                if not value and i < n and text[i] in _ANY_QUOTE:
                    value, i = _read_phrase(text, i)
                    phrase = True
                tokens.append(_Tok("term", _filter(name, value, phrase), pos=start))
                continue
            pieces = [(chunk, start)]
            if match and match.group(2):
                notices.append(
                    f"'{match.group(1)}:' is not a filter, so '{chunk}' was searched as words "
                    f"(filters: {FIELD_HELP})"
                )
                name = match.group(1)
                pieces = [(name, start), (match.group(2), start + len(name) + 1)]
            for piece, piece_start in pieces:
                node = _word(piece, piece_start)
                if node is not None:
                    tokens.append(_Tok("term", node, pos=piece_start))
    if depth:
        raise QueryError(
            f"{depth} '(' {'is' if depth == 1 else 'are'} never closed",
            hint="add the missing ')' or remove the '('",
        )
    return tokens


def _read_phrase(text: str, i: int) -> tuple[str, int]:
    """Text between a quote at ``i`` and the next quote; returns (phrase, next index).

    Any quote character closes a phrase: people mix straight and typographic
    quotes, and pasted text often has a curly opener and a straight closer.
    """
    j = i + 1
    while j < len(text) and text[j] not in _ANY_QUOTE:
        j += 1
    if j >= len(text):
        raise QueryError(
            f"the quote at character {i + 1} is never closed",
            hint='close the phrase with a matching quote, or remove the "',
        )
    phrase = text[i + 1 : j].strip()
    for word in phrase.split():
        _check_length(word)
    if "*" in phrase or "~" in phrase:
        raise QueryError(
            "wildcards (*) and ~ do not work inside a phrase",
            hint="search the phrase without them, or take the word out of the quotes",
        )
    return phrase, j + 1


def _check_length(chunk: str) -> None:
    if len(chunk) > MAX_TOKEN_CHARS:
        raise QueryError(
            f"a word of {len(chunk):,} characters is longer than the limit of {MAX_TOKEN_CHARS}",
            hint="search for shorter words",
        )


def _word(chunk: str, start: int) -> Node | None:
    _check_length(chunk)
    if "~" in chunk:
        raise QueryError(
            f"'{chunk}': fuzzy search with ~ is not supported",
            hint="remove the ~; words with no match are already looked up with small typos",
        )
    stripped = chunk.rstrip("?")
    end = start + len(stripped)
    if "?" in stripped:
        raise QueryError(
            f"'{chunk}': ? wildcards are not supported",
            hint="type the whole word, or end it with * to match any ending",
        )
    chunk = stripped
    if "*" in chunk:
        body = chunk[:-1]
        if chunk.endswith("*") and "*" not in body and _PREFIX_RE.fullmatch(body):
            if len(body) < MIN_PREFIX_CHARS:
                raise QueryError(
                    f"'{chunk}': a prefix needs at least {MIN_PREFIX_CHARS} letters before the *",
                    hint="type more of the word",
                )
            return Prefix(body)
        if not body.strip("*") or chunk.startswith("*"):
            raise QueryError(
                f"'{chunk}': a wildcard cannot start a word or stand alone",
                hint=f"type at least {MIN_PREFIX_CHARS} letters and put * only at the end: escap*",
            )
        raise QueryError(
            f"'{chunk}': * is allowed only at the end of a word of letters",
            hint="write the beginning of the word followed by *: escap*",
        )
    if not _WORD_CHAR_RE.search(chunk):
        return None  # punctuation only: nothing to search
    return Word(chunk, start, end)


def _filter(name: str, value: str, phrase: bool) -> Node:
    value = value.strip()
    if not value:
        raise QueryError(
            f"{name}: needs a value",
            hint=f"for example {_EXAMPLES[name]}, with no space after the colon",
        )
    if not phrase:
        _check_length(value)
    if name == "theme":
        slug = value.lower()
        if not _SLUG_RE.fullmatch(slug):
            raise QueryError(
                f"theme:{value} is not a theme slug",
                hint="use the slug from the themes list, for example theme:furlough",
            )
        return Filter("theme", slug)
    if name == "lang":
        code = value.lower()
        if not _LANG_RE.fullmatch(code):
            raise QueryError(f"lang:{value} is not a language code", hint="use en, ru or uk")
        return Filter("lang", code)
    if name == "date":
        return _date_range(value)
    if not _WORD_CHAR_RE.search(value):
        raise QueryError(f"{name}:{value} has no letters or digits to search for")
    if "*" in value or "~" in value or "?" in value:
        raise QueryError(
            f"{name}: takes whole words, not wildcards",
            hint=f"for example {_EXAMPLES[name]}",
        )
    return Filter(name, value, phrase)


_EXAMPLES = {
    "theme": "theme:furlough",
    "lang": "lang:uk",
    "place": 'place:kharkiv or place:"new orleans"',
    "narrator": "narrator:andrei",
    "date": "date:1937, date:1937-05 or date:1937..1938",
}


def _date_bound(value: str, high: bool) -> int:
    match = _DATE_RE.fullmatch(value)
    if not match:
        raise QueryError(
            f"date:{value} is not a date",
            hint="write date:1937, date:1937-05, date:1937-05-12 or date:1937..1938",
        )
    year = int(match.group(1))
    month = int(match.group(2)) if match.group(2) else None
    day = int(match.group(3)) if match.group(3) else None
    if month is not None and not 1 <= month <= 12 or day is not None and not 1 <= day <= 31:
        raise QueryError(f"date:{value} has no such month or day")
    # Partial dates are stored as their first day or with zeros; bounds cover both.
    if high:
        return year * 10000 + (month if month is not None else 12) * 100 + (day or 99)
    return year * 10000 + (month or 0) * 100 + (day or 0)


def _date_range(value: str) -> DateRange:
    if ".." in value:
        low_text, _, high_text = value.partition("..")
        if not low_text and not high_text:
            raise QueryError("date:.. needs at least one date", hint="date:1937..1938")
        low = _date_bound(low_text, high=False) if low_text else None
        high = _date_bound(high_text, high=True) if high_text else None
        if low is not None and high is not None and low > high:
            raise QueryError(
                f"date:{value} ends before it starts", hint="put the earlier date first"
            )
        return DateRange(low, high)
    return DateRange(_date_bound(value, high=False), _date_bound(value, high=True))


# --- parser ---------------------------------------------------------------------


class _Parser:
    """Recursive descent over a token list whose nesting is already known to be shallow."""

    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def sequence(self, closing: bool) -> Node | None:
        clauses: list[Node] = []
        while True:
            tok = self.peek()
            if tok is None or tok.kind == ")":
                if tok is not None and not closing:  # cannot happen: depth is checked
                    raise QueryError("unbalanced parentheses")
                break
            if tok.kind == "AND":
                if not clauses:
                    raise QueryError("AND needs a word before it", hint="remove the AND")
                self.i += 1
                nxt = self.peek()
                if nxt is None or nxt.kind in (")", "OR", "AND"):
                    raise QueryError("AND needs a word after it", hint="remove the AND")
                continue
            if tok.kind == "OR":
                raise QueryError(
                    "OR needs a word on each side", hint="write it as: desertion OR furlough"
                )
            clause = self.clause()
            if clause is not None:
                clauses.append(clause)
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else And(tuple(clauses))

    def clause(self) -> Node | None:
        negations = 0
        while (tok := self.peek()) is not None and tok.kind == "NOT":
            negations += 1
            self.i += 1
        if negations and (tok is None or tok.kind in (")", "OR", "AND")):
            raise QueryError("NOT (or -) needs a word after it", hint="write it as: -word")
        node = self.group()
        if node is None or negations % 2 == 0:
            return node
        return Not(node)

    def group(self) -> Node | None:
        atoms = [self.atom()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.i += 1
            negations = 0
            while (nxt := self.peek()) is not None and nxt.kind == "NOT":  # "a OR -b"
                negations += 1
                self.i += 1
            if nxt is None or nxt.kind in (")", "OR", "AND"):
                raise QueryError(
                    "OR needs a word on each side", hint="write it as: desertion OR furlough"
                )
            atom = self.atom()
            atoms.append(Not(atom) if atom is not None and negations % 2 else atom)
        kept = [a for a in atoms if a is not None]
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else Or(tuple(kept))

    def atom(self) -> Node | None:
        tok = self.tokens[self.i]
        self.i += 1
        if tok.kind == "(":
            inner = self.sequence(closing=True)
            self.i += 1  # the ")" (balance was checked by the tokenizer)
            return inner
        if tok.kind == "term":
            return tok.node
        raise QueryError(f"unexpected {tok.kind} at character {tok.pos + 1}")


def _count_terms(node: Node) -> int:
    """Words and filters in the tree; each word of a phrase counts."""
    stack, count = [node], 0
    while stack:
        item = stack.pop()
        if isinstance(item, And | Or):
            stack.extend(item.children)
        elif isinstance(item, Not):
            stack.append(item.child)
        elif isinstance(item, Phrase):
            count += max(1, len(item.text.split()))
        elif isinstance(item, Filter):
            count += max(1, len(item.value.split()))
        else:
            count += 1
    return count


def parse_query(query: str) -> ParsedQuery:
    """Read a query typed by anyone; raise :class:`QueryError` with what to change.

    The work done is linear in the (capped) query length, and the tree is at
    most :data:`MAX_DEPTH` groups deep with at most :data:`MAX_TERMS` terms.
    """
    text = _clean(query)
    notices: list[str] = []
    tokens = _tokens(text, notices)
    root = _Parser(tokens).sequence(closing=False)
    if root is not None:
        terms = _count_terms(root)
        if terms > MAX_TERMS:
            raise QueryError(
                f"the query has {terms} words and filters, over the limit of {MAX_TERMS}",
                hint="keep the most distinctive words",
            )
    return ParsedQuery(root, text, tuple(notices))
