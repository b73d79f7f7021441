"""Redact first, render second: a testimony body's *public source*, and the checks that
refuse text resembling redaction markup.

:func:`public_source` reads the raw Markdown (backslash escapes and code spans
included) and replaces every inline redaction ``[words]{.redact}`` and every line
of a passage redacted whole (``{: .redact }``) by a placeholder: one character of
Unicode plane 15 (private use), which no Markdown construct treats as markup. Only
that text is ever rendered for the public side, so no construct can carry a secret
out: after rendering, the placeholders become the visible ``[redacted]`` marker
(in text, a link title, an image's alt text), or take their construct's address
with them (a link's ``href``, an image's ``src``: see :mod:`archive.parse`).

Text that resembles redaction markup but was not taken as such (``{.Redact}``,
``［x］｛.redact｝``, ``{.redacted}``, an escaped ``\\[x\\]{.redact}``, an unclosed
``{.redact``...) is an error, never published: after the scanner has taken the
real markup out, what is left is normalised (HTML entities, NFKC, marks and
invisible characters dropped, case folded, Cyrillic and Greek look-alike letters
read as Latin) and searched with one tolerant pattern. The front matter is held
to the same pattern, and more strictly: redaction has no place there at all.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz.distance import OSA

from .errors import ValidationError

__all__ = [
    "PLACEHOLDER_RE",
    "PublicSource",
    "control_character_errors",
    "front_matter_errors",
    "public_source",
]

#: Placeholder ``k`` is ``chr(_BASE + k)``: plane 15, which a testimony may not use itself.
_BASE = 0xF0000
_LIMIT = 0xFFFFD - _BASE
PLACEHOLDER_RE = re.compile("[\U000f0000-\U0010ffff]")
#: A run of one placeholder repeated (an inline redaction that spans lines): one marker.
PLACEHOLDER_RUN_RE = re.compile(r"([\U000f0000-\U000ffffd])(?:\s*\1)*")

#: The inline redaction's attribute list, right after the closing bracket.
_INLINE_ATTRS = re.compile(r"\{:?[ \t]*\.redact[ \t]*\}")
#: A line of its own holding an attribute list with the class ``.redact`` (maybe with
#: other attributes, which the parser then refuses with its own message).
_BLOCK_ATTR_LINE = re.compile(
    r"^[ \t]*(?:>[ \t]*)*\{:?[^}\n]*(?<![\w-])\.redact(?![\w-])[^}\n]*\}[ \t]*$"
)
_ANY_ATTR_LINE = re.compile(r"^[ \t]*(?:>[ \t]*)*\{:?[^}\n]*\}[ \t]*$")
_QUOTE_PREFIX = re.compile(r"^[ \t]*(?:>[ \t]?)*")
_LIST_MARKER = re.compile(r"^( *)(?:[*+-]|\d+[.)])(?: +|$)")
_HEADING_OR_RULE = re.compile(r"^ {0,3}(?:#{1,6}(?:\s|$)|(?:[-*_] *){3,}$|=+ *$)")
_BLANK_LINE = re.compile(r"\n[ \t>]*\n")
_TRIGGER = re.compile(r"[\\`\[]")
_CODE_REDACTION = re.compile(r"\[([^\[\]]+?)\]" + _INLINE_ATTRS.pattern)


@dataclass
class PublicSource:
    """A body with every redaction replaced by a placeholder, line for line."""

    text: str  # the public source: what Markdown renders for every public output
    secrets: list[str] = field(default_factory=list)  # PRIVATE: placeholder k stands for secrets[k]
    inline: set[int] = field(default_factory=set)  # the k of inline redactions
    errors: list[ValidationError] = field(default_factory=list)

    def reveal(self, text: str) -> str:
        """The private form of rendered text: each placeholder (run) back to its words."""
        return PLACEHOLDER_RUN_RE.sub(lambda m: self.secrets[ord(m.group(1)) - _BASE], text)

    def inline_secrets(self, text: str) -> tuple[str, ...]:
        """The inline redactions (PRIVATE words) whose placeholders ``text`` holds."""
        found = dict.fromkeys(ord(c) - _BASE for c in PLACEHOLDER_RE.findall(text))
        return tuple(self.secrets[k] for k in found if k in self.inline)


def conceal(text: str, marker: str) -> str:
    """Each placeholder (run) in rendered text becomes ``marker``."""
    return PLACEHOLDER_RUN_RE.sub(marker, text)


class _Scanner:
    def __init__(self, body: str, path: str, first_line: int) -> None:
        self.path, self.first_line = path, first_line
        self.lines = body.split("\n")
        self.source = PublicSource(body)
        self.attr_lines: set[int] = set()  # block .redact lines, taken as markup

    def error(self, index: int, message: str, hint: str | None = None) -> None:
        self.source.errors.append(
            ValidationError(self.path, self.first_line + index, message, hint=hint)
        )

    def placeholder(self, secret: str, inline: bool) -> str:
        k = len(self.source.secrets)
        if k > _LIMIT:
            raise ValueError("too many redactions")
        self.source.secrets.append(secret)
        if inline:
            self.source.inline.add(k)
        return chr(_BASE + k)

    # -- passages redacted whole ---------------------------------------------

    def blocks(self) -> None:
        for i, line in enumerate(self.lines):
            if _BLOCK_ATTR_LINE.match(line):
                self.attr_lines.add(i)
                self.redact_block(i)

    def redact_block(self, i: int) -> None:
        """Replace the words of the passage that ends above attribute line ``i``.

        Each line keeps its structure (quote markers, indentation, list marker) so
        Markdown builds the same blocks; its words become one placeholder. The parser
        checks afterwards that the passage Markdown marked redacted holds nothing else,
        and refuses the file if it does.
        """
        prefix = _QUOTE_PREFIX.match(self.lines[i]).group(0)
        depth = prefix.count(">")
        indent = len(self.lines[i][len(prefix) :].expandtabs(4)) - len(
            self.lines[i][len(prefix) :].expandtabs(4).lstrip()
        )
        whole_quote = depth > 0 and indent == 0
        j = i - 1
        while j >= 0:
            line = self.lines[j]
            lead = _QUOTE_PREFIX.match(line).group(0)
            rest = line[len(lead) :].expandtabs(4)
            if not rest.strip():
                if whole_quote and (lead.count(">") >= depth or self.quote_above(j, depth)):
                    j -= 1
                    continue
                break
            if lead.count(">") < depth or j in self.attr_lines or _ANY_ATTR_LINE.match(line):
                break
            if _HEADING_OR_RULE.match(rest) and not _LIST_MARKER.match(rest):
                break
            marker = _LIST_MARKER.match(rest)
            keep = len(lead) + (marker.end() if marker else len(rest) - len(rest.lstrip()))
            line = lead + rest
            words = line[keep:]
            if words.strip():
                self.lines[j] = line[:keep] + self.placeholder(words, inline=False)
            if marker and (indent == 0 or len(marker.group(1)) < indent):
                break
            j -= 1

    def quote_above(self, j: int, depth: int) -> bool:
        """A blank line between two quotes: python-markdown joins them into one."""
        for k in range(j - 1, -1, -1):
            if self.lines[k].strip():
                return _QUOTE_PREFIX.match(self.lines[k]).group(0).count(">") >= depth
        return False

    # -- inline redactions ------------------------------------------------------

    def inline(self, text: str) -> str:
        out: list[str] = []
        pos = start = 0
        while True:
            m = _TRIGGER.search(text, pos)
            if m is None:
                break
            i = m.start()
            char = text[i]
            if char == "\\":
                pos = i + 2
            elif char == "`":
                run = len(text) - i - len(text[i:].lstrip("`"))
                end = self.code_end(text, i + run, run)
                if end is None:
                    pos = i + run
                    continue
                # Inside code nothing is an escape, and redaction markup is applied too:
                # a code span never publishes what its writer marked as secret.
                out.append(text[start : i + run])
                out.append(
                    _CODE_REDACTION.sub(
                        lambda c: self.placeholder(c.group(1), inline=True), text[i + run : end]
                    )
                )
                start = pos = end
            else:
                end, secret = self.redaction(text, i)
                if end is None:
                    pos = i + 1
                    continue
                out.append(text[start:i])
                out.append(self.multiline(secret, text[i:end]))
                start = pos = end
        out.append(text[start:])
        return "".join(out)

    @staticmethod
    def code_end(text: str, begin: int, run: int) -> int | None:
        """Where the code span opened by ``run`` backticks closes, within its paragraph."""
        blank = _BLANK_LINE.search(text, begin)
        limit = blank.start() if blank else len(text)
        close = re.compile(f"(?<!`)`{{{run}}}(?!`)").search(text, begin, limit)
        return close.start() if close else None

    @staticmethod
    def redaction(text: str, i: int) -> tuple[int | None, str]:
        """``[words]{.redact}`` starting at ``i``: its end and its words, or ``(None, "")``."""
        j = i + 1
        while j < len(text):
            char = text[j]
            if char == "\\":
                j += 2
                continue
            if char == "[":
                return None, ""
            if char == "]":
                attrs = _INLINE_ATTRS.match(text, j + 1)
                if attrs is None or j == i + 1:
                    return None, ""
                return attrs.end(), text[i + 1 : j]
            if char == "\n" and _BLANK_LINE.match(text, j):
                return None, ""
            j += 1
        return None, ""

    def multiline(self, secret: str, written: str) -> str:
        """One placeholder per source line the redaction spans, so lines keep their numbers
        and no structure starts where a line break was (a ``>`` or ``-`` after it)."""
        pieces = secret.split("\n")
        words = "\n".join(
            [pieces[0]] + [p[len(_QUOTE_PREFIX.match(p).group(0)) :] for p in pieces[1:]]
        )
        mark = self.placeholder(words, inline=True)
        rows = written.split("\n")
        return "\n".join([mark] + [_QUOTE_PREFIX.match(r).group(0) + mark for r in rows[1:]])


def public_source(body: str, path: str, first_line: int) -> PublicSource:
    """The body with every redaction replaced by a placeholder; errors for look-alikes.

    ``first_line`` is the file line of the body's first line, for ``file:line`` errors.
    """
    scanner = _Scanner(body, path, first_line)
    for index, line in enumerate(scanner.lines):
        if PLACEHOLDER_RE.search(line):
            scanner.error(index, "the body holds a character of Unicode planes 15-16 "
                          "(private use)", hint="remove it; the archive reserves them")  # fmt: skip
            return scanner.source
    scanner.blocks()
    text = scanner.inline("\n".join(scanner.lines))
    scanner.source.text = text
    for index, line in enumerate(text.split("\n")):
        if index in scanner.attr_lines:
            continue
        found = lookalike(PLACEHOLDER_RE.sub("[…]", line))
        if found:
            scanner.error(
                index,
                f"'{found}' looks like redaction markup that was not applied: "
                "it would be published as written",
                hint="write [words]{.redact} inline or a '{: .redact }' line right after the "
                "passage, in plain ASCII; escape a literal brace as \\{",
            )
    return scanner.source


# --- look-alikes -----------------------------------------------------------------

#: Letters of other scripts that look like the Latin letters of "redact" and its kin.
_CONFUSABLES = str.maketrans("аеорсухіјԁтвкмнгѕαεορτκνιχ", "aeopcyxijdtbkmhrsaeoptkvix")
#: A "word like redact": letters, digits and the separators a typo may put in them.
_WORD = re.compile(r"[^\W_]+")
#: A class's dot: right before the word, or after a bracket ("{ .redact", "(.redact").
_CLASS_DOT = re.compile(r"(?:^|\W)\.\s*$|\.$")


@lru_cache(maxsize=4096)
def _like_redact(word: str) -> bool:
    if "redact" in word or "redakt" in word or "redac" in word:
        return True
    if not 4 <= len(word) <= 11:
        return False
    # Optimal string alignment: a swap of two letters is one edit, as typists make it.
    return min(OSA.distance(word, w) for w in ("redact", "redacted", "redaction")) <= 2


@lru_cache(maxsize=256)
def _brace_like(char: str) -> bool:
    """An opening or closing bracket that is neither ( ) nor [ ]: curly and its look-alikes."""
    if char in "()[]":
        return False
    return unicodedata.category(char) in ("Ps", "Pe") or char in "{}"


def _opens(char: str) -> bool:
    return _brace_like(char) and (char == "{" or unicodedata.category(char) == "Ps")


def normalise(text: str) -> str:
    """What a reader would take the text to say: entities decoded, compatibility forms
    (full-width, small forms) folded, marks and invisible characters dropped, case
    folded, look-alike letters read as Latin."""
    text = unicodedata.normalize("NFKD", html.unescape(text))
    text = "".join(c for c in text if unicodedata.category(c) not in ("Mn", "Me", "Cf"))
    return unicodedata.normalize("NFKC", text).casefold().translate(_CONFUSABLES)


def lookalike(line: str, strict: bool = False) -> str | None:
    """The first piece of ``line`` that resembles redaction markup, or None.

    A word like "redact" after a dot (a class), inside or against a brace-like
    bracket; a closing square bracket followed by a brace (a bracketed span); with
    ``strict`` (the front matter), any brace opening an attribute list too.
    """
    if not line:
        return None
    text = normalise(line)
    for m in _WORD.finditer(text):
        if not _like_redact(m.group(0)):
            continue
        before = text[: m.start()]
        after = text[m.end() :].lstrip()
        if (_CLASS_DOT.search(before) or (before.rstrip() and _brace_like(before.rstrip()[-1]))
                or (after and _brace_like(after[0])) or _inside_braces(text, m.start())):  # fmt: skip
            # Quoted as normalised markup only: the words around it may be meant as secret.
            return text[max(0, m.start() - 3) : m.end() + 2].strip()
    return _bracket_lookalike(text, strict)


def _bracket_lookalike(text: str, strict: bool) -> str | None:
    for i, char in enumerate(text):
        if char == "]" and text[i + 1 : i + 2].strip() == "" and i + 1 < len(text):
            nxt = text[i + 1 :].lstrip()[:1]
            if nxt and _brace_like(nxt):
                return "]" + nxt
        elif char == "]" and i + 1 < len(text) and _brace_like(text[i + 1]):
            return text[i : i + 2]
        elif strict and _opens(char) and text[i + 1 :].lstrip()[:1] in (".", ":"):
            return char + text[i + 1 :].lstrip()[:1]
    return None


def _inside_braces(text: str, at: int) -> bool:
    """Whether ``at`` lies between a brace-like opener and its closer, within 24 chars."""
    window = text[max(0, at - 24) : at]
    opened = [i for i, c in enumerate(window) if _brace_like(c) and unicodedata.category(c) == "Ps"]
    opened += [i for i, c in enumerate(window) if c == "{"]
    if not opened:
        return False
    last = max(opened)
    return not any(unicodedata.category(c) == "Pe" or c == "}" for c in window[last + 1 :])


# --- front matter and control characters ---------------------------------------------


def _strings(value: object):
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)


def front_matter_errors(data: dict, lines: dict[str, int], path: str) -> list[ValidationError]:
    """Redaction markup, anything like it, and control characters in any field: errors.

    The front matter is published as written, so a redaction there cannot work.
    """
    errors = []
    for key, value in data.items():
        line = lines.get(str(key), 1)
        for text in _strings(value):
            if _control(text):
                errors.append(
                    ValidationError(
                        path,
                        line,
                        f"{key}: control character {_control(text)!r} is not allowed",
                        hint="remove it; only plain text goes in a field",
                    )
                )
            found = lookalike(text, strict=True)
            if found:
                errors.append(
                    ValidationError(
                        path,
                        line,
                        f"{key}: redaction markup is not allowed in the front matter ('{found}')",
                        hint="the front matter is published as written: use a pseudonym or a "
                        "general description here, and redact in the body",
                    )
                )
    return errors


def _control(text: str) -> str | None:
    for char in text:
        if (unicodedata.category(char) in ("Cc", "Cs") and char not in "\t\n") or char in (
            "\ufffe",
            "\uffff",
        ):
            return char
    return None


def control_character_errors(body: str, path: str, first_line: int) -> list[ValidationError]:
    """Control characters other than tab and newline in the body, one error per line."""
    errors = []
    for index, line in enumerate(body.split("\n")):
        char = _control(line)
        if char:
            errors.append(
                ValidationError(
                    path,
                    first_line + index,
                    f"control character {char!r} is not allowed",
                    hint="remove it (a form feed or NUL often comes from a copy and paste)",
                )
            )
    return errors
