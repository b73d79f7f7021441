"""Find where a pasted quote comes from, and how it differs from the source.

A journalist pastes a sentence as it ended up in a draft: a word changed, a
spelling modernised, punctuation dropped, perhaps running over two
paragraphs. :func:`check_quote` finds the passages it most likely came from
and shows, word by word, what differs.

How: the quote's rarest words (by the index's document frequencies) pick
candidate passages; each candidate, with the passages on either side (so a
quote may run over a paragraph break), is aligned with the quote by
rapidfuzz's ``partial_ratio_alignment`` over *folded words* (case, accents,
ё/е, apostrophes and punctuation removed), the alignment is trimmed to whole
words with difflib, and offsets are mapped back to the original text. The
score is the character similarity of the folded quote and the folded source
span (0..1).
"""

from __future__ import annotations

import difflib
import multiprocessing
import os
import threading
import time
import unicodedata
from collections.abc import Collection
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz
from whoosh import query as wq
from whoosh.collectors import TimeLimit, TimeLimitCollector

from .analysis import TOKEN_PATTERN, fold
from .anchors import MAX_QUOTE_CHARS, Anchor, make_anchor
from .errors import AnchorError, QueryError
from .fields import TEXT_FIELDS
from .model import PASSAGE_SEPARATOR
from .plain import plain
from .search import TIME_LIMIT
from .search.opened import SearchIndex, neighbour, opened
from .urls import testimony_url

__all__ = [
    "FOUND_SCORE",
    "MIN_SCORE",
    "Citation",
    "QuoteCheck",
    "QuoteMatch",
    "QuoteWorkers",
    "check_quote",
]

#: Matches scoring below this are not reported at all.
MIN_SCORE = 0.55
#: A match at or above this is the quote's source, with light edits at most.
FOUND_SCORE = 0.75
MAX_LIMIT = 20
_CANDIDATES = 50  # passages fetched by the rarest words
_ALIGNED = 16  # windows aligned precisely, most word overlap first
_RARE_TERMS = 8
_FEW_TERMS = 3
_COMMON_SHARE = 0.02  # a word in more than this share of passages is common
_MIN_COMMON_DF = 20
_CONTEXT_WORDS = 3  # words beyond the rough alignment that difflib may take or trim
_ALIGN_CHARS = 240  # a longer quote is aligned by this many characters at each end
#: Quote checks aligning at once in one process, when no :class:`QuoteWorkers` do it.
#: Alignment is CPU work that holds the GIL; more than one at a time would starve
#: every other request (a one-word search took 26 s beside four 2,000-character
#: quotes). A check waits for its turn within its own time budget, and answers
#: ``timed_out`` if the budget runs out first.
_ALIGNING = threading.BoundedSemaphore(1)
#: Past its deadline, how long a caller still waits for a worker's answer: one
#: alignment (bounded by ``_ALIGN_CHARS``) and the trip back.
_WORKER_GRACE = 0.25


@dataclass(frozen=True)
class Citation:
    title: str
    narrator: str | None
    date: str | None
    source: str | None
    license: str | None
    url: str

    def as_dict(self) -> dict[str, Any]:
        return plain(self, "title narrator date source license url")


@dataclass(frozen=True)
class QuoteMatch:
    """One place the quote may come from.

    ``exact`` is the source text from ``start`` to ``end`` (offsets in the
    testimony's public text); ``passage`` is where it starts and ``passages``
    every passage it covers. ``diff`` turns the source into the quote:
    ``{"op": "equal"|"replace"|"insert"|"delete", "source": words, "quoted": words}``
    ("insert": words only the quote has; "delete": source words the quote
    left out). ``verdict`` is ``verbatim`` (same words, ignoring case and
    punctuation), ``close`` (score >= FOUND_SCORE) or ``weak``.
    """

    testimony: str
    passage: str
    passages: tuple[str, ...]
    score: float
    verdict: str
    exact: str
    start: int
    end: int
    diff: tuple[dict[str, str], ...]
    citation: Citation
    url: str
    anchor: Anchor | None = None

    def as_dict(self) -> dict[str, Any]:
        return plain(
            self,
            "testimony passage passages score verdict exact start end diff citation url anchor",
            passages=list(self.passages),
            diff=[dict(op) for op in self.diff],
            citation=self.citation.as_dict(),
            anchor=self.anchor.as_dict() if self.anchor is not None else None,
        )


@dataclass(frozen=True)
class QuoteCheck:
    """The best sources found for a quote, best first.

    JSON shape (:meth:`as_dict`)::

        {"quote": str, "found": bool, "timed_out": bool,
         "matches": [{"testimony", "passage", "passages", "score", "verdict",
                      "exact", "start", "end", "diff", "citation", "url", "anchor"}]}

    ``found`` is true when the best match is ``verbatim`` or ``close``;
    matches scoring below :data:`MIN_SCORE` are never listed, so a quote
    that is not in the archive gives ``"found": false`` and few or no matches,
    each marked ``weak``.
    """

    quote: str
    matches: tuple[QuoteMatch, ...] = field(default=())
    timed_out: bool = False

    @property
    def found(self) -> bool:
        return bool(self.matches) and self.matches[0].verdict in ("verbatim", "close")

    def as_dict(self) -> dict[str, Any]:
        return {
            "quote": self.quote,
            "found": self.found,
            "timed_out": self.timed_out,
            "matches": [m.as_dict() for m in self.matches],
        }


# --- folded words with offsets ------------------------------------------------------


@dataclass(frozen=True)
class _Words:
    """The words of a text: original spans, folded forms, and their joined form."""

    text: str
    spans: tuple[tuple[int, int], ...]
    folded: tuple[str, ...]
    joined: str  # folded words joined by single spaces
    starts: tuple[int, ...]  # where each word starts in ``joined``

    @classmethod
    def of(cls, text: str) -> _Words:
        spans, folded = [], []
        for m in TOKEN_PATTERN.finditer(text):
            word = _fold_word(m.group())
            if word:
                spans.append((m.start(), m.end()))
                folded.append(word)
        starts, pos = [], 0
        for word in folded:
            starts.append(pos)
            pos += len(word) + 1
        return cls(text, tuple(spans), tuple(folded), " ".join(folded), tuple(starts))

    def word_at(self, char: int) -> int:
        """Index of the word holding (or following) a character of ``joined``."""
        lo, hi = 0, len(self.starts)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.starts[mid] + len(self.folded[mid]) <= char:
                lo = mid + 1
            else:
                hi = mid
        return min(lo, len(self.folded) - 1)


def _fold_word(word: str) -> str:
    return "".join(c for c in fold(word) if c.isalnum())


# --- the check -----------------------------------------------------------------------


def _clean_quote(text: object) -> str:
    if not isinstance(text, str):
        raise QueryError("the quote must be text")
    if len(text) > MAX_QUOTE_CHARS * 2:
        raise QueryError(
            f"the quote is {len(text):,} characters long; check at most {MAX_QUOTE_CHARS}",
            hint="check a few sentences at a time",
        )
    chars = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            chars.append(" ")
        elif category == "Cs":
            raise QueryError("the quote is not valid text (an unpaired surrogate)")
        elif category != "Cf":
            chars.append(ch)
    cleaned = " ".join(unicodedata.normalize("NFC", "".join(chars)).split())
    if len(cleaned) > MAX_QUOTE_CHARS:
        raise QueryError(
            f"the quote is {len(cleaned):,} characters long; check at most {MAX_QUOTE_CHARS}",
            hint="check a few sentences at a time",
        )
    if not TOKEN_PATTERN.search(cleaned):
        raise QueryError("the quote has no words to look for", hint="paste the quoted words")
    return cleaned


def _candidates(searcher: Any, quote: str, time_limit: float) -> tuple[list[int], bool]:
    """Passages holding the quote's rarest words, best BM25 first."""
    reader = searcher.reader()
    schema = searcher.schema
    rare: list[tuple[int, str, str]] = []
    for f in TEXT_FIELDS:
        if f not in schema:
            continue
        for term in set(schema[f].process_text(quote, mode="query")):
            df = reader.doc_frequency(f, term)
            if df:
                rare.append((df, f, term))
    if not rare:
        return [], False
    rare.sort()
    # Common words only slow the search down without choosing between passages;
    # a quote made only of common words still gets its few rarest.
    common = max(_MIN_COMMON_DF, reader.doc_count() * _COMMON_SHARE)
    chosen = [r for r in rare if r[0] <= common][:_RARE_TERMS] or rare[:_FEW_TERMS]
    query = wq.Or([wq.Term(f, t) for _, f, t in chosen])
    collector = TimeLimitCollector(
        searcher.collector(limit=_CANDIDATES), timelimit=time_limit, use_alarm=False
    )
    timed_out = False
    try:
        searcher.search_with_collector(query, collector)
    except TimeLimit:
        timed_out = True
    return [docnum for _, docnum in collector.results().top_n], timed_out


@dataclass
class _Window:
    testimony: str
    offset: int  # of the window's first character in the testimony's public text
    passages: list[tuple[int, str, dict]]  # (start in window, passage id, stored fields)
    words: _Words


def _window(searcher: Any, docnum: int, fields: dict, fast_path: bool) -> _Window:
    chain = [fields]
    before = neighbour(searcher, docnum, fields, -1, fast_path)
    if before is not None:
        chain.insert(0, before)
    after = neighbour(searcher, docnum, fields, +1, fast_path)
    if after is not None:
        chain.append(after)
    pieces, passages, pos = [], [], 0
    for stored in chain:
        passages.append((pos, stored.get("passage", ""), stored))
        pieces.append(stored["text"])
        pos += len(stored["text"]) + len(PASSAGE_SEPARATOR)
    text = PASSAGE_SEPARATOR.join(pieces)
    return _Window(fields.get("testimony", ""), chain[0]["offset"], passages, _Words.of(text))


def _align(quote: _Words, window: _Words) -> tuple[int, int] | None:
    """Word range ``[i, j)`` of ``window`` that the quote came from, or None."""
    if not window.folded:
        return None
    if len(quote.joined) > 2 * _ALIGN_CHARS:
        # A long quote is placed by its beginning and its end: one alignment of the whole
        # costs time growing with both lengths (0.4 s for 2,000 characters), in C code
        # that holds the GIL, so no other request could run meanwhile.
        head = fuzz.partial_ratio_alignment(quote.joined[:_ALIGN_CHARS], window.joined)
        tail = fuzz.partial_ratio_alignment(quote.joined[-_ALIGN_CHARS:], window.joined)
        if head is None or tail is None:
            return None
        lo, hi = head.dest_start, max(head.dest_end, tail.dest_end)
    else:
        found = fuzz.partial_ratio_alignment(quote.joined, window.joined)
        if found is None:
            return None
        lo, hi = found.dest_start, found.dest_end  # dest: the window, whichever is longer
    first = window.word_at(lo)
    last = window.word_at(max(lo, hi - 1))
    i = max(0, first - _CONTEXT_WORDS)
    j = min(len(window.folded), last + 1 + _CONTEXT_WORDS)
    source = window.folded[i:j]
    ops = difflib.SequenceMatcher(None, source, quote.folded, autojunk=False).get_opcodes()
    # Source words before the quote's first word and after its last are context.
    while ops and ops[0][0] == "delete":
        i += ops[0][2] - ops[0][1]
        ops = ops[1:]
    while ops and ops[-1][0] == "delete":
        j -= ops[-1][2] - ops[-1][1]
        ops = ops[:-1]
    if ops and ops[0][0] == "replace":
        extra = (ops[0][2] - ops[0][1]) - (ops[0][4] - ops[0][3])
        i += max(0, extra)
    if ops and ops[-1][0] == "replace":
        extra = (ops[-1][2] - ops[-1][1]) - (ops[-1][4] - ops[-1][3])
        j -= max(0, extra)
    if j <= i:
        return None
    return i, j


def _diff(source: _Words, i: int, j: int, quote: _Words) -> tuple[dict[str, str], ...]:
    def words(w: _Words, a: int, b: int) -> str:
        # The words as written, with the punctuation between them; line breaks as spaces.
        return " ".join(w.text[w.spans[a][0] : w.spans[b - 1][1]].split()) if b > a else ""

    ops = difflib.SequenceMatcher(None, source.folded[i:j], quote.folded, autojunk=False)
    return tuple(
        {"op": tag, "source": words(source, i + a1, i + a2), "quoted": words(quote, b1, b2)}
        for tag, a1, a2, b1, b2 in ops.get_opcodes()
    )


def check_quote(
    index: str | Path | SearchIndex,
    text: str,
    *,
    limit: int = 3,
    base_url: str = "",
    time_limit: float = TIME_LIMIT,
    exclude: Collection[str] = (),
    workers: QuoteWorkers | None = None,
) -> QuoteCheck:
    """Find the passages a pasted quote most likely comes from, best first.

    ``time_limit`` is one budget for the whole check: finding candidates, waiting
    for a turn to align (one check aligns at a time) and aligning them. When it
    runs out, the matches found so far are returned with ``timed_out`` set.
    With ``workers`` the check runs in one of their processes (see
    :class:`QuoteWorkers`), so a long quote never holds this process's GIL.

    Raises :class:`QueryError` for a quote with no words or longer than
    :data:`archive.anchors.MAX_QUOTE_CHARS`. See :class:`QuoteCheck` for the
    JSON shape and :class:`QuoteMatch` for what each match holds. Passages of
    the testimonies in ``exclude`` are never returned (see
    :func:`archive.search.search`).
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be between 1 and {MAX_LIMIT}")
    quote_text = _clean_quote(text)
    quote = _Words.of(quote_text)
    if not quote.folded:
        raise QueryError("the quote has no words to look for", hint="paste the quoted words")
    deadline = time.monotonic() + time_limit
    found: list[tuple[float, QuoteMatch]] = []
    answer = (
        None if workers is None else workers.check(index, quote_text, base_url, exclude, deadline)
    )
    if answer is not None:
        found, timed_out = answer
    else:
        if not _ALIGNING.acquire(timeout=time_limit):
            return QuoteCheck(quote_text, (), True)
        try:
            timed_out = _check(index, quote_text, quote, base_url, exclude, deadline, found)
        finally:
            _ALIGNING.release()
    chosen: list[QuoteMatch] = []
    for _, match in sorted(found, key=lambda x: (-x[0], x[1].testimony, x[1].start)):
        if any(
            m.testimony == match.testimony and m.start < match.end and match.start < m.end
            for m in chosen
        ):
            continue
        chosen.append(match)
        if len(chosen) == limit:
            break
    return QuoteCheck(quote_text, tuple(chosen), timed_out)


class QuoteWorkers:
    """Worker processes that run quote checks away from a server's request threads.

    Finding candidates and aligning them is CPU-bound Python: in a threaded server
    four long quotes at once kept a one-word search waiting for the GIL (4.5 ms
    alone, 237 ms beside them). In a worker process they take a core of their own.
    The pool is made on first use (or by :meth:`start`, which also warms a worker
    up: imports and the opened index); processes are spawned, never forked from a
    threaded server. A worker opens the index by its path and keeps it open (it
    picks up a newer generation itself). The caller waits until the check's
    deadline (plus :data:`_WORKER_GRACE`) and then answers ``timed_out``; the worker
    stops at the same deadline, and a check still queued when it passes is skipped.
    """

    def __init__(self, processes: int | None = None) -> None:
        self.processes = processes or max(1, min(4, (os.cpu_count() or 2) // 2))
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(
                    self.processes,
                    mp_context=context,
                    initializer=_worker_init,
                    initargs=(os.getpid(),),
                )
            return self._pool

    def start(self, index: str | Path | SearchIndex) -> QuoteWorkers:
        """Start the processes now and have each open ``index``, without waiting."""
        path, fast_path = _index_args(index)
        pool = self._executor()
        for _ in range(self.processes):
            pool.submit(_worker_open, path, fast_path)
        return self

    def check(
        self,
        index: str | Path | SearchIndex,
        quote_text: str,
        base_url: str,
        exclude: Collection[str],
        deadline: float,
    ) -> tuple[list[tuple[float, QuoteMatch]], bool] | None:
        """``(found, timed_out)`` from a worker, or None if the pool broke (the caller
        then checks in its own process; the next call makes a new pool)."""
        path, fast_path = _index_args(index)
        try:
            future = self._executor().submit(
                _worker_check, path, fast_path, quote_text, base_url, tuple(exclude), deadline
            )
            return future.result(timeout=max(0.0, deadline - time.monotonic()) + _WORKER_GRACE)
        except FutureTimeout:
            future.cancel()
            return [], True
        except BrokenProcessPool:
            self.close()
            return None

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _index_args(index: str | Path | SearchIndex) -> tuple[str, bool | None]:
    if isinstance(index, SearchIndex):
        return str(index.path), index.fast_path
    return str(index), None


def _worker_init(parent: int) -> None:
    # A server stopped by a signal never shuts its pool down: a worker whose parent
    # is gone ends itself rather than linger.
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


#: In a worker process: the indexes it has opened, by (path, fast_path).
_WORKER_INDEXES: dict[tuple[str, bool | None], SearchIndex] = {}


def _worker_open(path: str, fast_path: bool | None) -> SearchIndex | None:
    key = (path, fast_path)
    if key not in _WORKER_INDEXES:
        try:
            _WORKER_INDEXES[key] = SearchIndex(path, fast_path)
        except Exception:  # noqa: BLE001 - a missing index is reported by the check itself
            return None
    return _WORKER_INDEXES[key]


def _worker_check(
    path: str,
    fast_path: bool | None,
    quote_text: str,
    base_url: str,
    exclude: tuple[str, ...],
    deadline: float,
) -> tuple[list[tuple[float, QuoteMatch]], bool]:
    # time.monotonic() is one clock for every process of the machine, so the
    # caller's deadline holds here too.
    if time.monotonic() >= deadline:
        return [], True  # its caller has stopped waiting
    index = _worker_open(path, fast_path)
    found: list[tuple[float, QuoteMatch]] = []
    timed_out = _check(
        path if index is None else index, quote_text, _Words.of(quote_text), base_url,
        exclude, deadline, found,
    )  # fmt: skip
    return found, timed_out


def _check(
    index: str | Path | SearchIndex,
    quote_text: str,
    quote: _Words,
    base_url: str,
    exclude: Collection[str],
    deadline: float,
    found: list[tuple[float, QuoteMatch]],
) -> bool:
    """Candidates, then alignments, into ``found`` until ``deadline``; True if it ran out."""
    with opened(index) as handle, handle.searching() as searcher:
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        docnums, timed_out = _candidates(searcher, quote_text, left)
        quote_set = set(quote.folded)
        ranked = []
        for rank, docnum in enumerate(docnums):
            fields = searcher.stored_fields(docnum)
            text = fields.get("text")
            if text is None or fields.get("offset") is None or fields.get("testimony") in exclude:
                continue
            words = {_fold_word(m.group()) for m in TOKEN_PATTERN.finditer(text)}
            ranked.append((-len(quote_set & words), rank, docnum, fields))
        ranked.sort(key=lambda r: r[:2])
        for _, _, docnum, fields in ranked[:_ALIGNED]:
            if time.monotonic() >= deadline:
                return True
            window = _window(searcher, docnum, fields, handle.fast_path)
            match = _match(window, quote, base_url)
            if match is not None and match.score >= MIN_SCORE:
                found.append((match.score, match))
        return timed_out


def _match(window: _Window, quote: _Words, base_url: str) -> QuoteMatch | None:
    span = _align(quote, window.words)
    if span is None:
        return None
    i, j = span
    words = window.words
    source_joined = " ".join(words.folded[i:j])
    # Characters forgive spelling (Marster/Master), words forgive nothing:
    # unrelated text shares many letters but few words, so the mean of the
    # two separates a lightly edited quote from a chance resemblance.
    chars = fuzz.ratio(quote.joined, source_joined) / 100
    same = difflib.SequenceMatcher(None, words.folded[i:j], quote.folded, autojunk=False)
    score = round((chars + same.ratio()) / 2, 4)
    start, end = words.spans[i][0], words.spans[j - 1][1]
    covered = [
        p for p in window.passages if p[0] < end and p[0] + len(p[2]["text"]) > start
    ] or window.passages[:1]
    first = covered[0]
    stored = first[2]
    testimony = window.testimony
    anchor: Anchor | None
    try:
        anchor = make_anchor(window.words.text, start, end, testimony=testimony, passage=first[1])
        anchor = Anchor(
            exact=anchor.exact,
            prefix=anchor.prefix,
            suffix=anchor.suffix,
            start=window.offset + start,
            end=window.offset + end,
            testimony=testimony,
            passage=first[1],
        )
    except AnchorError:
        anchor = None
    url = testimony_url(testimony, first[1], anchor, base_url)
    if words.folded[i:j] == quote.folded:
        verdict = "verbatim"
        score = 1.0
    elif score >= FOUND_SCORE:
        verdict = "close"
    else:
        verdict = "weak"
    return QuoteMatch(
        testimony=testimony,
        passage=first[1],
        passages=tuple(p[1] for p in covered),
        score=score,
        verdict=verdict,
        exact=words.text[start:end],
        start=window.offset + start,
        end=window.offset + end,
        diff=_diff(words, i, j, quote),
        citation=Citation(
            title=stored.get("title") or testimony,
            narrator=stored.get("narrator"),
            date=stored.get("date"),
            source=stored.get("source"),
            license=stored.get("license"),
            url=url,
        ),
        url=url,
        anchor=anchor,
    )
