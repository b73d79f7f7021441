"""A testimony archive: keep interviews, find and verify quotes, publish the public part."""

from .errors import ArchiveError, ValidationError, ValidationErrors
from .model import Archive, Passage, Testimony, Theme, Vocabulary, public_text
from .parse import load_archive, parse_file

__all__ = [
    "Archive",
    "ArchiveError",
    "Passage",
    "Testimony",
    "Theme",
    "ValidationError",
    "ValidationErrors",
    "Vocabulary",
    "load_archive",
    "parse_file",
    "public_text",
]
