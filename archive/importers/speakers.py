"""``Name: words`` speaker prefixes, as plain-text, Word and subtitle transcripts write turns."""

from __future__ import annotations

import re

#: A label is one to three words starting with a capital letter ("Q", "Ann", "Maria K."),
#: then a colon and the words: "Note: see below" is a turn too, which the editor reviews.
_PREFIX_RE = re.compile(r"^\s*([^\W\d_][\w'’.\- ]{0,40}?)\s*:\s+(\S.*)$", re.S)


def split_speaker(text: str) -> tuple[str | None, str]:
    """(speaker, the words after the label), or (None, text) when there is no label."""
    match = _PREFIX_RE.match(text)
    if match and match.group(1)[0].isupper() and len(match.group(1).split()) <= 3:
        return match.group(1), match.group(2)
    return None, text
