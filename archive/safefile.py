"""Read a testimony file's bytes without trusting what the name points at.

A name ending in ``.md`` in the testimonies directory may be a FIFO (reading
it waits for a writer forever), a device or a link to one (``/dev/zero``
never ends), or a link to a file outside the directory. So before anything
is read: the name is resolved and must stay inside the directory, it is
opened with ``O_NONBLOCK`` (opening a FIFO does not wait for a writer) and
without following a final link where the platform allows, ``fstat`` on the
open descriptor must say "regular file", and its size must be within the
cap; then at most ``cap + 1`` bytes are read, so a file that grows meanwhile
cannot grow memory either.

Both readers of the files use this: the parser (:mod:`archive.parse`) and
the leak check's own reader (:mod:`archive.secrets`), which shares nothing
else with it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["MAX_FILE_BYTES", "UnsafeFile", "read_regular_file"]

#: The largest testimony file read (bytes): split a longer interview into several.
MAX_FILE_BYTES = 2 * 1024 * 1024


class UnsafeFile(Exception):  # noqa: N818 - reads better at the call site
    """The name is not a regular file inside the directory, or it is too large.

    ``str()`` is the message; ``hint`` says what to do.
    """

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def read_regular_file(
    path: str | Path, directory: str | Path | None = None, cap: int = MAX_FILE_BYTES
) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``cap`` bytes.

    With ``directory``, the resolved path (every link followed) must also lie
    inside the resolved directory. Raises :class:`UnsafeFile` for anything
    else and :class:`OSError` when the file cannot be opened or read.
    """
    path = Path(path)
    target = path.resolve()
    if directory is not None:
        root = Path(directory).resolve()
        if not target.is_relative_to(root):
            raise UnsafeFile(
                "is a link to a file outside the testimonies directory",
                "keep testimony files themselves in the directory, not links to elsewhere",
            )
    # The resolved name, so a link swapped after the check above is not followed again.
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(target, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile(
                f"is {_kind(info.st_mode)}, not a regular file",
                "testimonies are plain .md files; remove or rename this one",
            )
        if info.st_size > cap:
            raise UnsafeFile(
                f"file is {info.st_size:,} bytes, over the {cap:,}-byte limit",
                "split the interview into several testimonies",
            )
        chunks, left = [], cap + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
    finally:
        os.close(fd)
    if len(data) > cap:
        raise UnsafeFile(
            f"file is over the {cap:,}-byte limit (it grew while being read)",
            "split the interview into several testimonies",
        )
    return data
