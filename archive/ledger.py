"""The quote ledger: the quotes the newsroom has cited or published (``quotes.yaml``).

Each entry is a quote anchor (exact words, context, offsets, passage) with a
short id, the date it was cited and an optional note of where it was
published (FORMAT.md, "Quote ledger (1.1)"). The id gives the quote a short,
stable link, ``/q/ID/`` (:func:`archive.urls.quote_url`), and the entry lets
:func:`check_ledger` tell an editor when an edit changed or lost words that
were already printed.

The ledger is published with the archive, so it only ever holds public
words: :func:`add_quote` refuses a testimony that is not public and words
that touch a redaction. Writes are atomic (a temporary file, fsync, rename)
and keep every other byte of the file as it was: a new entry's text is
appended, a removed entry's lines are cut out, and the result is read back
and compared before it replaces the file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .anchors import CONTEXT_CHARS, Anchor, make_anchor, resolve_anchor
from .errors import AnchorError, ArchiveError, ValidationError
from .model import REDACTED_MARKER, Archive, Testimony, passage_offsets, public_text
from .plain import plain
from .safefile import UnsafeFile, read_regular_file
from .yamlsafe import load_mapping

__all__ = [
    "ID_ALPHABET",
    "ID_LENGTH",
    "LEDGER_FILE",
    "MAX_LEDGER_BYTES",
    "MAX_LEDGER_QUOTES",
    "Ledger",
    "LedgerProblem",
    "LedgerQuote",
    "PrivateText",
    "add_quote",
    "add_quote_at",
    "check_ledger",
    "ledger_path",
    "load_ledger",
    "placed_quotes",
    "remove_quote",
]

LEDGER_FILE = "quotes.yaml"
#: The largest ledger read (bytes): about 3,000 quotes with their context. YAML costs about
#: a second a megabyte, and the server reads the file again whenever it changes, so a
#: hostile or runaway file is refused before it is parsed.
MAX_LEDGER_BYTES = 1024 * 1024
#: The most entries read: each is resolved against its testimony's text on every check.
MAX_LEDGER_QUOTES = 3000
_TOO_BIG_HINT = (
    "remove quotes that were never published ('archive quotes remove ID'); "
    "the ledger is for quotes the newsroom cited, not every link made"
)
#: Lowercase letters and digits a reader cannot mistake for each other in print (no 0/o, 1/l).
ID_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyz"
#: 7 characters of 32: 34 billion ids, so a hash prefix rarely collides; on a collision
#: the id grows by one character.
ID_LENGTH = 7
_ID_RE = re.compile(f"[{ID_ALPHABET}]{{{ID_LENGTH},16}}")
_SLUG_RE = re.compile(r"[a-z0-9][a-z0-9-]*")
_KEYS = (
    "id",
    "testimony",
    "passage",
    "exact",
    "prefix",
    "suffix",
    "start",
    "end",
    "cited",
    "where",
)
_REQUIRED = ("id", "testimony", "exact", "start", "end", "cited")
_ORDER_HINT = "see FORMAT.md, 'Quote ledger (1.1)'"


@dataclass(frozen=True)
class LedgerQuote:
    id: str
    testimony: str
    passage: str | None
    exact: str
    prefix: str
    suffix: str
    start: int
    end: int
    cited: dt.date
    where: str | None = None
    line: int = 0  # where the entry starts in quotes.yaml

    @property
    def anchor(self) -> Anchor:
        # A hand-written entry may keep more context than an anchor does: the nearest part counts.
        return Anchor(
            exact=self.exact,
            prefix=self.prefix[-CONTEXT_CHARS:] if self.prefix else "",
            suffix=self.suffix[:CONTEXT_CHARS],
            start=self.start,
            end=self.end,
            testimony=self.testimony,
            passage=self.passage,
        )

    def as_dict(self) -> dict[str, Any]:
        return plain(self, " ".join(_KEYS), cited=self.cited.isoformat())


@dataclass
class Ledger:
    """Every entry that reads, plus every problem found (one bad entry never hides another)."""

    path: Path
    quotes: tuple[LedgerQuote, ...] = ()
    errors: list[ValidationError] = field(default_factory=list)

    def get(self, quote_id: str) -> LedgerQuote | None:
        return next((q for q in self.quotes if q.id == quote_id), None)

    def for_testimony(self, testimony_id: str) -> list[LedgerQuote]:
        return [q for q in self.quotes if q.testimony == testimony_id]


def ledger_path(directory: Path) -> Path:
    return Path(directory) / LEDGER_FILE


# --- reading ------------------------------------------------------------------------------


def _read_raw(directory: Path) -> bytes | None:
    """The ledger's bytes, or None when there is no file. Read as testimony files are
    (:mod:`archive.safefile`): a regular file inside the directory, its size checked on the
    open file before reading, so a FIFO never hangs a reader and a huge file never fills
    memory; anything else is a :class:`ValidationError` naming the file."""
    path = ledger_path(directory)
    try:
        return read_regular_file(path, directory, cap=MAX_LEDGER_BYTES)
    except FileNotFoundError:
        return None
    except UnsafeFile as exc:
        try:
            size = path.stat().st_size if path.is_file() else 0
        except OSError:
            size = 0
        if size > MAX_LEDGER_BYTES:
            raise ValidationError(
                path,
                1,
                f"the quote ledger is {size / 1048576:.1f} MB, over its limit of "
                f"{MAX_LEDGER_BYTES // 1048576} MB (about {MAX_LEDGER_QUOTES:,} quotes); "
                "it was not read",
                hint=_TOO_BIG_HINT,
            ) from None
        raise ValidationError(
            path, 1, f"{exc}; it was not read", hint="keep quotes.yaml a plain file here"
        ) from None
    except OSError as exc:
        raise ValidationError(path, 1, f"cannot be read: {exc.strerror or exc}") from None


def load_ledger(directory: Path) -> Ledger:
    """Read ``quotes.yaml`` in the testimonies directory; no file is an empty ledger."""
    path = ledger_path(directory)
    try:
        raw = _read_raw(directory)
    except ValidationError as exc:
        return Ledger(path, errors=[exc])
    return Ledger(path) if raw is None else parse_ledger(raw, path)


def parse_ledger(raw: bytes, path: Path) -> Ledger:
    ledger = Ledger(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        ledger.errors.append(ValidationError(path, line, "not UTF-8 text", hint="save it as UTF-8"))
        return ledger
    try:
        data, lines = load_mapping(text, str(path))
    except ValidationError as exc:
        ledger.errors.append(exc)
        return ledger
    for key in data:
        if key != "quotes":
            ledger.errors.append(
                ValidationError(path, lines.get(str(key)), f"unknown key '{key}'", hint=_ORDER_HINT)
            )
    entries = data.get("quotes") or []
    if not isinstance(entries, list):
        ledger.errors.append(
            ValidationError(path, lines.get("quotes"), "'quotes' must be a list of entries")
        )
        return ledger
    if len(entries) > MAX_LEDGER_QUOTES:
        ledger.errors.append(
            ValidationError(
                path,
                lines.get("quotes", 1),
                f"the quote ledger holds {len(entries):,} entries, over its limit of "
                f"{MAX_LEDGER_QUOTES:,}; none was read",
                hint=_TOO_BIG_HINT,
            )
        )
        return ledger
    quotes: list[LedgerQuote] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        line = lines.get(f"quotes[{i}]", lines.get("quotes", 1))
        try:
            quote = _entry(entry, path, line)
        except ValidationError as exc:
            ledger.errors.append(exc)
            continue
        if quote.id in seen:
            ledger.errors.append(
                ValidationError(
                    path,
                    line,
                    f"quote id '{quote.id}' is given twice (first at line {seen[quote.id]})",
                    hint="every quote keeps its own id; remove the copy",
                )
            )
            continue
        seen[quote.id] = line
        quotes.append(quote)
    ledger.quotes = tuple(quotes)
    return ledger


def _entry(entry: Any, path: Path, line: int) -> LedgerQuote:
    def fail(message: str, hint: str | None = _ORDER_HINT) -> ValidationError:
        return ValidationError(path, line, message, hint=hint)

    if not isinstance(entry, dict):
        raise fail("a ledger entry must be a mapping of 'key: value' lines")
    unknown = [str(k) for k in entry if k not in _KEYS]
    if unknown:
        raise fail(f"unknown key(s) in a ledger entry: {', '.join(unknown)}")
    missing = [k for k in _REQUIRED if entry.get(k) is None]
    if missing:
        raise fail(f"a ledger entry needs {', '.join(missing)}")
    quote_id = entry["id"]
    if not isinstance(quote_id, str) or not _ID_RE.fullmatch(quote_id):
        raise fail(
            f"quote id {quote_id!r} is not {ID_LENGTH}-16 characters of {ID_ALPHABET}",
            hint="let 'archive quotes add' make the id",
        )
    testimony = entry["testimony"]
    if not isinstance(testimony, str) or not _SLUG_RE.fullmatch(testimony):
        raise fail(f"testimony {testimony!r} is not a testimony id")
    passage = entry.get("passage")
    if passage is not None and not isinstance(passage, str):
        raise fail("passage must be a passage id")
    texts = {k: entry.get(k, "") for k in ("exact", "prefix", "suffix")}
    for name, value in texts.items():
        if not isinstance(value, str):
            raise fail(f"{name} must be text in double quotes")
    for name in ("start", "end"):
        if not isinstance(entry[name], int) or isinstance(entry[name], bool):
            raise fail(f"{name} must be a whole number (an offset in the public text)")
    cited = entry["cited"]
    if not isinstance(cited, dt.date) or isinstance(cited, dt.datetime):
        raise fail("cited must be a date, YYYY-MM-DD")
    where = entry.get("where")
    if where is not None and not isinstance(where, str):
        raise fail("where must be text (a note of where the quote was published)")
    for name, value in (*texts.items(), ("where", where or "")):
        # YAML's "\e", "\x07"...: a terminal would obey them when 'quotes list' prints them.
        if any(unicodedata.category(c) == "Cc" and c not in "\t\n" for c in value):
            raise fail(f"{name} holds a control character", hint="remove it")
    quote = LedgerQuote(
        id=quote_id,
        testimony=testimony,
        passage=passage,
        exact=texts["exact"],
        prefix=texts["prefix"],
        suffix=texts["suffix"],
        start=entry["start"],
        end=entry["end"],
        cited=cited,
        where=where,
        line=line,
    )
    try:
        quote.anchor  # noqa: B018 - the anchor's own checks: lengths, offsets, context size
    except AnchorError as exc:
        raise fail(f"this quote cannot be an anchor: {exc.message}") from None
    return quote


# --- ids ----------------------------------------------------------------------------------


def _hash_id(testimony: str, exact: str, start: int, length: int) -> str:
    """The first ``length`` characters of a hash of the quote, in :data:`ID_ALPHABET`."""
    digest = hashlib.sha256(f"{testimony}\0{start}\0{exact}".encode()).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, len(ID_ALPHABET))
        chars.append(ID_ALPHABET[digit])
    return "".join(chars)


def new_id(testimony: str, exact: str, start: int, taken: set[str]) -> str:
    """Derived from the quote, so the same words get the same id on any machine; one
    character longer for each collision with an id already taken."""
    for length in range(ID_LENGTH, 17):
        candidate = _hash_id(testimony, exact, start, length)
        if candidate not in taken:
            return candidate
    raise ArchiveError("no free quote id (the ledger holds a copy of this quote's ids?)")


# --- public words only --------------------------------------------------------------------


def _touches_redaction(text: str, start: int, end: int) -> bool:
    """Do the words ``text[start:end]`` include or border on a redaction marker?

    A quote that ends where a redaction starts would print words the
    redaction's context was meant to hide (and resolve later against text
    that may have changed under the marker)."""
    width = len(REDACTED_MARKER)
    lo, hi = max(0, start - width - 1), min(len(text), end + width + 1)
    for found in re.finditer(re.escape(REDACTED_MARKER), text[lo:hi]):
        a, b = lo + found.start(), lo + found.end()
        if a < end and b > start:
            return True  # inside the quote
        if (b <= start and not text[b:start].strip()) or (a >= end and not text[end:a].strip()):
            return True  # right next to it
    return False


def redacted_words(t: Testimony) -> list[str]:
    """The private words of ``t`` (inline redactions and redacted passages), folded."""
    found = [r.casefold() for p in t.passages for r in p.redactions if r.strip()]
    found += [p.text.casefold() for p in t.passages if p.redacted and p.text.strip()]
    return found


#: A record shares words with a non-public text when it holds this many of them in a row
#: (fewer when the record is shorter): a sentence, not a common phrase of two words.
_SHARED_RUN = 4
_FOLD_WORD = re.compile(r"[^\W_]+")


def _folded_words(text: str) -> tuple[str, ...]:
    """Words as the checks compare them: case, ё/е and marks folded, punctuation gone."""
    text = unicodedata.normalize("NFKD", text.casefold().replace("ё", "е"))
    return tuple(_FOLD_WORD.findall("".join(c for c in text if not unicodedata.combining(c))))


def _joined(words: tuple[str, ...]) -> str:
    return " " + " ".join(words) + " "


class PrivateText:
    """What of an archive is not public on a day, folded, gathered once so that a check of
    every ledger entry does not walk every testimony again for each one.

    Asked before an orphaned or changed quote's recorded words are shown: an editor may
    have redacted exactly the words that were quoted, or a hand-edited ledger may hold a
    sentence of a testimony that is not public."""

    def __init__(self, archive: Archive, today: dt.date | None = None) -> None:
        self.redactions = [
            words
            for t in archive.testimonies.values()
            for w in redacted_words(t)
            if (words := _folded_words(w))
        ]
        self.texts: list[str] = []
        self.heads: list[str] = []
        for t in archive.non_public(today):
            self.texts.append(_joined(_folded_words(" ".join(p.text for p in t.passages))))
            for value in (t.title, t.narrator, t.place):
                if words := _folded_words(str(value or "")):
                    self.heads.append(_joined(words))

    def holds(self, words: str) -> bool:
        """Whether ``words`` share any word with a redaction (inside it, around it, or
        overlapping either of its ends: an editor may redact across a quote's edge), a
        run of words with a non-public text, or a whole field of one (a name)."""
        quote = _folded_words(words)
        if not quote:
            return False
        joined = _joined(quote)
        for secret in self.redactions:
            if _joined(secret) in joined or joined in _joined(secret):
                return True
            for k in range(1, min(len(quote), len(secret)) + 1):
                if quote[-k:] == secret[:k] or quote[:k] == secret[-k:]:
                    return True
        run = min(_SHARED_RUN, len(quote))
        grams = {_joined(quote[i : i + run]) for i in range(len(quote) - run + 1)}
        if any(gram in text for text in self.texts for gram in grams):
            return True
        return any(head in joined for head in self.heads)


# --- writing ------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One writer at a time (the CLI and an editor's server may both write): a lock on
    the directory itself, so no lock file is left among the testimonies."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _scalar(value: Any) -> str:
    """A YAML scalar: JSON's double-quoted strings are YAML's too (every character safe)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def entry_text(quote: LedgerQuote, indent: str = "  ") -> str:
    lines = []
    for key, value in quote.as_dict().items():
        if value is None:
            continue
        if key == "cited":
            value = quote.cited
        lines.append(f"{indent}{'- ' if not lines else '  '}{key}: {_scalar(value)}")
    return "\n".join(lines) + "\n"


def _item_indent(text: str) -> str:
    """The indentation of the existing entries' ``- `` lines, so a new one lines up."""
    match = re.search(r"^quotes:[ \t]*(?:#.*)?\n(?:[ \t]*(?:#.*)?\n)*([ \t]*)- ", text, re.M)
    return match.group(1) if match else "  "


def _read_for_writing(directory: Path) -> bytes | None:
    try:
        return _read_raw(directory)
    except ValidationError as exc:
        _require_readable(Ledger(Path(exc.path), errors=[exc]))
        raise  # not reached: _require_readable raises


def _require_readable(ledger: Ledger) -> None:
    if ledger.errors:
        raise ArchiveError(
            f"{ledger.path} has problems; nothing was written:\n"
            + "\n".join(str(e) for e in ledger.errors),
            hint="fix the file (or run 'archive quotes check') first",
        )


def _replace(path: Path, old: bytes | None, new: bytes, expect: list[str]) -> None:
    """Write ``new`` after reading it back: the ids must be exactly ``expect``."""
    if len(new) > MAX_LEDGER_BYTES or len(expect) > MAX_LEDGER_QUOTES:
        raise ArchiveError(
            f"{path}: the ledger would pass its limit of {MAX_LEDGER_BYTES // 1048576} MB or "
            f"{MAX_LEDGER_QUOTES:,} quotes; nothing was written",
            hint=_TOO_BIG_HINT,
        )
    check = parse_ledger(new, path)
    if check.errors or [q.id for q in check.quotes] != expect:
        raise ArchiveError(
            f"{path}: the edited ledger would not read back as intended; nothing was written",
            hint="keep 'quotes:' as the file's only key, with its entries as a block list",
        )
    current = _read_raw(path.parent)
    if current != old:
        raise ArchiveError(f"{path} changed while it was being edited; nothing was written")
    _write_atomic(path, new)


def add_quote_at(
    directory: Path,
    t: Testimony,
    start: int,
    end: int,
    *,
    where: str | None = None,
    today: dt.date | None = None,
    snap: bool = False,
) -> tuple[LedgerQuote, bool]:
    """Record ``public_text(t)[start:end]`` in the ledger; return the entry and whether it is new.

    A ledger quote is whole words that occur once in the public text (the
    rule of ``archive quotes add``, on every path): offsets inside a word are
    refused, or with ``snap`` widened to the whole word (a selection in the
    editor). The same words at the same place are recorded once: adding them
    again returns the entry already there (and its id).
    """
    today = today or dt.date.today()
    if not t.is_public(today):
        raise ArchiveError(
            f"{t.id} is not public: the ledger is published, so it only holds public quotes"
        )
    text = public_text(t)
    if not (0 <= start < end <= len(text)):
        raise AnchorError(f"quote offsets {start}-{end} are outside the text (0-{len(text)})")
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start == end:
        raise ArchiveError("give the words to quote (the selection is only spaces)")
    if snap:
        start, end = snap_to_words(text, start, end)
    elif _inside_word(text, start) or _inside_word(text, end):
        raise ArchiveError(
            f"{_short(text[start:end])} starts or ends inside a word: "
            "a ledger quote starts and ends on whole words",
            hint="give whole words, as they are on the testimony page",
        )
    if _touches_redaction(text, start, end):
        raise ArchiveError(
            "these words touch a redaction: the ledger only holds public words",
            hint="quote words away from the [redacted] part",
        )
    count = len(_occurrences(text, text[start:end]))
    if count != 1:
        raise ArchiveError(
            f"{_short(text[start:end])} occurs {count} times in {t.id}: "
            "a ledger quote must occur once",
            hint="give a few more words so that they occur once",
        )
    offsets = passage_offsets(t)
    passage = None
    for p in t.passages:
        if offsets[p.id] <= start:
            passage = p.id
    anchor = make_anchor(text, start, end, testimony=t.id, passage=passage)
    directory = Path(directory)
    path = ledger_path(directory)
    with _locked(directory):
        old = _read_for_writing(directory)
        ledger = parse_ledger(old, path) if old is not None else Ledger(path)
        _require_readable(ledger)
        for q in ledger.quotes:
            if q.testimony == t.id and q.start == anchor.start and q.exact == anchor.exact:
                return q, False
        quote = LedgerQuote(
            id=new_id(t.id, anchor.exact, anchor.start, {q.id for q in ledger.quotes}),
            testimony=t.id,
            passage=passage,
            exact=anchor.exact,
            prefix=anchor.prefix,
            suffix=anchor.suffix,
            start=anchor.start,
            end=anchor.end,
            cited=today,
            where=where or None,
        )
        text_old = (old or b"").decode("utf-8")
        if not ledger.quotes and not re.search(r"^quotes:", text_old, re.M):
            head = text_old + ("" if not text_old or text_old.endswith("\n") else "\n")
            new = head + "quotes:\n" + entry_text(quote)
        else:
            head = text_old if text_old.endswith("\n") else text_old + "\n"
            new = head + entry_text(quote, _item_indent(text_old))
        _replace(path, old, new.encode("utf-8"), [q.id for q in ledger.quotes] + [quote.id])
    return quote, True


def _is_word_char(text: str, k: int) -> bool:
    """Letters, digits, combining marks, and an apostrophe between letters ("don't")."""
    c = text[k]
    if c.isalnum() or c == "_" or unicodedata.category(c).startswith("M"):
        return True
    return (
        c in "'\u2019" and 0 < k < len(text) - 1 and text[k - 1].isalnum() and text[k + 1].isalnum()
    )


def _inside_word(text: str, i: int) -> bool:
    """Is offset ``i`` between two characters of one word (not a word boundary)?"""
    return 0 < i < len(text) and _is_word_char(text, i - 1) and _is_word_char(text, i)


def snap_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    """``start``-``end`` widened to whole words: a half-word at either end becomes the word."""
    while _inside_word(text, start):
        start -= 1
    while _inside_word(text, end):
        end += 1
    return start, end


def _occurrences(text: str, words: str) -> list[tuple[int, int]]:
    """Every place ``words`` are in ``text`` as whole words (spacing and line breaks may differ)."""
    parts = words.split()
    if not parts:
        return []
    pattern = re.compile(r"\s+".join(re.escape(p) for p in parts))
    return [
        m.span()
        for m in pattern.finditer(text)
        if not _inside_word(text, m.start()) and not _inside_word(text, m.end())
    ]


def find_words(t: Testimony, words: str) -> tuple[int, int]:
    """Where ``words`` are in the public text of ``t`` as whole words (spacing and line
    breaks may differ)."""
    text = public_text(t)
    parts = words.split()
    if not parts:
        raise ArchiveError("give the words to quote")
    found = _occurrences(text, words)
    if not found and re.search(r"\s+".join(re.escape(p) for p in parts), text):
        raise ArchiveError(
            f"{_short(words)} starts or ends inside a word of {t.id}: "
            "a ledger quote starts and ends on whole words",
            hint="give whole words, as they are on the testimony page",
        )
    if not found:
        raise ArchiveError(
            f"these words are not in the public text of {t.id}",
            hint="copy them from the testimony page, or find them with 'archive quote TEXT --cite'",
        )
    if len(found) > 1:
        raise ArchiveError(
            f"these words occur {len(found)} times in {t.id}",
            hint="give a few more words so that they occur once",
        )
    return found[0]


def add_quote(
    directory: Path,
    archive: Archive,
    testimony_id: str,
    words: str,
    *,
    where: str | None = None,
    today: dt.date | None = None,
) -> tuple[LedgerQuote, bool]:
    """``archive quotes add``: find ``words`` in a public testimony and record them."""
    t = archive.get_public(testimony_id, today)
    if t is None:
        raise ArchiveError(
            f"no public testimony '{testimony_id}': the ledger only holds public quotes"
        )
    start, end = find_words(t, words)
    return add_quote_at(directory, t, start, end, where=where, today=today)


def _entry_lines(lines: list[str], first: int) -> tuple[int, int]:
    """The lines ``[a, b)`` of the entry whose first key is on line index ``first``."""
    a = first
    while a > 0 and not lines[a].lstrip().startswith("-"):
        a -= 1
    indent = len(lines[a]) - len(lines[a].lstrip())
    b = a + 1
    while b < len(lines):
        line = lines[b]
        stripped = line.strip()
        if stripped and (len(line) - len(line.lstrip())) <= indent:
            break
        b += 1
    while b > a + 1 and not lines[b - 1].strip():
        b -= 1  # blank lines after the entry stay
    return a, b


def remove_quote(directory: Path, quote_id: str) -> LedgerQuote:
    """Delete exactly the lines of one entry; every other byte stays."""
    directory = Path(directory)
    path = ledger_path(directory)
    with _locked(directory):
        old = _read_for_writing(directory)
        if old is None:
            raise ArchiveError(f"no quote '{quote_id}': {path} does not exist")
        ledger = parse_ledger(old, path)
        _require_readable(ledger)
        quote = ledger.get(quote_id)
        if quote is None:
            raise ArchiveError(f"no quote '{quote_id}' in {path}", hint="see 'archive quotes list'")
        lines = old.decode("utf-8").splitlines(keepends=True)
        a, b = _entry_lines(lines, quote.line - 1)
        new = "".join(lines[:a] + lines[b:]).encode("utf-8")
        _replace(path, old, new, [q.id for q in ledger.quotes if q.id != quote_id])
    return quote


# --- guarding published quotes ------------------------------------------------------------


@dataclass(frozen=True)
class LedgerProblem:
    """A ledger quote an edit has changed or lost, or whose testimony is not public."""

    kind: str  # "changed" | "orphaned" | "not-public" | "private" (an error for validate)
    quote: LedgerQuote
    path: Path
    message: str
    new: str | None = None  # the words found now, for "changed"

    def __str__(self) -> str:
        return f"{self.path}:{self.quote.line}: warning: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        # See check_ledger: nothing of a withheld testimony, no words that are private now.
        public = self.kind not in ("not-public", "private")
        return {
            "kind": self.kind,
            "id": self.quote.id,
            "testimony": self.quote.testimony if public else None,
            "path": str(self.path),
            "line": self.quote.line,
            "message": self.message,
            "old": self.quote.exact if public else None,
            "new": self.new,
        }


@dataclass(frozen=True)
class Placed:
    """Where a ledger quote is in the current public text; ``None`` span when orphaned."""

    quote: LedgerQuote
    start: int | None
    end: int | None
    words: str | None  # the current words there

    @property
    def orphaned(self) -> bool:
        return self.start is None

    @property
    def changed(self) -> bool:
        return self.words is not None and self.words != self.quote.exact


def place(quote: LedgerQuote, t: Testimony) -> Placed:
    """Resolve a ledger quote against the current text (a quote that moved resolves silently)."""
    text = public_text(t)
    match = resolve_anchor(quote.anchor, text)
    if match is None:
        return Placed(quote, None, None, None)
    return Placed(quote, match.start, match.end, text[match.start : match.end])


def placed_quotes(ledger: Ledger, archive: Archive, today: dt.date) -> dict[str, list[Placed]]:
    """Every ledger quote of a public testimony, placed: testimony id -> its quotes."""
    placed: dict[str, list[Placed]] = {}
    for quote in ledger.quotes:
        t = archive.get_public(quote.testimony, today)
        if t is not None:
            placed.setdefault(t.id, []).append(place(quote, t))
    return placed


def check_ledger(
    ledger: Ledger,
    archive: Archive,
    today: dt.date | None = None,
    testimonies: set[str] | None = None,
) -> list[LedgerProblem]:
    """Every ledger quote that an edit changed or orphaned, or whose testimony is not
    public now (``testimonies``: only quotes of these)."""
    problems = []
    private: PrivateText | None = None
    for quote in ledger.quotes:
        if testimonies is not None and quote.testimony not in testimonies:
            continue
        t = archive.get_public(quote.testimony, today)
        if t is None:
            # Neither its id nor its words are named: warnings end up in CI logs.
            problems.append(
                LedgerProblem(
                    "not-public",
                    quote,
                    ledger.path,
                    f"quote {quote.id}: its testimony is not public (or no longer exists); "
                    "its /q/ page is gone and links to it are broken",
                )
            )
            continue
        where = place(quote, t)
        if where.orphaned or where.changed:
            private = private or PrivateText(archive, today)
        if (where.orphaned or where.changed) and private is not None and private.holds(quote.exact):
            # Never named: these words belong to a redaction (made since they were cited,
            # perhaps inside the quote itself) or to a testimony that is not public.
            problems.append(
                LedgerProblem(
                    "private",
                    quote,
                    ledger.path,
                    f"quote {quote.id}: its recorded words are not public text "
                    "(redacted, or from a testimony that is not public); remove the entry",
                )
            )
        elif where.orphaned:
            problems.append(
                LedgerProblem(
                    "orphaned",
                    quote,
                    ledger.path,
                    f"quote {quote.id} in {quote.testimony} is no longer found: "
                    f"{_short(quote.exact)}",
                )
            )
        elif where.changed:
            problems.append(
                LedgerProblem(
                    "changed",
                    quote,
                    ledger.path,
                    f"quote {quote.id} in {quote.testimony} was edited: "
                    f"{_short(quote.exact)} -> {_short(where.words or '')}",
                    new=where.words,
                )
            )
    return problems


def _short(words: str, limit: int = 120) -> str:
    words = " ".join(words.split())
    return json.dumps(
        words if len(words) <= limit else words[: limit - 1] + "…", ensure_ascii=False
    )
