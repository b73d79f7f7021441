"""Progress of long commands: a bar on a terminal, a plain line every few seconds otherwise.

Logs and CI consoles are not terminals; a command that is silent there for
minutes looks hung, and a bar's carriage returns would fill them with noise.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["LINE_SECONDS", "progress"]

#: How often a plain progress line is written when the output is not a terminal.
LINE_SECONDS = 5.0


@contextmanager
def progress(
    total: int,
    label: str,
    *,
    enabled: bool = True,
    stream: TextIO | None = None,
    every: float = LINE_SECONDS,
) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; shows ``label`` and how much of ``total`` is done on ``stream``."""
    stream = stream if stream is not None else sys.stderr
    if not enabled or total <= 0:
        yield lambda n: None
        return
    if stream.isatty():
        import click  # only for people watching a terminal

        with click.progressbar(length=total, label=label, file=stream) as bar:
            yield bar.update
        return
    started = last = time.monotonic()
    done = 0

    def line(now: float) -> None:
        stream.write(
            f"{label}: {done:,} of {total:,} ({done * 100 // total}%), {now - started:.0f} s\n"
        )
        stream.flush()

    def advance(n: int) -> None:
        nonlocal done, last
        done += n
        now = time.monotonic()
        if now - last >= every:
            last = now
            line(now)

    yield advance
    line(time.monotonic())
