"""The index's passage-text fields: which one holds a language, and its companions.

A passage's words are kept three ways, because Whoosh reads a posting block
whole (document numbers, weights and every value together), so positions
kept in the postings would be loaded by every search that reads a word:

* ``text_<lang>``: documents and term frequencies only, so the blocks that
  matching and BM25 scoring read stay small and quick to load. Its spelling
  subfield (the words as written) feeds prefixes, typo tolerance and "did
  you mean".
* ``pairs_<lang>``: every two terms in a row as one term ("white folk"), with
  its frequency, so a two-word phrase is one term to look up and score, and
  a longer one is narrowed to the few passages holding all its pairs.
* the columns ``terms`` (the passage's terms in order, space-separated) and
  ``term_offsets`` (each term's start and end in the stored text): read only
  for the few passages whose words must be located, to check a phrase of
  three words or more and to highlight the page's hits without analysing
  the text again. They are columns, not stored fields, because Whoosh keeps
  a document's stored fields as one compressed record: a phrase check would
  unpack the whole passage to read its terms, and every hit and neighbour
  read for a page would unpack its terms and offsets for nothing.
"""

from __future__ import annotations

from array import array

from .analysis import LANGUAGES, base_language

__all__ = [
    "TERMS",
    "TERM_OFFSETS",
    "TEXT_FIELDS",
    "pack_offsets",
    "pack_terms",
    "pair_terms",
    "pairs_field",
    "text_field",
    "unpack_offsets",
    "unpack_terms",
]

#: The column fields that locate a passage's terms (see the module's docstring).
TERMS = "terms"
TERM_OFFSETS = "term_offsets"

TEXT_FIELDS = tuple(f"text_{lang}" for lang in (*LANGUAGES, "other"))


def text_field(language: str | None) -> str:
    """The field holding passage text in ``language`` (``uk-UA`` counts as ``uk``)."""
    base = base_language(language or "")
    return f"text_{base}" if base in LANGUAGES else "text_other"


def pairs_field(text: str) -> str:
    """The word-pairs companion of a text field."""
    return "pairs_" + text.removeprefix("text_")


def pair_terms(terms: list[str]) -> list[str]:
    """The ``pairs_`` terms of a run of text terms, as :class:`PairFilter` makes them."""
    return [f"{a} {b}" for a, b in zip(terms, terms[1:], strict=False)]


def pack_terms(terms: list[str]) -> bytes:
    """The ``terms`` column value: no term holds a space, so they are joined by one."""
    return " ".join(terms).encode("utf-8")


def unpack_terms(raw: bytes) -> list[str]:
    return raw.decode("utf-8").split(" ") if raw else []


def pack_offsets(offsets: list[int]) -> bytes:
    """The ``term_offsets`` column value: start and end of each term, as unsigned ints
    (the index is read on the machine that wrote it, so native byte order will do)."""
    return array("I", offsets).tobytes()


def unpack_offsets(raw: bytes) -> array:
    values = array("I")
    values.frombytes(raw)
    return values
