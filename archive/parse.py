"""Read testimony files: front matter, passages, redactions, with file:line errors.

Redact first, render second: :func:`archive.redaction.public_source` replaces every
redaction in the raw body by a placeholder before python-markdown sees it, and only
that public source is rendered. Every public form (HTML, plain text, ids, index,
export) is made from it; the private text is the rendered text with the placeholders
given back their words, for the archivist's private index. Per construct: a
placeholder in text (paragraph, heading, list, quote, link text, code) becomes the
``[redacted]`` marker; in a title or an image's alt text, the marker in place; in a
link's or image's address (inline, autolink or reference definition), the address is
dropped and the link becomes plain text. Look-alike markup, redaction markup in the
front matter and control characters are errors. python-markdown otherwise renders as
usual (``attr_list``), with raw HTML treated as text (testimony files are never
trusted) and the top-level block parser recording which source lines made each block.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
import threading
import xml.etree.ElementTree as etree
from collections import Counter
from collections.abc import Iterator
from copy import deepcopy
from dataclasses import replace
from pathlib import Path

import markdown
import nh3
from markdown.blockparser import State
from markdown.treeprocessors import Treeprocessor
from markdown.util import HTML_PLACEHOLDER_RE, AtomicString
from slugify import slugify

from .errors import UnreadableFileError, ValidationError, ValidationErrors
from .media import TIME_HINT, check_recordings, parse_media_field, parse_time_span
from .model import (
    REDACTED_MARKER,
    STATUSES,
    Archive,
    Block,
    PartialDate,
    Passage,
    Testimony,
    Vocabulary,
)
from .model import account_statuses as model_account_statuses
from .redaction import (
    PLACEHOLDER_RE,
    PLACEHOLDER_RUN_RE,
    PublicSource,
    conceal,
    control_character_errors,
    front_matter_errors,
    public_source,
)
from .safefile import MAX_FILE_BYTES, UnsafeFile, read_regular_file
from .themes import load_vocabulary
from .yamlsafe import load_mapping

__all__ = [
    "MAX_FILE_BYTES",
    "account_statuses",
    "iter_testimony_files",
    "load_archive",
    "parse_file",
    "parse_text",
]

REQUIRED = ("id", "title")
OPTIONAL = (
    "narrator",
    "interviewer",
    "date",
    "place",
    "language",
    "status",
    "publish_after",
    "source",
    "license",
    "themes",
    "translation_of",
    "media",
)
TEXT_FIELDS = ("title", "narrator", "interviewer", "place", "source", "license")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
ATTR_LINE_RE = re.compile(r"^\s*(?:>\s*)*\{:?[^}\n]*\}\s*$")  # also inside a block quote
#: Attribute-list text that python-markdown did not apply: it would be published
#: as text, and a misspelt ``.redact`` in it would publish what it meant to hide.
LEFTOVER_ATTRS_RE = re.compile(r"\{:[^}\n]*\}|\{\s*[.#][^}\n]*\}|\{[^}\n]*\bredact", re.I)
NESTED_BLOCKS = ("p", "ul", "ol", "li", "blockquote", "pre")
LIST_ITEM_RE = re.compile(r"^(\s*)(?:[*+-]|\d+\.)\s")
PASSAGE_ATTRS = {"id", "themes", "class", "t"}
INLINE_ATTRS = {"a": {"href", "title"}, "span": {"class"}, "img": {"src", "alt", "title"}}
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "li", "ol", "p", "pre", "span", "strong", "sub", "sup", "ul",
}  # fmt: skip


# --- front matter -----------------------------------------------------------


def _split_front_matter(text: str, path: str) -> tuple[str, str, int]:
    """Return (yaml, body, first body line)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise ValidationError(
            path, 1, "the file must start with a '---' front matter line", hint="see FORMAT.md"
        )
    for number, line in enumerate(lines[1:], start=2):
        if line.rstrip() in ("---", "..."):
            return "\n".join(lines[1 : number - 1]), "\n".join(lines[number:]), number + 1
    raise ValidationError(
        path, 1, "the front matter is never closed", hint="add a '---' line after the last key"
    )


def _partial_date(value: object, path: str, line: int, key: str) -> PartialDate:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return PartialDate(value.year, value.month, value.day)
    match = DATE_RE.match(str(value)) if isinstance(value, (str, int)) else None
    if match:
        year, month, day = (int(g) if g else None for g in match.groups())
        try:
            dt.date(year, month or 1, day or 1)
        except ValueError:
            pass
        else:
            return PartialDate(year, month, day)
    raise ValidationError(
        path,
        line,
        f"{key}: {value!r} is not an ISO date",
        hint='write YYYY-MM-DD, or "YYYY-MM" / "YYYY" in quotes when the day is unknown',
    )


def _front_matter(
    data: dict, lines: dict[str, int], path: str, stem: str, vocabulary: Vocabulary
) -> tuple[dict, list[ValidationError]]:
    errors: list[ValidationError] = []
    fields: dict = {}

    def err(key: str, message: str, hint: str | None = None) -> None:
        errors.append(ValidationError(path, lines.get(key, 1), message, hint=hint))

    for key in data:
        if key not in REQUIRED and key not in OPTIONAL:
            err(
                str(key),
                f"unknown key '{key}'",
                hint=f"allowed keys: {', '.join(REQUIRED + OPTIONAL)}",
            )
    for key in REQUIRED:
        if data.get(key) in (None, ""):
            err(key, f"'{key}' is required", hint="see FORMAT.md")

    for key in TEXT_FIELDS:
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            fields[key] = str(value).strip()
        else:
            err(key, f"{key} must be text", hint="put the value in double quotes")

    raw_id = data.get("id")
    if raw_id is not None:
        tid = str(raw_id)
        if slugify(tid) != tid:
            err("id", f"id '{tid}' is not a lowercase slug", hint=f"use '{slugify(tid)}'")
        elif tid != stem:
            err("id", f"id '{tid}' does not match the file name '{stem}.md'", hint="rename one")
        fields["id"] = tid

    language = data.get("language", "en")
    if not isinstance(language, str) or not LANGUAGE_RE.match(language):
        err("language", f"language {language!r} is not a BCP 47 tag", hint="en, ru, uk, ...")
        language = "und"
    fields["language"] = language

    # No default: a file that forgets its status must not be published by omission.
    status = data.get("status")
    if status is None:
        errors.append(
            ValidationError(
                path,
                lines.get("status", 1),
                "'status' is required: a testimony is not public unless it says so",
                hint="add 'status: restricted' (or 'status: public' once it may be published)",
            )
        )
        status = "restricted"
    elif status not in STATUSES:
        err("status", f"status {status!r} is not one of {', '.join(STATUSES)}")
        status = "restricted"  # fail closed
    fields["status"] = status

    for key in ("date", "publish_after"):
        if data.get(key) is not None:
            try:
                fields[key] = _partial_date(data[key], path, lines.get(key, 1), key)
            except ValidationError as exc:
                errors.append(exc)
    if status == "embargoed" and "publish_after" not in fields:
        err("status", "an embargoed testimony needs publish_after", hint="add publish_after: DATE")
        fields["status"] = "restricted"
    embargo = fields.get("publish_after")
    if status == "public" and embargo and embargo.last_day >= dt.date.today():
        err(
            "publish_after",
            "publish_after is in the future but status is public",
            hint="set status: embargoed to keep it unpublished until then",
        )

    themes = data.get("themes") or []
    if not isinstance(themes, list):
        err("themes", "themes must be a list", hint="themes: [furlough, hiding]")
        themes = []
    for i, slug in enumerate(themes):
        if not isinstance(slug, str) or slug not in vocabulary:
            errors.append(
                ValidationError(
                    path,
                    lines.get(f"themes[{i}]", lines.get("themes", 1)),
                    f"unknown theme '{slug}'",
                    hint=_theme_hint(vocabulary),
                )
            )
    fields["themes"] = tuple(t for t in themes if isinstance(t, str) and t in vocabulary)

    translation_of = data.get("translation_of")
    if translation_of is not None:
        if not isinstance(translation_of, str) or translation_of == fields.get("id"):
            err("translation_of", "translation_of must name another testimony's id")
        else:
            fields["translation_of"] = translation_of

    if data.get("media") is not None:
        fields["media"], problems = parse_media_field(data["media"])
        for index, message in problems:
            key = "media" if index is None else f"media[{index}]"
            errors.append(ValidationError(path, lines.get(key, lines.get("media", 1)), message,
                                          hint="name a recording inside the testimonies directory"))  # fmt: skip
    return fields, errors


def _theme_hint(vocabulary: Vocabulary) -> str:
    where = vocabulary.path or "the default vocabulary"
    return f"add it to {where} or use one of: {', '.join(sorted(vocabulary.themes)[:12])}, ..."


# --- body ------------------------------------------------------------------


#: Inline patterns whose every match holds one of the characters of ``_INLINE_TRIGGER``:
#: code and escapes need ` or \\, links, images, references and redactions [, autolinks <,
#: entities &, emphasis * or _, and a hard line break two spaces before a newline.
_TRIGGERED_PATTERNS = frozenset(
    {
        "backtick", "escape", "reference", "link", "image_link", "image_reference",
        "short_reference", "short_image_ref", "autolink", "linebreak", "entity",
        "em_strong", "em_strong2", "not_strong", "strong", "emphasis", "emphasis2",
        "strong_em", "em_strong_underscore",
    }
)  # fmt: skip
_INLINE_TRIGGER = re.compile(r"[`\\\[<&*_\x02]|  \n")


class _PlainText(Treeprocessor):
    """Runs just before inline processing: marks text no inline pattern can match as atomic,
    which python-markdown then leaves as it is. Most passages are plain prose, and trying
    every pattern on them was a fifth of a parse. Installed only when every registered
    pattern is one of ``_TRIGGERED_PATTERNS``, so a new pattern is never skipped."""

    def run(self, root):
        for el in root.iter():
            if el.text and not _INLINE_TRIGGER.search(el.text):
                el.text = AtomicString(el.text)
            if el.tail and not _INLINE_TRIGGER.search(el.tail):
                el.tail = AtomicString(el.tail)
        return root


def _skips_plain_text(md: markdown.Markdown) -> bool:
    return {p.name for p in md.inlinePatterns._priority} <= _TRIGGERED_PATTERNS


class _Capture(Treeprocessor):
    """Runs last: keeps the finished tree so the parser can cut it into passages."""

    def run(self, root):
        self.md.captured_root = root
        return root


def _make_markdown() -> markdown.Markdown:
    md = markdown.Markdown(extensions=["attr_list"])
    # Raw HTML in a testimony is text, never markup.
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.inlinePatterns.deregister("automail")
    md.treeprocessors.register(_Capture(md), "capture", -10)
    if _skips_plain_text(md):
        md.treeprocessors.register(_PlainText(md), "plain_text", 21)  # "inline" is 20
    parser = md.parser
    original = parser.parseBlocks

    def parse_blocks(parent, blocks):
        # Only the outermost document-level call is tracked: which source offsets
        # made which block. Processors re-enter with pieces of a block; skip those.
        if parent is not parser.root or md.tracking:
            return original(parent, blocks)
        md.tracking = True
        total = sum(map(len, blocks)) + 2 * (len(blocks) - 1)
        while blocks:
            remaining = sum(map(len, blocks)) + 2 * (len(blocks) - 1)
            count = len(parent)
            for processor in parser.blockprocessors:
                if processor.test(parent, blocks[0]) and processor.run(parent, blocks) is not False:
                    break
            left = sum(map(len, blocks)) + 2 * (len(blocks) - 1)
            span = (total - remaining, total - left - 2 if blocks else total)
            if len(parent) > count:
                for child in list(parent)[count:]:
                    md.block_spans.append([child, span[0], span[1]])
            elif md.block_spans:  # the block extended the previous element (a loose list)
                md.block_spans[-1][2] = span[1]

    parser.parseBlocks = parse_blocks
    return md


_CONVERTERS = threading.local()


def _markdown() -> markdown.Markdown:
    """This thread's converter, reset for a new body: building one costs a tenth of a parse."""
    md = getattr(_CONVERTERS, "md", None)
    if md is None:
        md = _CONVERTERS.md = _make_markdown()
    md.reset()
    # reset() leaves the block parser's state alone, and python-markdown's block
    # processors set and clear it without try/finally: after an error mid-parse it
    # would still say "in a list" for the next body.
    md.parser.state = State()
    md.block_spans = []
    md.tracking = False
    md.captured_root = None  # convert() leaves it unset for a blank body
    return md


def _resolve_placeholders(md: markdown.Markdown, root: etree.Element) -> None:
    """Put the characters of entities back as text so text and HTML agree exactly."""
    stash = md.htmlStash.rawHtmlBlocks

    def fix(text: str | None) -> str | None:
        if not text or "\x02" not in text:
            return text
        return HTML_PLACEHOLDER_RE.sub(lambda m: html.unescape(str(stash[int(m.group(1))])), text)

    for el in root.iter():
        el.text, el.tail = fix(el.text), fix(el.tail)
        if el.tag == "code" and el.text:  # code text arrives escaped once already
            el.text = html.unescape(el.text)


def _tidy_whitespace(el: etree.Element) -> None:
    """Inside a passage, block children are separated by one newline, nothing at the ends."""
    children = list(el)
    if children and children[0].tag in ("p", "ul", "ol", "blockquote", "pre"):
        if el.text and not el.text.strip():
            el.text = None
        for i, child in enumerate(children):
            if child.tail is not None and not child.tail.strip():
                child.tail = "\n" if i < len(children) - 1 else None
            _tidy_whitespace(child)
    elif el.tag in ("ul", "ol", "li"):
        for child in children:
            _tidy_whitespace(child)


def _text(el: etree.Element) -> str:
    return "".join(el.itertext())


def _is_redacted(el: etree.Element) -> bool:
    return "redact" in (el.get("class") or "").split()


def _has_placeholder(el: etree.Element) -> bool:
    return any(
        PLACEHOLDER_RE.search(e.text or "")
        or PLACEHOLDER_RE.search(e.tail or "" if e is not el else "")
        or any(PLACEHOLDER_RE.search(v) for v in e.attrib.values())
        for e in el.iter()
    )


def _publicise(el: etree.Element, whole: bool) -> etree.Element:
    """The only public form: a copy in which every placeholder of the public source has
    become the marker (the element itself when it holds none; neither changes afterwards).

    Per construct: in text (a paragraph, heading, link text, code) a placeholder becomes
    ``<span class="redacted">[redacted]</span>``; in a link's or image's title and an
    image's alt text, the marker in place; a link's ``href`` or an image's ``src`` that
    holds one is dropped, and the link becomes plain text (an autolink shows its address
    with the marker). Any element marked ``.redact`` (a passage, a nested list item, the
    second paragraph of an item) is emptied to the marker, whatever its tag or depth.
    """
    if not whole and not any(_is_redacted(e) for e in el.iter()) and not _has_placeholder(el):
        return el  # nothing to replace: the element is its own public form
    copy = deepcopy(el)
    targets = [copy] if whole else [e for e in copy.iter() if _is_redacted(e)]
    for target in targets:
        for child in list(target):
            target.remove(child)
        target.text = REDACTED_MARKER
        if target is not copy:
            target.attrib.clear()
            target.set("class", "redacted")
    for e in list(copy.iter()):
        for name, value in list(e.attrib.items()):
            if not PLACEHOLDER_RE.search(value):
                continue
            if name in ("title", "alt"):
                e.set(name, conceal(value, REDACTED_MARKER))
            else:  # an address (href, src) cannot show a marker: it goes
                del e.attrib[name]
        if e.tag == "a" and "href" not in e.attrib:
            # The link becomes its text; the marker says an address was there, unless
            # the text shows one already (an autolink's text is its address).
            e.tag = "span"
            e.attrib.clear()
            if not PLACEHOLDER_RE.search(_text(e)):
                e.append(_marker(""))
    for parent in list(copy.iter()):
        pieces = _pieces(parent.text)
        if pieces:
            parent.text = pieces[0] or None
            for i, after in enumerate(pieces[1:]):
                parent.insert(i, _marker(after))
        for child in list(parent):
            pieces = _pieces(child.tail)
            if pieces:
                child.tail = pieces[0] or None
                at = list(parent).index(child)
                for i, after in enumerate(pieces[1:], start=1):
                    parent.insert(at + i, _marker(after))
    return copy


def _pieces(text: str | None) -> list[str] | None:
    """Text around each placeholder run (a marker goes between pieces), or None."""
    if not text or not PLACEHOLDER_RE.search(text):
        return None
    return PLACEHOLDER_RUN_RE.split(text)[0::2]


def _marker(tail: str) -> etree.Element:
    span = etree.Element("span")
    span.set("class", "redacted")
    span.text = REDACTED_MARKER
    span.tail = tail or None
    return span


def _inner_html(el: etree.Element) -> str:
    parts = [html.escape(el.text or "", quote=False)]
    for child in el:
        parts.append(etree.tostring(child, encoding="unicode", method="html"))
    return _sanitize("".join(parts))


#: Built once: a cleaner made per call costs half as much again as the cleaning.
_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes={"a": {"href", "title"}, "span": {"class"}, "abbr": {"title"}},
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


def _sanitize(fragment: str) -> str:
    return _CLEANER.clean(fragment)


def _speaker(el: etree.Element) -> str | None:
    first = el[0] if len(el) else None
    if first is not None and first.tag == "strong" and not (el.text or "").strip():
        label = _text(first).strip()
        if label.endswith(":") and 0 < len(label) <= 60:
            return label[:-1].strip() or None
    return None


def _derived_id(public: str) -> str:
    digest = hashlib.blake2b(" ".join(public.split()).encode(), digest_size=4).hexdigest()
    return f"p-{digest}"


_DERIVED_ID_RE = re.compile(r"p-[0-9a-f]{8}")


def looks_derived(passage_id: str) -> bool:
    """Could ``passage_id`` be one the parser derived (a hash of public text, which says
    nothing of its own) rather than one an author wrote?"""
    return _DERIVED_ID_RE.fullmatch(passage_id) is not None


def _line_spans(body: str, first_line: int, start: int, end: int) -> tuple[int, int]:
    """File lines of the text between two body offsets, blank edges trimmed."""
    chunk = body[start:end]
    lead = len(chunk) - len(chunk.lstrip())
    chunk = chunk.strip()
    line = first_line + body.count("\n", 0, start + lead)
    return line, line + chunk.count("\n")


def _item_lines(lines: list[str], first: int, last: int, first_line: int) -> list[int]:
    """Start lines of the top-level items of a list found between two file lines."""
    indent = None
    starts = []
    for number in range(first, last + 1):
        match = LIST_ITEM_RE.match(lines[number - first_line])
        if match and (indent is None or len(match.group(1)) <= indent):
            indent = len(match.group(1))
            starts.append(number)
    return starts


class _BodyParser:
    def __init__(self, path: str, body: str, first_line: int, vocabulary: Vocabulary) -> None:
        self.path, self.first_line = path, first_line
        self.vocabulary = vocabulary
        self.errors: list[ValidationError] = control_character_errors(body, path, first_line)
        # Redact first, render second: only the public source is ever rendered. It has
        # the body's lines, so offsets and line numbers below are read in it.
        self.source: PublicSource = public_source(body, path, first_line)
        self.errors += self.source.errors
        self.body = self.source.text
        self.lines = self.body.split("\n")

    def error(self, line: int, message: str, hint: str | None = None) -> None:
        self.errors.append(ValidationError(self.path, line, message, hint=hint))

    def parse(self) -> tuple[Block, ...]:
        md = _markdown()
        md.convert(self.body)
        root = md.captured_root
        if root is None:
            return ()
        _resolve_placeholders(md, root)
        for e in root.iter():
            # attr_list writes a key it cannot read (after a no-break space: "{:\u00a0.x }")
            # with no value; as an empty one it meets the attribute checks like any other.
            for name, value in list(e.attrib.items()):
                if value is None:
                    e.set(name, "")
        blocks = []
        for el, start, end in md.block_spans:
            if el not in list(root):
                continue
            first, last = _line_spans(self.body, self.first_line, start, end)
            blocks.append(self.block(el, first, last))
        self.check_ids(blocks)
        return tuple(blocks)

    def attr_line(self, first: int, last: int) -> int | None:
        for number in range(last, first - 1, -1):
            if ATTR_LINE_RE.match(self.lines[number - self.first_line]):
                return number
            if self.lines[number - self.first_line].strip():
                return None
        return None

    def block(self, el: etree.Element, first: int, last: int) -> Block:
        if el.tag in ("p", "blockquote"):
            return Block(el.tag, (self.passage(el, el.tag, first, last),))
        if el.tag in ("ul", "ol"):
            starts = _item_lines(self.lines, first, last, self.first_line)
            items = []
            for i, li in enumerate(el.findall("li")):
                begin = starts[i] if i < len(starts) else first
                stop = starts[i + 1] - 1 if i + 1 < len(starts) else last
                while stop > begin and not self.lines[stop - self.first_line].strip():
                    stop -= 1
                items.append(self.passage(li, "li", begin, stop))
            return Block(el.tag, tuple(items))
        self.check_attributes(el, first, set() if el.tag == "hr" else {"id", "class"})
        self.check_redacted_whole(el, first)
        public = _publicise(el, _is_redacted(el))
        self.check_leftovers(el, first)
        heading_id = el.get("id")
        if heading_id is not None and slugify(heading_id) != heading_id:
            self.error(first, f"id '{heading_id}' is not a lowercase slug",
                       hint=f"use '{slugify(heading_id) or 'a-word'}'")  # fmt: skip
        return Block(el.tag, (), _inner_html(public), heading_id)

    def check_leftovers(self, el: etree.Element, first: int) -> None:
        """Fail closed on attribute lists markdown did not apply (a misspelt redaction)."""
        for offset, text_line in enumerate(_text(el).split("\n")):
            found = LEFTOVER_ATTRS_RE.search(text_line)
            if found:
                self.error(
                    first + offset,
                    f"'{found.group(0)}' was not applied and would be published as text",
                    hint="write [words]{.redact} inline, or one {: ... } line right after the "
                    "passage; escape a literal brace as \\{",
                )

    def check_redacted_whole(self, el: etree.Element, line: int) -> None:
        """Every element Markdown marked ``.redact`` holds placeholders only: else the
        scanner did not see where its passage begins, and the file is refused."""
        for e in el.iter():
            if _is_redacted(e) and PLACEHOLDER_RE.sub("", _text(e)).strip():
                self.error(
                    line,
                    "the passage this '{: .redact }' line closes could not be found before "
                    "rendering, so it cannot be redacted safely",
                    hint="put a blank line before the passage and its '{: .redact }' line "
                    "right after its last line",
                )
                return

    def check_attributes(self, el: etree.Element, line: int, allowed: set[str]) -> None:
        for name in el.attrib:
            if name not in allowed:
                self.error(
                    line,
                    f"attribute '{name}' is not allowed",
                    hint='a passage takes only an #id, themes="...", t="..." and .redact',
                )
        for cls in (el.get("class") or "").split():
            if cls != "redact":
                self.error(line, f"class '.{cls}' is not allowed", hint="only .redact is known")
        for child in el.iter():
            if child is el:
                continue
            if child.tag in NESTED_BLOCKS:
                # Inside a passage a block may only be redacted: ids and themes belong
                # to the passage itself.
                allowed_here = {"class"} if _is_redacted(child) else set()
                for name in sorted(set(child.attrib) - allowed_here):
                    self.error(
                        line,
                        f"attribute '{name}' on a <{child.tag}> inside a passage is not allowed",
                        hint="put the {: ... } line after the whole passage",
                    )
                continue
            extra = set(child.attrib) - INLINE_ATTRS.get(child.tag, set())
            if child.tag == "span" and child.get("class") not in (None, "redact"):
                extra.add("class")
            for name in sorted(extra):
                self.error(
                    line,
                    f"attribute '{name}' on <{child.tag}> is not allowed",
                    hint="remove the {: ... } list from inline text",
                )

    def passage(self, el: etree.Element, kind: str, first: int, last: int) -> Passage:
        attr_line = self.attr_line(first, last)
        if kind == "blockquote":  # attr_list puts the attributes on the last inner paragraph
            for inner in el.iter("p"):
                for name, value in list(inner.attrib.items()):
                    el.set(name, value)
                    del inner.attrib[name]
        where = attr_line or first
        self.check_attributes(el, where, PASSAGE_ATTRS)
        _tidy_whitespace(el)
        whole = _is_redacted(el)
        self.check_redacted_whole(el, where)
        public_el = _publicise(el, whole)
        self.check_leftovers(el, first)
        public = _text(public_el)
        themes = tuple((el.get("themes") or "").split())
        if whole and (el.get("id") is not None or themes):
            self.error(
                where,
                "a redacted passage cannot have an #id or themes: they would be published",
                hint="remove them from this {: .redact } line",
            )
        for slug in themes:
            if slug not in self.vocabulary:
                self.error(where, f"unknown theme '{slug}'", hint=_theme_hint(self.vocabulary))
        explicit = el.get("id")
        if explicit is not None and slugify(explicit) != explicit:
            self.error(where, f"passage id '{explicit}' is not a lowercase slug",
                       hint=f"use '{slugify(explicit) or 'a-word'}'")  # fmt: skip
        time = None
        if el.get("t") is not None:
            try:
                time = parse_time_span(el.get("t"))
            except ValueError as exc:
                self.error(where, f'time code t="{el.get("t")}": {exc}', hint=TIME_HINT)
        indent = re.match(r"\s*", self.lines[first - self.first_line]).group(0)
        if kind == "li":
            indent = " " * (LIST_ITEM_RE.match(self.lines[first - self.first_line]).end())
        rendered = _text(el)
        private, html_text = self.source.reveal(rendered), _inner_html(public_el)
        return Passage(
            id=explicit or _derived_id(public),
            kind=kind,
            # Most passages are plain prose: one string object for all three halves their
            # memory, and what the export's readers send back.
            text=public if private == public else private,
            public_text=public,
            html=public if html_text == public else html_text,
            themes=tuple(t for t in themes if t in self.vocabulary),
            speaker=_speaker(public_el),
            redacted=whole,
            redactions=self.source.inline_secrets(
                rendered + "".join(v for e in el.iter() for v in e.attrib.values())
            )
            + tuple(
                self.source.reveal(_text(e)) for e in el.iter() if e is not el and _is_redacted(e)
            ),
            explicit_id=explicit is not None,
            line=first,
            end_line=last,
            attr_line=attr_line,
            indent=indent,
            time=time,
        )

    def check_ids(self, blocks: list[Block]) -> None:
        seen: dict[str, int] = {}
        explicit = {p.id for b in blocks for p in b.passages if p.explicit_id}
        derived_count: Counter[str] = Counter()
        for b_index, block in enumerate(blocks):
            renamed = []
            for p in block.passages:
                pid = p.id
                if not p.explicit_id:
                    # Repeated texts ("Q: Yes.") get -2, -3...: only equal texts shift.
                    derived_count[pid] += 1
                    if derived_count[pid] > 1:
                        pid = f"{pid}-{derived_count[pid]}"
                    if pid in explicit:
                        pid = f"{pid}-x"
                if pid in seen:
                    self.error(
                        p.attr_line or p.line,
                        f"duplicate passage id '{pid}' (first used at line {seen[pid]})",
                        hint="passage ids must be unique within a testimony",
                    )
                seen.setdefault(pid, p.attr_line or p.line)
                renamed.append(p if pid == p.id else replace(p, id=pid))
            blocks[b_index] = replace(block, passages=tuple(renamed))


# --- files -----------------------------------------------------------------


def _decode(raw: bytes, path: str) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise ValidationError(
            path,
            None,
            f"file is {len(raw):,} bytes, over the {MAX_FILE_BYTES:,}-byte limit",
            hint="split the interview into several testimonies",
        )
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise ValidationError(path, line, "file contains a NUL byte: is it a binary file?")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValidationError(
            path, line, "file is not valid UTF-8", hint="save it as UTF-8 in your editor"
        ) from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def parse_text(
    text: str, path: str | Path, vocabulary: Vocabulary | None = None, content_hash: str = ""
) -> Testimony:
    """Parse one testimony from its text; raise :class:`ValidationErrors` with every problem."""
    path = Path(path)
    vocabulary = vocabulary or load_vocabulary(None)
    where = str(path)
    front, body, body_line = _split_front_matter(text, where)
    data, key_lines = load_mapping(front, where, first_line=2)
    fields, errors = _front_matter(data, key_lines, where, path.stem, vocabulary)
    errors += front_matter_errors(data, key_lines, where)
    body_parser = _BodyParser(where, body, body_line, vocabulary)
    try:
        blocks = body_parser.parse()
    except RecursionError:
        # python-markdown recurses once per level of nesting (emphasis, lists, quotes):
        # a hostile body must cost one error for its file, not the whole archive.
        blocks = ()
        body_parser.error(
            body_line + body[: len(body) - len(body.lstrip())].count("\n"),
            "the body's markup is nested too deeply to be read",
            hint="look for long runs of '*', '_', '>' or list markers; escape them as \\*",
        )
    errors += body_parser.errors
    if not any(b.passages for b in blocks) and not body_parser.errors:
        errors.append(ValidationError(where, body_line, "the body has no passages"))
    if errors:
        raise ValidationErrors(sorted(errors, key=lambda e: e.line or 0))
    testimony = Testimony(path=path, blocks=blocks, content_hash=content_hash, **fields)
    errors = check_recordings(testimony, key_lines, isinstance(data.get("media"), list))
    if errors:
        raise ValidationErrors(errors)
    return testimony


def parse_file(
    path: str | Path, vocabulary: Vocabulary | None = None, directory: str | Path | None = None
) -> Testimony:
    """Parse one testimony file; raise :class:`ValidationErrors` listing every problem in it.

    The file must be a regular file inside ``directory`` (default: its own
    directory), checked before anything is read (see :mod:`archive.safefile`).
    """
    path = Path(path)
    try:
        raw = read_regular_file(path, path.parent if directory is None else directory)
    except UnsafeFile as exc:
        raise ValidationErrors([UnreadableFileError(path, None, str(exc), hint=exc.hint)]) from None
    except OSError as exc:
        error = UnreadableFileError(path, None, f"cannot read: {exc.strerror or exc}")
        raise ValidationErrors([error]) from None
    try:
        text = _decode(raw, str(path))
    except ValidationError as exc:
        error = UnreadableFileError(exc.path, exc.line, exc.message, hint=exc.hint)
        raise ValidationErrors([error]) from None
    try:
        return parse_text(text, path, vocabulary, hashlib.sha256(raw).hexdigest())
    except ValidationError as exc:
        raise ValidationErrors([exc]) from None
    except (ValidationErrors, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - one odd file must not stop the archive
        error = ValidationError(
            path,
            None,
            f"could not be read ({type(exc).__name__}: {exc})",
            hint="simplify the file's markup; if it looks valid, report it with the file",
        )
        raise ValidationErrors([error]) from None


def iter_testimony_files(directory: str | Path) -> Iterator[Path]:
    """Testimony files of an archive directory, in a stable order.

    Every ``*.md`` name is listed, whatever it is: :func:`parse_file` refuses
    (with an error naming it) what is not a regular file inside the directory,
    so a FIFO or a link to ``/dev/zero`` is reported, never read.
    """
    yield from sorted(Path(directory).glob("*.md"))


def load_archive(
    directory: str | Path, paths: list[Path] | None = None, vocabulary: Vocabulary | None = None
) -> Archive:
    """Read every testimony of a directory; collect errors instead of stopping at the first.

    Files given in ``paths`` that lie in ``directory`` are held to it; others
    (``archive validate some/where/x.md``) to their own directory.
    """
    directory = Path(directory)
    errors: list[ValidationError] = []
    if vocabulary is None:
        try:
            vocabulary = load_vocabulary(directory)
        except ValidationErrors as exc:
            errors += exc.errors
            vocabulary = load_vocabulary(None)
    testimonies: dict[str, Testimony] = {}
    root = directory.resolve()
    for path in paths if paths is not None else iter_testimony_files(directory):
        inside = Path(path).absolute().parent.resolve() == root
        try:
            t = parse_file(path, vocabulary, directory if inside else None)
        except ValidationErrors as exc:
            errors += exc.errors
            continue
        testimonies[t.id] = t
    # Checked against every file of the directory, so validating one file alone works.
    known = set(testimonies) | {p.stem for p in iter_testimony_files(directory)}
    for t in list(testimonies.values()):
        if t.translation_of and t.translation_of not in known:
            errors.append(
                ValidationError(
                    t.path,
                    _key_line(t.path, "translation_of"),
                    f"translation_of names '{t.translation_of}', which is not in the archive",
                    hint="check the id of the original testimony",
                )
            )
    archive = Archive(directory, vocabulary, testimonies, errors)
    # Some files only (the watcher's changed files, a command's own): the other versions
    # of their accounts are judged by their front matter, not counted as missing.
    others = None
    if paths is not None:
        others = {k: v for k, v in front_matter_versions(directory).items() if k not in testimonies}
    archive.bind_translations(others)
    return archive


def _key_line(path: Path, key: str) -> int | None:
    try:  # the file may have been swapped for a FIFO since it was parsed
        text = read_regular_file(path, path.parent).decode("utf-8", "replace")
    except (OSError, UnsafeFile):
        return None
    for number, line in enumerate(text.split("\n"), start=1):
        if line.startswith(f"{key}:"):
            return number
    return None


def front_matter_versions(
    directory: str | Path,
) -> dict[str, tuple[str | None, str | None, PartialDate | None]]:
    """Each file's ``(translation_of, status, publish_after)`` from its front matter alone
    (see :func:`model.account_statuses`); a file whose front matter does not read is left
    out, so it counts as restricted for its account."""
    versions: dict[str, tuple[str | None, str | None, PartialDate | None]] = {}
    for path in iter_testimony_files(directory):
        try:
            text = _decode(read_regular_file(path, directory), str(path))
            front = _split_front_matter(text, str(path))[0]
            data = load_mapping(front, str(path), first_line=2)[0]
        except (OSError, UnsafeFile, ValidationError, RecursionError):
            continue  # its own parse reports it
        status = data.get("status")  # none is an error: restricted meanwhile
        try:
            after = _partial_date(data["publish_after"], "", 0, "publish_after")
        except (KeyError, ValidationError):
            after = None
        original = data.get("translation_of")
        versions[path.stem] = (
            original if isinstance(original, str) else None,
            status if status in STATUSES else None,
            after,
        )
    return versions


def account_statuses(directory: str | Path) -> dict[str, tuple[str, PartialDate | None]]:
    """The status an account's versions share (FORMAT 1.1), for each version of an account
    (an original with translations): what :meth:`Archive.bind_translations` applies, read from the
    front matter alone for readers that parse files one by one (the index's workers)."""
    return model_account_statuses(front_matter_versions(directory))
