"""The published copies of a testimony's recordings: what the player plays and the export ships.

An original named by ``media:`` is never sent: every recording a reader can hear is a
copy derived by :func:`archive.muting.muted_copy` (redacted ranges silent, cached by
content hash in ``Config.media_cache``) and measured by :func:`archive.muting.loud_ranges`
before it is offered. A copy whose silenced ranges are not silent is an error (a leak,
never served); one that cannot be decoded is withheld. Only public testimonies have
published copies.

The server makes every public recording's copy ahead, in one background thread
(:class:`CopyMaker`: started by ``archive serve``, and again for each archive it installs),
so no reader waits for an encoder; ``archive index`` makes them too (:func:`prepare_all`).
A request for a copy not made yet moves it to the front and waits at most
:data:`READY_WAIT_SECONDS`, then answers 503 with ``Retry-After``. The export makes every
copy before it renders a page (:func:`publish_all`), so its pages offer exactly the copies
it verified and will write.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archive.config import Config
from archive.errors import ArchiveError
from archive.model import Testimony
from archive.muting import (
    MEDIA_TYPE,
    MediaUnreadable,
    loud_ranges,
    muted_copy,
    ranges_for,
    testimony_ranges,
)

__all__ = [
    "READY_WAIT_SECONDS",
    "RETRY_AFTER_SECONDS",
    "MEDIA_RETRY",
    "MEDIA_WAIT",
    "CopyMaker",
    "copy_maker",
    "MediaLeak",
    "NotReady",
    "PublishedCopy",
    "original_path",
    "prepare_all",
    "publish_all",
    "published_copy",
]

#: How long a request for a copy still being made waits for it before the 503.
READY_WAIT_SECONDS = 3.0
#: The Flask setting that overrides it (tests set 0: a copy not made yet is a 503 at once).
MEDIA_WAIT = "MEDIA_READY_WAIT"
#: What that 503 asks the client to wait before it asks again (the page's player does).
RETRY_AFTER_SECONDS = 10
#: The Flask setting that overrides it (the player's browser test asks for 1).
MEDIA_RETRY = "MEDIA_RETRY_AFTER"


class MediaLeak(ArchiveError):
    """A published copy in which a redacted range is not silent."""


@dataclass(frozen=True)
class PublishedCopy:
    testimony: str
    number: int  # 1-based, as media lists the recordings
    path: Path  # the copy in the cache
    ranges: tuple[tuple[float, float], ...]  # silenced, in seconds, unpadded
    media_type: str = MEDIA_TYPE


def original_path(t: Testimony, number: int) -> Path:
    """The original file of recording ``number`` (checked by validation to lie inside
    the testimonies directory; checked again here, as it is about to be read)."""
    root = t.path.parent.resolve()
    path = (t.path.parent / t.media[number - 1]).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise MediaUnreadable(f"recording {number} of {t.id} is not a file in the archive")
    return path


def published_copy(config: Config, t: Testimony, number: int) -> PublishedCopy:
    """Make (or find in the cache) and verify the copy of recording ``number`` of ``t``.

    Raises :class:`MediaUnreadable` (withhold it) or :class:`MediaLeak` (never publish).
    """
    ranges = tuple(ranges_for(testimony_ranges(t), number))
    path = muted_copy(original_path(t, number), ranges, config.media_cache)
    loud = loud_ranges(path, ranges)
    if loud:
        path.unlink(missing_ok=True)  # made again, muted, next time; this time: refused
        raise MediaLeak(
            f"{t.path}: the published copy of recording {number} ({t.media[number - 1]}) is "
            f"not silent where a redaction is: {', '.join(str(r) for r in loud)}",
            hint="the cached copy was removed; if this happens again, report it as a bug",
        )
    return PublishedCopy(t.id, number, path, ranges)


def publish_all(
    config: Config, testimonies: list[Testimony], warnings: list[str]
) -> dict[tuple[str, int], PublishedCopy]:
    """Every public recording's copy, for an export; an unreadable one is withheld with
    a warning, a loud one raises :class:`MediaLeak`."""
    copies = {}
    for t in sorted(testimonies, key=lambda t: t.id):
        for number in range(1, len(t.media) + 1):
            try:
                copies[(t.id, number)] = published_copy(config, t, number)
            except MediaUnreadable as exc:
                warnings.append(
                    f"{t.path}: recording {number} ({t.media[number - 1]}) withheld: {exc}"
                )
    return copies


def prepare_all(config: Config, testimonies: Iterable[Testimony]) -> tuple[int, list[str]]:
    """Make (or find in the cache) every public recording's copy, as ``archive index``
    does so that no reader of the server waits for one: (copies ready, warnings)."""
    ready, warnings = 0, []
    for t in sorted(testimonies, key=lambda t: t.id):
        for number in range(1, len(t.media) + 1):
            try:
                published_copy(config, t, number)
                ready += 1
            except (MediaUnreadable, MediaLeak) as exc:
                warnings.append(f"{t.path}: recording {number} withheld: {exc}")
    return ready, warnings


class NotReady(Exception):
    """The copy is still being made: ask again in :data:`RETRY_AFTER_SECONDS`."""


Job = tuple[str, int, int, int, tuple[tuple[float, float], ...]]


class CopyMaker:
    """Makes the server's published copies in one background thread, ahead of readers.

    A copy is known by the original's path, size and modification time and the ranges it
    silences, so an edit that changes a redaction (or the recording) makes a new one, and
    an unchanged one is verified once per server. Encoding runs one copy at a time: it is
    heavy, and the cache would make a second encoder of the same copy wasted work.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self._cond = threading.Condition()
        self._done: dict[Job, PublishedCopy | Exception] = {}
        self._queue: list[tuple[Job, Testimony, int]] = []
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._followed: tuple[object, object] | None = None

    def follow(self, snapshot: Any) -> None:
        """Queue the copies of a snapshot's public testimonies (a :class:`webapp.resources.
        Snapshot`), once per archive and day: what the watcher calls on each new one."""
        seen = (snapshot.archive, snapshot.today)
        with self._cond:
            if self._followed is not None and all(
                a is b for a, b in zip(seen, self._followed, strict=True)
            ):
                return
            self._followed = seen
        self.prepare(snapshot.archive.public(snapshot.today))

    @staticmethod
    def job(t: Testimony, number: int) -> Job:
        """What identifies a copy (raises :class:`MediaUnreadable` when the original is gone)."""
        original = original_path(t, number)
        stat = original.stat()
        ranges = tuple(ranges_for(testimony_ranges(t), number))
        return (str(original), number, stat.st_size, stat.st_mtime_ns, ranges)

    def prepare(self, testimonies: Iterable[Testimony]) -> None:
        """Queue every recording of ``testimonies`` (public ones) whose copy is not made."""
        jobs = []
        for t in sorted(testimonies, key=lambda t: t.id):
            for number in range(1, len(t.media) + 1):
                try:
                    jobs.append((self.job(t, number), t, number))
                except (MediaUnreadable, OSError):
                    continue  # asked for, it is a 404 with a warning
        with self._cond:
            queued = {j for j, _, _ in self._queue}
            self._queue += [x for x in jobs if x[0] not in self._done and x[0] not in queued]
            self._start()

    def get(self, t: Testimony, number: int, wait: float = READY_WAIT_SECONDS) -> PublishedCopy:
        """The copy, made first if need be, waiting at most ``wait`` seconds for it.

        Raises :class:`NotReady` after the wait, :class:`MediaUnreadable` or
        :class:`MediaLeak` for a copy that cannot be published (asked again later, it is
        tried again).
        """
        key = self.job(t, number)
        with self._cond:
            if key not in self._done:
                self._queue = [(key, t, number)] + [x for x in self._queue if x[0] != key]
                self._start()
                self._cond.wait_for(lambda: key in self._done, timeout=wait)
            if key not in self._done:
                raise NotReady(f"recording {number} of {t.id} is being prepared")
            found = self._done[key]
            if isinstance(found, Exception):
                del self._done[key]  # tried again on a later request
                raise found
            return found

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._queue.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _start(self) -> None:  # with self._cond held
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="media-copies", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                key, t, number = self._queue.pop(0)
                if key in self._done:
                    continue
            try:
                result: PublishedCopy | Exception = published_copy(self.config, t, number)
            except Exception as exc:  # noqa: BLE001 - stored: the request says 404, logs why
                result = exc
            with self._cond:
                self._done[key] = result
                self._cond.notify_all()


_MAKER_LOCK = threading.Lock()


def copy_maker(app: Any) -> CopyMaker:
    """The app's one :class:`CopyMaker` (a Flask app: ``app.extensions`` holds it)."""
    with _MAKER_LOCK:
        maker = app.extensions.get("archive.media")
        if maker is None:
            maker = app.extensions["archive.media"] = CopyMaker(app.extensions["archive"].config)
        return maker
