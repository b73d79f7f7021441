"""The published copies of a testimony's recordings: what the player plays and the export ships.

An original named by ``media:`` is never sent: every recording a reader can hear is a
copy derived by :func:`archive.muting.muted_copy` (redacted ranges silent, cached by
content hash in ``Config.media_cache``) and measured by :func:`archive.muting.loud_ranges`
before it is offered. A copy whose silenced ranges are not silent is an error (a leak,
never served); one that cannot be decoded is withheld. Only public testimonies have
published copies.

The server makes a copy on the first request for it (the page does not wait for it);
the export makes every copy before it renders a page (:func:`publish_all`), so its pages
offer exactly the copies it verified and will write.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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

__all__ = ["MediaLeak", "PublishedCopy", "original_path", "publish_all", "published_copy"]


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
