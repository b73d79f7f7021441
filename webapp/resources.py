"""The loaded archive and the public index, once per process.

Like flaskr's ``get_db``: views ask :func:`get_resources` and never open
files themselves. Reading every testimony and opening the index is done
once; after that, at most once per request (and at most every
``GENERATION_CHECK_SECONDS``) the public index's generation is compared, and
an atomic reindex swap starts a reload of both in a thread of its own. The
request that noticed it waits at most ``RELOAD_WAIT_SECONDS`` for it; it and
every other request keep serving the previous snapshot until the reload is
done (reading a large archive takes seconds, and no reader should wait on
it). The archive
loaded alongside an index generation is what the pages show, so a testimony
page and the search hits that link to it always describe the same text.

Under ``archive serve`` a watcher (:mod:`webapp.watch`) keeps both up to date
instead, in its own thread: the moment a testimony file changes it is
*withheld* (:meth:`_Resources.withhold`): every snapshot from then on leaves
that testimony out of its archive (its page, listings, feeds and JSON are
404s or omit it) and out of search and the quote check (as a stale file, so
no "did you mean" either) until the index generation and the archive that
hold its new version are installed together (:meth:`_Resources.install`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app, g

from archive.config import Config
from archive.errors import IndexError_
from archive.index import current_generation, indexed_testimonies
from archive.ledger import Ledger, Placed, ledger_path, load_ledger, placed_quotes
from archive.model import Archive
from archive.parse import load_archive
from archive.quotecheck import QuoteWorkers
from archive.search import SearchIndex, open_search_index

__all__ = ["Snapshot", "get_resources", "init_app"]

log = logging.getLogger("archive.serve")

T = TypeVar("T")


class LedgerSource:
    """``quotes.yaml``, read again whenever the file changes (an editor's server and the
    command line write it while the server runs); or one ledger, fixed (the export)."""

    def __init__(self, directory: Path, fixed: Ledger | None = None) -> None:
        self.directory = directory
        self._fixed = fixed
        self._lock = threading.Lock()
        self._seen: tuple[Any, Ledger] | None = None

    def get(self) -> Ledger:
        if self._fixed is not None:
            return self._fixed
        path = ledger_path(self.directory)
        try:
            st = path.stat()
            signature: Any = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            signature = None
        with self._lock:
            if self._seen is None or self._seen[0] != signature:
                self._seen = (signature, load_ledger(self.directory))
            return self._seen[1]


@dataclass
class Snapshot:
    """What one request sees: never changes under it, even if a reindex lands meanwhile."""

    config: Config
    archive: Archive
    generation: Any
    today: dt.date
    _index: SearchIndex | None = None
    #: Testimonies left out of ``archive`` and of every search until their new
    #: version is indexed (see the module docstring).
    withheld: frozenset[str] = frozenset()
    ledger_source: LedgerSource | None = None
    #: Processes the quote check runs in (under ``archive serve``), or None: in the
    #: request's own thread.
    quote_workers: QuoteWorkers | None = None
    _memo: dict[str, Any] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def index_dir(self) -> Path:
        return self.config.public_index

    def ledger(self) -> Ledger:
        """The quote ledger: entries of testimonies that are not public are in it too, so
        every caller goes through ``archive.get_public`` before showing one."""
        source = self.ledger_source or LedgerSource(self.config.testimonies)
        return source.get()

    def placed_quotes(self) -> dict[str, list[Placed]]:
        """Each public testimony's ledger quotes, found in its current text."""
        ledger = self.ledger()
        with self._lock:
            seen = self._memo.get("placed_quotes")
            if seen is None or seen[0] is not ledger:
                seen = (ledger, placed_quotes(ledger, self.archive, self.today))
                self._memo["placed_quotes"] = seen
            return seen[1]

    def search_index(self) -> SearchIndex:
        """The public index, opened on first use and kept for this generation's snapshots.

        Refused (a 503) when the index holds a testimony that is not public
        now: its page is a 404 while search would still show its words.
        Masking hits would not do: spelling suggestions come from the whole
        index.
        """
        problem = self.memo("index_problem", self._index_problem)
        if problem:
            raise IndexError_(problem, hint="run 'archive index' to bring the index up to date")
        with self._lock:
            if self._index is None:
                self._index = open_search_index(self.config.public_index, self.config.fast_path)
            return self._index

    def stale_testimonies(self) -> frozenset[str]:
        """Testimonies whose file changed since the live index was built.

        Their indexed text may hold words redacted since, so search and the
        quote check leave them out (and offer no spelling suggestions) until
        the next ``archive index``; their pages show the file as loaded.
        """
        stale = self.memo("stale", self._stale)
        if stale is None:
            # The index's list could not be read (a generation pruned as it was read?):
            # fail closed, every testimony left out, and read it again next time.
            self.forget("stale")
            return frozenset(self.archive.testimonies) | self.withheld
        return stale | self.withheld

    def _stale(self) -> frozenset[str] | None:
        indexed = indexed_testimonies(self.config.public_index)
        if indexed is None:
            return None
        current = self.archive.testimonies
        return frozenset(
            tid
            for tid, digest in indexed.items()
            if tid in current and current[tid].content_hash != digest
        )

    def _index_problem(self) -> str | None:
        indexed = indexed_testimonies(self.config.public_index)
        if indexed is None:
            return None  # no index yet: opening it gives the usual "missing" error
        # Status, not content: files are edited while the server runs, and a
        # changed public file is still public (stale_testimonies() keeps its
        # possibly outdated words out of search).
        public = {t.id for t in self.archive.public(self.today)} | self.withheld
        if any(tid not in public for tid in indexed):
            return "the search index holds testimonies that are not public now"
        return None

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """Derived data (theme counts, places...) computed once per loaded archive."""
        with self._lock:
            if key not in self._memo:
                self._memo[key] = compute()
            return self._memo[key]

    def forget(self, key: str) -> None:
        with self._lock:
            self._memo.pop(key, None)


class _Resources:
    def __init__(self, config: Config, check_seconds: float, reload_wait: float) -> None:
        self.config = config
        self.check_seconds = check_seconds
        self.reload_wait = reload_wait
        self._lock = threading.Lock()  # guards the fields below, held only briefly
        self._load_lock = threading.Lock()  # one reload at a time
        self._loader: threading.Thread | None = None  # the reload under way, if any
        self._snapshot: Snapshot | None = None
        self._checked_at = 0.0
        #: The whole archive as loaded with the live generation (withheld ones included).
        self._archive: Archive | None = None
        #: Withheld testimony -> the change number that withheld it last.
        self._withheld: dict[str, int] = {}
        self._changes = 0
        #: True while a watcher installs every new generation itself: requests
        #: then never reload (a reload reads the whole archive).
        self.watched = False
        self.ledger = LedgerSource(config.testimonies)
        self.quote_workers: QuoteWorkers | None = None

    def start_quote_workers(self) -> None:
        """Run quote checks in worker processes from now on (what a threaded server
        wants: see :class:`archive.quotecheck.QuoteWorkers`); started and warmed now."""
        workers = QuoteWorkers().start(self.config.public_index)
        with self._lock:
            self.quote_workers = workers
            snap = self._snapshot
            if snap is not None and self._archive is not None:
                self._snapshot = self._make(self._archive, snap.generation, snap.today, snap._index)

    def stop_quote_workers(self) -> None:
        with self._lock:
            workers, self.quote_workers = self.quote_workers, None
        if workers is not None:
            workers.close()

    def _make(self, archive: Archive, generation: Any, today: dt.date, index: Any) -> Snapshot:
        # Called with self._lock held.
        withheld = frozenset(self._withheld)
        shown = archive
        if withheld:
            kept = {k: t for k, t in archive.testimonies.items() if k not in withheld}
            errors = [e for e in archive.errors if Path(e.path).stem not in withheld]
            shown = Archive(archive.directory, archive.vocabulary, kept, errors)
        return Snapshot(
            self.config,
            shown,
            generation,
            today,
            index,
            withheld=withheld,
            ledger_source=self.ledger,
            quote_workers=self.quote_workers,
        )

    def _load(self, generation: Any, today: dt.date) -> Snapshot:
        with self._load_lock:  # one reload at a time
            latest = self._snapshot
            if latest is None or latest.generation != generation:
                archive = load_archive(self.config.testimonies)
                with self._lock:
                    self._archive = archive
                    latest = self._snapshot = self._make(archive, generation, today, None)
            return latest

    def _load_in_background(self, generation: Any, today: dt.date) -> None:
        try:
            self._load(generation, today)
        except Exception:  # the next check starts another; requests keep the old snapshot
            log.exception("reloading the archive for index generation %s failed", generation)

    def _reload(self, snap: Snapshot | None, generation: Any, today: dt.date) -> Snapshot:
        if snap is None:  # nothing to serve yet: this request waits
            return self._load(generation, today)
        with self._lock:
            loader = self._loader
            if loader is None or not loader.is_alive():
                loader = self._loader = threading.Thread(
                    target=self._load_in_background,
                    args=(generation, today),
                    name="archive-reload",
                    daemon=True,
                )
                loader.start()
        loader.join(self.reload_wait)
        with self._lock:
            latest = self._snapshot
        return latest if latest is not None and latest.generation == generation else snap

    def current(self) -> Snapshot:
        """The snapshot to serve now.

        Reading a large archive takes seconds, so a reload after a reindex
        runs in a thread of its own while requests keep serving the previous
        snapshot (its index generation stays readable until it is dropped).
        Under a watcher no request reloads: the watcher installs each new
        generation from its own thread.
        """
        today = self.config.today_or_now()
        now = time.monotonic()
        with self._lock:
            snap = self._snapshot
            due = snap is None or (
                not self.watched and now - self._checked_at >= self.check_seconds
            )
            if due:
                self._checked_at = now
        if due:
            generation = current_generation(self.config.public_index)
            if snap is None or generation != snap.generation:
                snap = self._reload(snap, generation, today)
        assert snap is not None
        if snap.today != today:  # a new day may end an embargo: recompute derived data
            with self._lock:
                if self._snapshot is snap and self._archive is not None:
                    self._snapshot = self._make(self._archive, snap.generation, today, snap._index)
                snap = self._snapshot
        return snap

    # -- what a watcher calls ---------------------------------------------------------

    def withhold(self, ids: set[str]) -> int:
        """Leave ``ids`` out of every answer from now on; return this change's number.

        Takes effect for every request that starts after the call returns.
        """
        with self._lock:
            self._changes += 1
            for tid in ids:
                self._withheld[tid] = self._changes
            snap = self._snapshot
            if snap is not None and self._archive is not None and ids:
                self._snapshot = self._make(self._archive, snap.generation, snap.today, snap._index)
            return self._changes

    def changes_seen(self) -> int:
        with self._lock:
            return self._changes

    def withheld(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._withheld)

    def loaded_archive(self) -> Archive | None:
        with self._lock:
            return self._archive

    def install(self, archive: Archive, generation: Any, upto: int) -> Snapshot:
        """Serve ``archive`` with the index ``generation``; release what ``upto`` withheld.

        ``upto`` is :meth:`changes_seen` from before the files were read for
        this generation: a testimony changed again since stays withheld.
        """
        today = self.config.today_or_now()
        with self._lock:
            self._withheld = {t: n for t, n in self._withheld.items() if n > upto}
            self._archive = archive
            old = self._snapshot
            index = old._index if old is not None and old.generation == generation else None
            self._snapshot = self._make(archive, generation, today, index)
            self._checked_at = time.monotonic()
            return self._snapshot


def init_app(app: Flask, config: Config) -> None:
    app.extensions["archive"] = _Resources(
        config,
        float(app.config["GENERATION_CHECK_SECONDS"]),
        float(app.config["RELOAD_WAIT_SECONDS"]),
    )


def get_resources() -> Snapshot:
    """The archive snapshot for this request (checked for a reindex at most once per request)."""
    if "archive_snapshot" not in g:
        g.archive_snapshot = current_app.extensions["archive"].current()
    return g.archive_snapshot


# --- static export: serve an archive that was already read ---------------------------


def use_archive(app: Flask, archive: Archive, ledger: Ledger | None = None) -> None:
    """Serve ``archive`` as given instead of reading the testimony directory.

    The static export reads and validates every file once, then renders
    exactly what it checked, so a file edited meanwhile cannot slip into the
    pages unchecked. Pair it with ``GENERATION_CHECK_SECONDS=inf``: the
    snapshot is then never reloaded.
    """
    resources = app.extensions["archive"]
    if ledger is not None:
        resources.ledger = LedgerSource(resources.config.testimonies, fixed=ledger)
    snap = Snapshot(
        resources.config,
        archive,
        None,
        resources.config.today_or_now(),
        ledger_source=resources.ledger,
    )
    with resources._lock:
        resources._archive = archive
        resources._snapshot = snap
        resources._checked_at = time.monotonic()
