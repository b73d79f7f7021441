"""One exception tree for the whole archive.

Every error a person can cause carries where it happened (``path:line``) and
what to do about it, so the CLI and the web app can show it without a
traceback.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AnchorError",
    "ArchiveError",
    "ExportError",
    "IndexBusyError",
    "IndexError_",
    "QueryError",
    "UnreadableFileError",
    "ValidationError",
    "ValidationErrors",
]


class ArchiveError(Exception):
    """Base class: something the user can fix. ``str()`` is the message to show."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ValidationError(ArchiveError):
    """One problem in one testimony or vocabulary file, at one line."""

    def __init__(
        self, path: str | Path, line: int | None, message: str, *, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.path = str(path)
        self.line = line

    def __reduce__(self):  # pickled by worker processes: rebuild from the fields, not args
        return _validation_error, (self.path, self.line, self.message, self.hint)

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text

    def as_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "message": self.message, "hint": self.hint}


def _validation_error(path: str, line: int | None, message: str, hint: str | None):
    return ValidationError(path, line, message, hint=hint)


class UnreadableFileError(ValidationError):
    """A file that cannot be read as a testimony at all: not a regular file (a FIFO, a
    device, a link out of the directory), over the size limit, or not UTF-8 text.

    It is reported like any problem; the export leaves such a file out (with a
    warning) rather than refusing, since a hostile file must not stop the archive.
    """

    def __reduce__(self):
        return _unreadable_file_error, (self.path, self.line, self.message, self.hint)


def _unreadable_file_error(path: str, line: int | None, message: str, hint: str | None):
    return UnreadableFileError(path, line, message, hint=hint)


class ValidationErrors(ArchiveError):
    """Several validation problems at once: one bad file never hides another's."""

    def __init__(self, errors: list[ValidationError]) -> None:
        self.errors = list(errors)
        count = len(self.errors)
        super().__init__(
            f"{count} validation error{'s' if count != 1 else ''}",
            hint="run 'archive validate' to see every problem with its file and line",
        )

    def __reduce__(self):  # pickled by worker processes, like each error it holds
        return type(self), (self.errors,)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class AnchorError(ArchiveError):
    """A quote anchor that cannot be read (malformed URL parameter or selector)."""


class QueryError(ArchiveError):
    """A search query that is refused: too long, too many terms, a bare wildcard..."""


class IndexError_(ArchiveError):  # noqa: N801 - avoid shadowing the builtin IndexError
    """The search index is missing, damaged or cannot be written."""


class IndexBusyError(IndexError_):
    """Another process is writing the index right now."""


class ExportError(ArchiveError):
    """The static export cannot be written or failed a safety check."""
