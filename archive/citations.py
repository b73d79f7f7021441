"""Citations of a testimony, or of exact words in it, in the formats editors paste.

Plain text for an article, CSL-JSON, BibTeX and RIS for reference managers,
and a W3C Web Annotation (with the anchor's selectors) for annotation tools.
Only public fields ever go in: the testimony's public metadata and, for a
quote, the anchor's words, which were cut from the public text.

The command line and the web app build citations here, with
:func:`citation_url` for the link (a ledger quote's short link when there is
one), so a citation is the same text wherever it was made.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from .anchors import Anchor
from .media import clock_span
from .model import Testimony
from .urls import quote_url, testimony_url

__all__ = [
    "ANNOTATION_CONTEXT",
    "BIBTEX_REPLACE",
    "BIBTEX_SPECIAL",
    "DOWNLOAD_NAME",
    "FORMATS",
    "QUOTE_DOWNLOAD_NAME",
    "QUOTE_PREVIEW",
    "SITE_NAME",
    "Citation",
    "all_formats",
    "bibtex_escape",
    "citation_url",
    "download_name",
    "make_citation",
    "render",
]

#: The publisher named in every citation.
SITE_NAME = "Testimony Archive"

ANNOTATION_CONTEXT = "http://www.w3.org/ns/anno.jsonld"
#: Longest quote a citation carries in full (the page scripts read it from the page config).
QUOTE_PREVIEW = 300


@dataclass(frozen=True)
class Citation:
    """What is cited: a testimony (``anchor`` None) or words in it, at an absolute URL."""

    testimony: Testimony
    url: str
    accessed: dt.date
    site_name: str
    anchor: Anchor | None = None

    @property
    def key(self) -> str:
        key = re.sub(r"[^A-Za-z0-9]+", "_", self.testimony.id).strip("_")
        return f"{key}_{self.anchor.start}" if self.anchor else key


def citation_url(
    testimony_id: str,
    anchor: Anchor | None = None,
    *,
    quote_id: str | None = None,
    base_url: str = "",
) -> str:
    """The link a citation carries: a ledger quote's short link (``/q/ID/``), else the
    testimony's, at the quoted words when there are any."""
    if quote_id is not None:
        return quote_url(quote_id, base_url)
    passage = anchor.passage if anchor is not None else None
    return testimony_url(testimony_id, passage=passage, anchor=anchor, base_url=base_url)


def make_citation(
    testimony: Testimony, anchor: Anchor | None, *, url: str, accessed: dt.date
) -> Citation:
    """The citation the web app and the command line both make (``url``: see :func:`citation_url`)."""
    return Citation(
        testimony=testimony, url=url, accessed=accessed, site_name=SITE_NAME, anchor=anchor
    )


def _at(c: Citation) -> str | None:
    """``"at 12:34–13:02"``: where a quote's passage is heard in the recording, if it has
    a time code and the testimony a recording (the page's time buttons carry the same
    ``data-span`` for the export's script)."""
    if c.anchor is None or not c.anchor.passage or not c.testimony.media:
        return None
    passage = c.testimony.passage(c.anchor.passage)
    return f"at {clock_span(passage.time)}" if passage and passage.time else None


def _quote_note(c: Citation, quote: str, open_: str = "“", close: str = "”") -> str:
    at = _at(c)
    return f"Quoted: {open_}{quote}{close}" + (f", {at}" if at else "")


def _quote(citation: Citation) -> str | None:
    if citation.anchor is None:
        return None
    words = " ".join(citation.anchor.exact.split())
    return words if len(words) <= QUOTE_PREVIEW else words[: QUOTE_PREVIEW - 1] + "…"


def plain_text(c: Citation) -> str:
    t = c.testimony
    parts = []
    if t.narrator:
        parts.append(f"{t.narrator}.")
    parts.append(f"“{t.title}.”")
    details = []
    if t.interviewer:
        details.append(f"Interview by {t.interviewer}")
    else:
        details.append("Interview")
    if t.date:
        details.append(str(t.date))
    if t.place:
        details.append(t.place)
    at = _at(c)
    if at:
        details.append(at)
    parts.append(", ".join(details) + ".")
    parts.append(f"{c.site_name}.")
    if t.license:
        parts.append(f"License: {t.license}.")
    parts.append(f"{c.url} (accessed {c.accessed.isoformat()}).")
    text = " ".join(parts)
    quote = _quote(c)
    return f"“{quote}” — {text}" if quote else text


def _date_parts(value: Any) -> list[int]:
    return [p for p in (value.year, value.month, value.day) if p is not None]


def csl_json(c: Citation) -> list[dict[str, Any]]:
    t = c.testimony
    item: dict[str, Any] = {
        "id": c.key,
        "type": "interview",
        "title": t.title,
        "language": t.language,
        "URL": c.url,
        "accessed": {"date-parts": [_date_parts(c.accessed)]},
        "publisher": c.site_name,
    }
    if t.narrator:
        item["author"] = [{"literal": t.narrator}]
    if t.interviewer:
        item["interviewer"] = [{"literal": t.interviewer}]
    if t.date:
        item["issued"] = {"date-parts": [_date_parts(t.date)]}
    if t.place:
        item["event-place"] = t.place
    if t.source:
        item["source"] = t.source
    if t.license:
        item["license"] = t.license
    quote = _quote(c)
    if quote:
        item["note"] = _quote_note(c, quote)
    return [item]


BIBTEX_SPECIAL = re.compile(r"([\\{}%$&#_^~])")
BIBTEX_REPLACE = {
    "\\": r"\textbackslash{}",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
}


def bibtex_escape(value: str) -> str:
    """``value`` on one line with BibTeX's special characters escaped (the export's script
    gets the same table through the page config)."""
    value = " ".join(value.split())
    return BIBTEX_SPECIAL.sub(lambda m: BIBTEX_REPLACE.get(m.group(1), "\\" + m.group(1)), value)


def bibtex(c: Citation) -> str:
    t = c.testimony
    fields: list[tuple[str, str]] = [("title", bibtex_escape(t.title))]
    if t.narrator:
        fields.append(("author", "{" + bibtex_escape(t.narrator) + "}"))
    if t.interviewer:
        fields.append(("editor", "{" + bibtex_escape(t.interviewer) + "}"))
    if t.date:
        fields.append(("year", str(t.date.year)))
        if t.date.month:
            fields.append(("month", str(t.date.month)))
        fields.append(("date", str(t.date)))
    if t.place:
        fields.append(("address", bibtex_escape(t.place)))
    fields.append(("howpublished", "Interview, " + bibtex_escape(c.site_name)))
    fields.append(("url", c.url.replace("\\", "").replace("}", "%7D").replace("{", "%7B")))
    fields.append(("urldate", c.accessed.isoformat()))
    fields.append(("language", t.language))
    notes = []
    quote = _quote(c)
    if quote:
        notes.append(_quote_note(c, bibtex_escape(quote), "``", "''"))
    if t.license:
        notes.append(f"License: {bibtex_escape(t.license)}")
    if notes:
        fields.append(("note", ". ".join(notes)))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{c.key},\n{body}\n}}\n"


def _ris_line(tag: str, value: str) -> str:
    return f"{tag}  - {' '.join(value.split())}"


def ris(c: Citation) -> str:
    t = c.testimony
    lines = [_ris_line("TY", "PCOMM"), _ris_line("TI", t.title), _ris_line("M3", "Interview")]
    if t.narrator:
        lines.append(_ris_line("AU", t.narrator))
    if t.interviewer:
        lines.append(_ris_line("A2", t.interviewer))
    if t.date:
        month = f"{t.date.month:02d}" if t.date.month else ""
        day = f"{t.date.day:02d}" if t.date.day else ""
        lines.append(_ris_line("DA", f"{t.date.year:04d}/{month}/{day}"))
        lines.append(_ris_line("PY", f"{t.date.year:04d}"))
    if t.place:
        lines.append(_ris_line("CY", t.place))
    lines.append(_ris_line("PB", c.site_name))
    lines.append(_ris_line("LA", t.language))
    lines.append(_ris_line("UR", c.url))
    lines.append(_ris_line("Y2", c.accessed.strftime("%Y/%m/%d")))
    quote = _quote(c)
    if quote:
        lines.append(_ris_line("N1", _quote_note(c, quote)))
    if t.license:
        lines.append(_ris_line("N1", f"License: {t.license}"))
    lines.append("ER  - ")
    return "\r\n".join(lines) + "\r\n"


def web_annotation(c: Citation) -> dict[str, Any]:
    """A W3C Web Annotation; with a quote, its target carries the anchor's selectors."""
    source = c.url.split("#", 1)[0].split("?", 1)[0]
    target: dict[str, Any] = {"source": source, "type": "Text"}
    if c.anchor is not None:
        target["selector"] = c.anchor.to_selectors()
    annotation: dict[str, Any] = {
        "@context": ANNOTATION_CONTEXT,
        "id": c.url,
        "type": "Annotation",
        "motivation": "bookmarking" if c.anchor is None else "highlighting",
        "target": target,
        "body": {
            "type": "TextualBody",
            "value": plain_text(c),
            "format": "text/plain",
            "purpose": "describing",
        },
    }
    return annotation


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


#: File extension -> (label, media type, render to text)
FORMATS: dict[str, tuple[str, str, Any]] = {
    "txt": ("Plain text", "text/plain; charset=utf-8", plain_text),
    "bib": ("BibTeX", "application/x-bibtex; charset=utf-8", bibtex),
    "ris": ("RIS", "application/x-research-info-systems; charset=utf-8", ris),
    "csl.json": (
        "CSL-JSON",
        "application/vnd.citationstyles.csl+json; charset=utf-8",
        lambda c: _dump(csl_json(c)),
    ),
    "annotation.json": (
        "Web Annotation",
        'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"; charset=utf-8',
        lambda c: _dump(web_annotation(c)),
    ),
}


#: The file names citations download as (the static export's page script names a quote's
#: files with the second, given it by webapp/pageconfig.py).
DOWNLOAD_NAME = "{id}.{format}"
QUOTE_DOWNLOAD_NAME = "{id}-{start}.{format}"


def download_name(testimony_id: str, anchor: Any, fmt: str) -> str:
    """The file name a citation downloads as: ``ID.bib``, or ``ID-START.bib`` for a quote."""
    if anchor is None:
        return DOWNLOAD_NAME.format(id=testimony_id, format=fmt)
    return QUOTE_DOWNLOAD_NAME.format(id=testimony_id, start=anchor.start, format=fmt)


def render(citation: Citation, fmt: str) -> str:
    return FORMATS[fmt][2](citation)


def all_formats(citation: Citation) -> list[dict[str, str]]:
    """Every format as ``{"format", "label", "text"}``, in the order the citation box shows."""
    return [
        {"format": fmt, "label": label, "text": render(citation, fmt)}
        for fmt, (label, _, _) in FORMATS.items()
    ]
