"""The themes vocabulary, and keyword-based theme *suggestions*.

Suggestions are only ever proposals: nothing here tags a passage unless the
archivist asks for ``--write``, and then only by adding attr_list text to
the file, leaving every other byte as it was.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from slugify import slugify

from .errors import ArchiveError, ValidationError, ValidationErrors
from .model import Passage, Testimony, Theme, Vocabulary
from .yamlsafe import load_mapping

__all__ = [
    "Suggestion",
    "load_vocabulary",
    "suggest",
    "write_suggestions",
    "VOCABULARY_FILE",
]

VOCABULARY_FILE = "themes.yaml"
KEYWORD_RE = re.compile(r"^[^\W\d_][\w'’ʼ -]*\*?$")


def _default_text() -> str:
    return resources.files("archive").joinpath("data", VOCABULARY_FILE).read_text("utf-8")


def load_vocabulary(directory: str | Path | None) -> Vocabulary:
    """The directory's ``themes.yaml``, or the default vocabulary when it has none."""
    path = Path(directory) / VOCABULARY_FILE if directory is not None else None
    if path is not None and path.is_file():
        return _parse_cached(path.read_text("utf-8"), str(path))
    return _parse_cached(_default_text(), None)


@functools.lru_cache(maxsize=8)
def _parse_cached(text: str, path: str | None) -> Vocabulary:
    return parse_vocabulary(text, path)


def parse_vocabulary(text: str, path: str | None) -> Vocabulary:
    where = path or "default vocabulary (archive/data/themes.yaml)"
    try:
        data, lines = load_mapping(text, where)
    except ValidationError as exc:
        raise ValidationErrors([exc]) from None
    errors: list[ValidationError] = []
    entries = data.get("themes")
    if set(data) - {"themes"} or not isinstance(entries, list):
        raise ValidationErrors(
            [ValidationError(where, 1, "expected one key 'themes' holding a list of themes")]
        )
    item_lines = _item_lines(text)
    themes: dict[str, Theme] = {}
    for i, entry in enumerate(entries):
        line = item_lines[i] if i < len(item_lines) else lines.get("themes", 1)
        theme = _theme(entry, where, line, errors)
        if theme is None:
            continue
        if theme.slug in themes:
            errors.append(ValidationError(where, line, f"duplicate theme '{theme.slug}'"))
        themes[theme.slug] = theme
    for theme in themes.values():
        if theme.broader is not None and theme.broader not in themes:
            errors.append(
                ValidationError(
                    where, theme.line, f"broader theme '{theme.broader}' is not in this file"
                )
            )
    errors += _cycles(themes, where)
    if errors:
        raise ValidationErrors(errors)
    return Vocabulary(themes, Path(path) if path else None)


def _item_lines(text: str) -> list[int]:
    """Lines where each '- slug:' entry starts (YAML list items at the first level)."""
    return [
        n for n, line in enumerate(text.split("\n"), start=1) if re.match(r"^\s*-\s+slug\s*:", line)
    ]


def _theme(entry: object, where: str, line: int, errors: list[ValidationError]) -> Theme | None:
    if not isinstance(entry, dict):
        errors.append(ValidationError(where, line, "each theme must be a mapping with a slug"))
        return None
    unknown = set(entry) - {"slug", "labels", "description", "broader", "keywords"}
    if unknown:
        errors.append(
            ValidationError(
                where,
                line,
                f"unknown key(s) {', '.join(sorted(map(str, unknown)))}",
                hint="a theme has slug, labels, description, broader and keywords",
            )
        )
    slug = entry.get("slug")
    if not isinstance(slug, str) or slugify(slug) != slug:
        errors.append(ValidationError(where, line, f"theme slug {slug!r} is not a lowercase slug"))
        return None
    labels = entry.get("labels")
    if not isinstance(labels, dict) or not isinstance(labels.get("en"), str):
        errors.append(
            ValidationError(where, line, f"theme '{slug}' needs labels with at least 'en'")
        )
        labels = {"en": slug}
    keywords: dict[str, tuple[str, ...]] = {}
    raw_keywords = entry.get("keywords") or {}
    if not isinstance(raw_keywords, dict):
        errors.append(
            ValidationError(where, line, f"keywords of '{slug}' must map language → list")
        )
        raw_keywords = {}
    for language, words in raw_keywords.items():
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            errors.append(ValidationError(where, line, f"keywords.{language} must be a list"))
            continue
        for word in words:
            if not all(KEYWORD_RE.match(part) for part in word.split()):
                errors.append(
                    ValidationError(
                        where,
                        line,
                        f"keyword {word!r} of '{slug}' is not a word or phrase",
                        hint="words only; a trailing * matches any ending; no regular expressions",
                    )
                )
        keywords[str(language)] = tuple(words)
    broader = entry.get("broader")
    if broader is not None and not isinstance(broader, str):
        errors.append(ValidationError(where, line, f"broader of '{slug}' must be a slug or null"))
        broader = None
    return Theme(
        slug=slug,
        labels={str(k): str(v) for k, v in labels.items()},
        description=str(entry.get("description") or ""),
        broader=broader,
        keywords=keywords,
        line=line,
    )


def _cycles(themes: dict[str, Theme], where: str) -> list[ValidationError]:
    errors = []
    for slug, theme in themes.items():
        seen, current = {slug}, theme.broader
        while current is not None and current in themes:
            if current in seen:
                errors.append(
                    ValidationError(
                        where, theme.line, f"broader links of '{slug}' form a cycle",
                        hint="broader themes must form a tree",
                    )
                )  # fmt: skip
                break
            seen.add(current)
            current = themes[current].broader
    return errors


# --- suggestions -----------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    testimony: str
    passage: str
    theme: str
    words: tuple[str, ...]  # the words of the passage that matched, as written
    line: int


@functools.lru_cache(maxsize=64)
def _compiled(vocabulary: Vocabulary, language: str) -> list[tuple[str, list[list[str]]]]:
    out = []
    for theme in vocabulary.themes.values():
        phrases = [_keyword_words(k) for k in theme.keywords.get(language, ())]
        phrases = [p for p in phrases if p]
        if phrases:
            out.append((theme.slug, phrases))
    return out


def _keyword_words(keyword: str) -> list[str]:
    """A keyword as folded words, split exactly like passage text ("self-injur*" → self, injur*)."""
    from .analysis import TOKEN_PATTERN, fold

    words = []
    for part in keyword.split():
        tokens = TOKEN_PATTERN.findall(fold(part.rstrip("*")))
        if tokens and part.endswith("*"):
            tokens[-1] += "*"
        words += tokens
    return words


def _word_ok(word: str, pattern: str) -> bool:
    return word.startswith(pattern[:-1]) if pattern.endswith("*") else word == pattern


def _starts_in(
    tokens: list[str], positions: dict[str, list[int]], ordered: list[str], phrase: list[str]
) -> list[int]:
    """Start indexes where ``phrase`` (words, each maybe ending in *) occurs.

    Candidates for the first word come from the sorted word list (bisect for a
    prefix), so a long passage is not rescanned once per keyword.
    """
    first = phrase[0]
    if first.endswith("*"):
        stem, found = first[:-1], []
        i = bisect.bisect_left(ordered, stem)
        while i < len(ordered) and ordered[i].startswith(stem):
            found += positions[ordered[i]]
            i += 1
    else:
        found = positions.get(first, [])
    size = len(phrase)
    return sorted(
        i
        for i in found
        if i + size <= len(tokens)
        and all(_word_ok(tokens[i + j], phrase[j]) for j in range(1, size))
    )


def suggest_passage(
    passage: Passage, language: str, vocabulary: Vocabulary
) -> list[tuple[str, tuple[str, ...]]]:
    """Themes whose keywords occur in a passage's public text, with the words that matched."""
    from .analysis import TOKEN_PATTERN, fold

    spans = [m.span() for m in re.finditer(TOKEN_PATTERN, passage.public_text)]
    folded = [fold(passage.public_text[a:b]) for a, b in spans]
    positions: dict[str, list[int]] = {}
    for i, word in enumerate(folded):
        positions.setdefault(word, []).append(i)
    ordered = sorted(positions)
    found = []
    for slug, phrases in _compiled(vocabulary, language.split("-")[0]):
        matched: list[str] = []
        for phrase in phrases:
            for start in _starts_in(folded, positions, ordered, phrase):
                # The words as written, from the first matched word to the last.
                words = passage.public_text[spans[start][0] : spans[start + len(phrase) - 1][1]]
                if words not in matched:
                    matched.append(words)
        if matched:
            found.append((slug, tuple(matched)))
    return found


def suggest(testimony: Testimony, vocabulary: Vocabulary) -> list[Suggestion]:
    """Suggestions for the passages that carry no theme of their own."""
    out = []
    for p in testimony.passages:
        if p.themes or p.redacted:
            continue
        for slug, words in suggest_passage(p, testimony.language, vocabulary):
            out.append(Suggestion(testimony.id, p.id, slug, words, p.line))
    return out


def write_suggestions(testimony: Testimony, suggestions: list[Suggestion]) -> int:
    """Add suggested themes to the file as attr_list text; return passages changed.

    Only lines that carry a passage's ``{: ... }`` are edited, or a new such
    line is inserted after the passage; every other byte stays as it was.
    """
    by_passage: dict[str, list[str]] = {}
    for s in suggestions:
        by_passage.setdefault(s.passage, []).append(s.theme)
    raw = testimony.path.read_bytes()
    if testimony.content_hash and hashlib.sha256(raw).hexdigest() != testimony.content_hash:
        raise ArchiveError(
            f"{testimony.path} changed since it was read; nothing was written",
            hint="run the command again",
        )
    newline = b"\r\n" if b"\r\n" in raw else b"\n"
    lines = raw.split(newline)
    edits: list[tuple[int, bool, bytes]] = []  # (0-based line, replace?, content)
    for p in testimony.passages:
        themes = by_passage.get(p.id)
        if not themes:
            continue
        value = " ".join(dict.fromkeys(themes))
        if p.attr_line is not None:
            old = lines[p.attr_line - 1].decode("utf-8")
            new = re.sub(r"\s*\}\s*$", f' themes="{value}" }}', old, count=1)
            edits.append((p.attr_line - 1, True, new.encode("utf-8")))
        else:
            prefix = "> " if p.kind == "blockquote" else p.indent
            attr = f'{prefix}{{: themes="{value}" }}'
            edits.append((p.end_line, False, attr.encode("utf-8")))
    for index, is_replace, content in sorted(edits, reverse=True):
        if is_replace:
            lines[index] = content
        else:
            lines.insert(index, content)
    # Written beside the file and renamed over it: a crash never leaves half a file.
    temporary = testimony.path.with_name(f".{testimony.path.name}.tmp")
    temporary.write_bytes(newline.join(lines))
    os.replace(temporary, testimony.path)
    return len(edits)
