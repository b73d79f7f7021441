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
* the stored ``terms`` (the passage's terms in order, space-separated) and
  ``term_offsets`` (each term's start and end in the stored text): read only
  for the few passages whose words must be located, to check a phrase of
  three words or more and to highlight the page's hits without analysing
  the text again.
"""

from __future__ import annotations

from .analysis import LANGUAGES, base_language

__all__ = ["TEXT_FIELDS", "pair_terms", "pairs_field", "text_field"]

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
