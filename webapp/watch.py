"""Keep a running server up to date with its testimony files (``archive serve``).

One background thread watches the testimony directory (watchfiles: inotify,
or polling where inotify is missing or ``WATCHFILES_FORCE_POLLING`` is set)
and, for every change, in this order:

1. **withholds** the testimony of every changed, added, renamed or deleted
   file at once (:meth:`webapp.resources._Resources.withhold`): from the
   next request on, its page is a 404 and search, suggestions, facets, feeds
   and JSON leave it out. A new redaction is thus gone from every answer
   within a fraction of a second, before any indexing;
2. waits until the directory has been quiet for :data:`SETTLE_SECONDS`, so
   a file still being written is never read half-way (an editor that
   writes in pieces, or saves many times in a row, is waited for);
3. brings the index up to date (:func:`archive.index.build_index`: an
   incremental update into a new generation, swapped in atomically; a
   ``themes.yaml`` change rebuilds it), re-reads only the changed files,
   and installs the new generation with the archive that matches it; only
   then is a testimony shown again. A file that fails validation stays out
   (the log names its file and line). Requests never wait for any of it:
   they go on with the previous generation, minus what is withheld.

An ``archive index`` run by someone else is picked up the same way, in this
thread rather than in a request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import watchfiles

from archive.config import Config
from archive.errors import ArchiveError, IndexBusyError, ValidationError, ValidationErrors
from archive.index import build_index, current_generation
from archive.model import Archive
from archive.parse import load_archive
from archive.themes import VOCABULARY_FILE

from .resources import Snapshot, _Resources

__all__ = ["SETTLE_SECONDS", "Watcher"]

log = logging.getLogger("archive.watch")

#: Quiet time after the last change before files are read and indexed.
SETTLE_SECONDS = 0.3
#: How often the thread wakes without changes (settle checks, others' reindexes).
TICK_SECONDS = 0.1
#: After a failed update (another process holds the index lock, a full disk): retry after.
RETRY_SECONDS = 2.0


class Watcher:
    """The watching thread of one server; :meth:`start` it, :meth:`stop` it."""

    def __init__(
        self,
        resources: _Resources,
        config: Config,
        *,
        settle: float = SETTLE_SECONDS,
        force_polling: bool | None = None,
        installed: Callable[[Snapshot], None] | None = None,
    ) -> None:
        self.resources = resources
        #: Called with each snapshot this watcher installs (the server prepares its media).
        self.installed = installed
        self.config = config
        self.directory = config.testimonies.resolve()
        self.settle = settle
        self.force_polling = force_polling
        self.updates = 0  # generations installed, for tests and logs
        self._stop = threading.Event()
        self._pending: set[str] = set()
        # The first update catches up with what changed between the server's own index
        # run and the moment the watch began.
        self._catch_up = True
        self._last_change = 0.0
        self._state = threading.Lock()  # guards the three fields above
        # Set once watchfiles yields the first time, i.e. watches: only then may the
        # catch-up run, or a change made between it and the watch's start would be lost.
        self._watching = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Watcher:
        self.resources.watched = True
        # Two threads: one only sees changes and withholds at once, the other reads files
        # and updates the index, which takes seconds on a busy machine. A change seen
        # during an update must not wait for that update to be withheld.
        self._threads = [
            threading.Thread(target=self._watch, name="archive-watch", daemon=True),
            threading.Thread(target=self._update_loop, name="archive-update", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self.resources.watched = False

    def _wanted(self, _change: watchfiles.Change, path: str) -> bool:
        p = Path(path)
        if p.parent != self.directory:
            return False
        return p.suffix == ".md" or p.name == VOCABULARY_FILE

    def _watch(self) -> None:
        for changes in watchfiles.watch(
            self.directory,
            watch_filter=self._wanted,
            debounce=int(TICK_SECONDS * 1000),
            step=20,
            rust_timeout=int(TICK_SECONDS * 1000),
            yield_on_timeout=True,
            stop_event=self._stop,
            raise_interrupt=False,
            force_polling=self.force_polling,
            poll_delay_ms=100,
            recursive=False,
        ):
            self._watching.set()
            if changes:
                names = {Path(path).name for _change, path in changes}
                # Removing public text comes first: before anything is read.
                self.resources.withhold({n[:-3] for n in names if n.endswith(".md")})
                with self._state:
                    self._pending |= names
                    self._last_change = time.monotonic()

    def _update_loop(self) -> None:
        retry_at = 0.0
        while not self._stop.wait(TICK_SECONDS):
            now = time.monotonic()
            if now < retry_at or not self._watching.is_set():
                continue
            with self._state:
                settled = self._pending and now - self._last_change >= self.settle
                catch_up = self._catch_up
                names: set[str] | None = None
                if catch_up or settled:  # taken: a change seen from now on is pending anew
                    names, self._pending = self._pending, set()
                idle = not self._pending
            try:
                if names is not None:
                    try:
                        self._update(names, catch_up)
                    except BaseException:
                        with self._state:
                            self._pending |= names  # tried again after the retry delay
                        raise
                    with self._state:
                        self._catch_up = False
                elif idle:
                    self._follow_others()
            except IndexBusyError:
                retry_at = now + RETRY_SECONDS  # someone runs 'archive index': after it
            except ArchiveError as exc:  # a full disk, a broken themes.yaml: said, not a trace
                log.warning("the index was not updated: %s; retrying in %g s", exc, RETRY_SECONDS)
                retry_at = now + RETRY_SECONDS
            except Exception:  # never let the thread die: what is withheld stays withheld
                log.exception("updating the index failed; retrying in %g s", RETRY_SECONDS)
                retry_at = now + RETRY_SECONDS

    def _update(self, names: set[str], catch_up: bool = False) -> None:
        upto = self.resources.changes_seen()
        started = time.perf_counter()
        try:
            report = build_index(self.config)
        except ValidationErrors as exc:  # a broken themes.yaml: the index is left as it was
            for error in exc.errors:
                log.warning("%s", _where(error))
            raise
        for error in report.errors:
            log.warning("%s", _where(error))
        if catch_up and report.mode == "unchanged" and not names:
            return
        archive = self._archive(names, everything=catch_up)
        generation = current_generation(self.config.public_index)
        self._installed(self.resources.install(archive, generation, upto))
        self.updates += 1
        log.info(
            "%d file(s) changed: index %s (%s) in %.2f s",
            len(names),
            report.mode,
            generation,
            time.perf_counter() - started,
        )

    def _archive(self, names: set[str], everything: bool = False) -> Archive:
        """The loaded archive with ``names`` read again (all of it when the themes changed)."""
        old = self.resources.loaded_archive()
        if old is None or everything or VOCABULARY_FILE in names:
            return load_archive(self.config.testimonies)
        paths = [self.config.testimonies / n for n in sorted(names) if n.endswith(".md")]
        fresh = load_archive(
            self.config.testimonies, [p for p in paths if p.is_file()], old.vocabulary
        )
        kept = {k: t for k, t in old.testimonies.items() if t.path.name not in names}
        errors = [e for e in old.errors if Path(str(e.path)).name not in names]
        return Archive(old.directory, old.vocabulary, {**kept, **fresh.testimonies}, [
            *errors, *fresh.errors])  # fmt: skip

    def _follow_others(self) -> None:
        """Install a generation another process swapped in (``archive index``)."""
        snap = self.resources._snapshot
        generation = current_generation(self.config.public_index)
        if snap is None or generation == snap.generation:
            return
        upto = self.resources.changes_seen()
        archive = load_archive(self.config.testimonies)
        self._installed(self.resources.install(archive, generation, upto))

    def _installed(self, snapshot: Snapshot) -> None:
        if self.installed is not None:
            self.installed(snapshot)


def _where(error: ValidationError) -> str:
    """A file error for the log: file and line, never the file's words."""
    return (
        f"{error.location}: this file has an error; its testimony is not served until it is fixed "
        "(run 'archive validate' for the details)"
    )
