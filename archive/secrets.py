"""What must never be published, read straight from the testimony files' bytes.

The leak check (:mod:`webapp.publish.leakcheck`) must not trust the parser
that feeds the pages: a construct the parser misreads would be missed by a
check that asks the same parser what is secret. So this module is a second,
deliberately simple and over-cautious reader. It imports nothing from
:mod:`archive.parse`, the redaction code or Markdown; it reads each file's
bytes (through :mod:`archive.safefile`, so a FIFO cannot hang it) and a few
plain regular expressions find:

* **inline redactions**: every bracketed span followed by anything like
  ``{.redact}``: any bracket or brace look-alike (full-width, mathematical,
  CJK), any spacing and case, ``{.redact``, ``{: .redacted}``, misspellings
  within two edits of "redact". Anywhere in the file, front matter included
  (where redaction markup is an error, and its words are secret all the same);
* **redacted blocks**: the lines above a ``{: ... .redact ... }`` line (same
  tolerance), up to a blank line, the start of the list item or the quote;
* **non-public testimonies**: every word of a file whose ``status`` line is
  not ``public``, or is missing, or whose ``publish_after`` has not passed on
  the date, or that is a translation of (or translated by) such a file, or
  whose original cannot be found (``status``, ``publish_after`` and
  ``translation_of`` read with a line regex, not the YAML loader).

It also returns the *public raw text*: what is left of the public files once
every secret is cut out, used only to tell which words of a secret also
occur legitimately in public (so cannot tell a leak from a page).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .safefile import UnsafeFile, read_regular_file

__all__ = ["Secret", "Secrets", "is_redact_like", "read_secrets"]

#: Opening and closing brackets a redacted span may be written with.
OPEN_BRACKETS = "[［⟦〚【〔⁅❲⟬﹝〖"
CLOSE_BRACKETS = "]］⟧〛】〕⁆❳⟭﹞〗"
#: Braces an attribute list may be written with.
OPEN_BRACES = "{｛﹛❴⦃⟮〈⟨"
CLOSE_BRACES = "}｝﹜❵⦄⟯〉⟩"
_QUOTE_MARKS = ">＞"
_TARGET = "redact"
_MAX_EDITS = 2
#: How far after a closing bracket an attribute list is looked for.
_ATTR_SPAN = 60

_WORD_RE = re.compile(r"[^\W_]+")
_ATTR_AFTER_RE = re.compile(
    rf"\s*[{re.escape(OPEN_BRACES)}](?P<attr>[^\n{re.escape(CLOSE_BRACES)}]{{0,{_ATTR_SPAN}}})"
)
_BLOCK_ATTR_RE = re.compile(
    rf"^\s*(?:[{_QUOTE_MARKS}]\s*)*[{re.escape(OPEN_BRACES)}](?P<attr>[^\n]*)$"
)
_LIST_ITEM_RE = re.compile(r"^\s*(?:[*+-]|\d+[.)])\s")
_FRONT_KEY_RE = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)\s*:\s*(?P<value>.*?)\s*$")
_DATE_RE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


def _edits(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _fold(text: str) -> str:
    # NFKC turns full-width and mathematical letters into plain ones.
    return unicodedata.normalize("NFKC", text).casefold()


def is_redact_like(attr: str) -> bool:
    """Does attribute-list text look like it means "redact" (any word within 2 edits)?"""
    for word in _WORD_RE.findall(_fold(attr)):
        if _TARGET in word:
            return True
        if abs(len(word) - len(_TARGET)) <= _MAX_EDITS and _edits(word, _TARGET) <= _MAX_EDITS:
            return True
        # "redacted", "redacteed": the start of a longer word.
        if len(word) > len(_TARGET) and _edits(word[: len(_TARGET)], _TARGET) <= 1:
            return True
    return False


@dataclass(frozen=True)
class Secret:
    """One text that must not be published, and where it comes from (``file:line``)."""

    text: str
    kind: str  # inline redaction, redacted block, non-public testimony/field/id
    where: str


@dataclass
class Secrets:
    secrets: list[Secret] = field(default_factory=list)
    public_text: list[str] = field(default_factory=list)
    public_languages: list[str] = field(default_factory=list)  # of each public text
    files: int = 0
    non_public: list[str] = field(default_factory=list)  # file names


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _inline_spans(text: str) -> list[tuple[int, int, int, int]]:
    """(span start, span end, content start, content end) of every inline redaction."""
    spans = []
    for i, ch in enumerate(text):
        if ch not in CLOSE_BRACKETS:
            continue
        after = _ATTR_AFTER_RE.match(text, i + 1)
        if after is None or not is_redact_like(after["attr"]):
            continue
        end = after.end()
        if end < len(text) and text[end] in CLOSE_BRACES:
            end += 1
        # Back to the matching opening bracket; a blank line ends the search, and
        # without a match the span runs from the start of its paragraph (fails closed).
        depth, j, start = 0, i - 1, None
        while j >= 0:
            c = text[j]
            if c in CLOSE_BRACKETS:
                depth += 1
            elif c in OPEN_BRACKETS:
                if depth == 0:
                    start = j
                    break
                depth -= 1
            elif c == "\n" and j > 0 and text[j - 1] == "\n":
                break
            j -= 1
        if start is None:
            start = max(text.rfind("\n\n", 0, i) + 2, 0)
            spans.append((start, end, start, i))
        else:
            spans.append((start, end, start + 1, i))
    return spans


def _block_spans(lines: list[str], offsets: list[int]) -> list[tuple[int, int, int]]:
    """(start offset, end offset, attr line index) of every block marked redacted."""
    spans = []
    for n, line in enumerate(lines):
        m = _BLOCK_ATTR_RE.match(line)
        if m is None or not is_redact_like(m["attr"]):
            continue
        first = n
        while first > 0 and lines[first - 1].strip():
            first -= 1
            if _LIST_ITEM_RE.match(lines[first]):
                break  # one list item, not the whole list
        spans.append((offsets[first], offsets[n] + len(line), n))
    return spans


def _front(text: str) -> tuple[dict[str, tuple[str, int]], int]:
    """Top-level ``key: value`` lines of the front matter (value, line); its end offset."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, 0
    found: dict[str, tuple[str, int]] = {}
    offset = len(lines[0]) + 1
    for number, line in enumerate(lines[1:], start=2):
        if line.rstrip() in ("---", "..."):
            return found, offset + len(line)
        m = _FRONT_KEY_RE.match(line)
        if m and m["key"] not in found:
            found[m["key"]] = (m["value"].strip().strip("'\"").strip(), number)
        offset += len(line) + 1
    return found, len(text)


def _last_day(value: str) -> dt.date | None:
    m = _DATE_RE.match(value)
    if m is None:
        return None
    year, month, day = (int(g) if g else None for g in m.groups())
    try:
        if day is not None:
            return dt.date(year, month, day)
        if month is not None:
            following = dt.date(year + month // 12, month % 12 + 1, 1)
            return following - dt.timedelta(days=1)
        return dt.date(year, 12, 31)
    except (ValueError, TypeError):
        return None


def _public_on(front: dict[str, tuple[str, int]], today: dt.date) -> bool:
    status = front.get("status", ("", 0))[0].split("#")[0].strip().strip("'\"").casefold()
    if status == "public":
        after = front.get("publish_after")
        if after is None:
            return True
        last = _last_day(after[0].strip("'\""))
        return last is not None and last < today
    if status == "embargoed":
        after = front.get("publish_after")
        last = _last_day(after[0].strip("'\"")) if after else None
        return last is not None and last < today
    return False  # restricted, missing, misspelt: not public


def read_secrets(
    directory: str | Path, today: dt.date, paths: Iterable[Path] | None = None
) -> Secrets:
    """Every secret of the ``*.md`` files in ``directory`` (or ``paths``) on ``today``."""
    directory = Path(directory)
    names = sorted(paths) if paths is not None else sorted(directory.glob("*.md"))
    texts: dict[str, str] = {}
    fronts: dict[str, dict[str, tuple[str, int]]] = {}
    files: dict[str, Path] = {}
    for path in names:
        try:
            raw = read_regular_file(path, directory)
        except (OSError, UnsafeFile):
            continue  # never read, so never published: nothing of it can leak
        text = raw.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
        stem = Path(path).stem
        texts[stem], files[stem] = text, Path(path)
        fronts[stem] = _front(text)[0]

    public = {stem: _public_on(front, today) for stem, front in fronts.items()}
    # A translation and its original are public only together; an original that cannot be
    # read (or does not exist) keeps its translations private. Links are followed to a
    # fixed point, so a chain of translations shares the strictest status.
    changed = True
    while changed:
        changed = False
        for stem, front in fronts.items():
            original = front.get("translation_of", ("", 0))[0].split("#")[0].strip()
            if not original:
                continue
            both = public[stem] and public.get(original, False)
            for side in (stem, original):
                if public.get(side, False) and not both:
                    public[side] = False
                    changed = True

    result = Secrets(files=len(texts))
    for stem, text in texts.items():
        where = str(files[stem])
        if not public[stem]:
            result.non_public.append(files[stem].name)
            result.secrets.append(Secret(stem, "non-public id", where))
            front, body_start = _front(text)
            for _key, (value, number) in front.items():
                if value:
                    result.secrets.append(Secret(value, "non-public field", f"{where}:{number}"))
            result.secrets += _paragraphs(text[body_start:], where, _line_of(text, body_start))
            continue
        cut: list[tuple[int, int]] = []
        for start, end, inner_start, inner_end in _inline_spans(text):
            inner = text[inner_start:inner_end]
            if inner.strip():
                line = _line_of(text, inner_start)
                result.secrets.append(Secret(inner, "inline redaction", f"{where}:{line}"))
            cut.append((start, end))
        lines = text.split("\n")
        offsets, pos = [], 0
        for line in lines:
            offsets.append(pos)
            pos += len(line) + 1
        for start, end, _attr_line in _block_spans(lines, offsets):
            block = text[start:end]
            # The attribute line itself is markup, not secret.
            body = block[: block.rfind("\n")] if "\n" in block else ""
            if body.strip():
                kind_where = f"{where}:{_line_of(text, start)}"
                result.secrets.append(Secret(body, "redacted block", kind_where))
            cut.append((start, end))
        kept, pos = [], 0
        for start, end in sorted(cut):
            if start > pos:
                kept.append(text[pos:start])
            pos = max(pos, end)
        kept.append(text[pos:])
        result.public_text.append(" ".join(kept))
        language = fronts[stem].get("language", ("en", 0))[0].split("#")[0].strip()
        result.public_languages.append(language or "en")
    return result


def _paragraphs(body: str, where: str, first_line: int) -> list[Secret]:
    """A non-public body, one secret per paragraph (so a finding names its line)."""
    found, line = [], first_line
    for part in body.split("\n\n"):
        if part.strip():
            found.append(Secret(part, "non-public testimony", f"{where}:{line + _leading(part)}"))
        line += part.count("\n") + 2
    return found


def _leading(part: str) -> int:
    return len(part) - len(part.lstrip("\n")) if part.startswith("\n") else 0
