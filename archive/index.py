"""Build the search indexes, and swap each new version in atomically.

Two indexes, each in its own directory: ``public/`` (what the web app, the
export and every public output search) and the optional ``private/`` (all
testimonies with their redacted words, for the archivist's own command line).
The public one is written only from :meth:`Archive.public` testimonies and
only from :attr:`Passage.public_text`. Filtering at query time would not be
enough: Whoosh keeps the terms, spelling words and stored fields of deleted
documents in a segment's files until that segment is rewritten, so whatever
was written there once can be read back from the files.

On-disk layout of one index directory::

    public/
      CURRENT            names the live generation ("gen-000012"); replaced atomically
      LOCK               flock()ed by the only process allowed to write
      gen-000012/        live: a Whoosh index plus manifest.json, never modified
      gen-000011/        the previous generation, kept for readers still holding it
      tmp-000013-4242/   being written by process 4242; removed by the next run

A generation is complete before anything points at it: every file is
fsynced, ``tmp-*`` is renamed to ``gen-*``, then a new ``CURRENT`` is written
to a temporary file, fsynced and ``os.replace``d over the old one (and the
directory fsynced). Readers see the old generation or the new one, never a
half-written one; a run killed at any moment leaves the old one serving, and
the next run (holding ``LOCK``) deletes leftover ``tmp-*`` directories and
generations nothing points at. The kernel drops an flock when its process
dies, so the lock cannot go stale. Whoosh's own write lock is not used.

Whoosh's commit alone would not do: it renames a new TOC file into place but
never fsyncs, and deletes the replaced segment files at once, under readers
that may be about to open them. So every update, incremental ones included,
is written into a fresh generation and swapped in.

A full build runs one worker process per core (at most :data:`MAX_WORKERS`),
each parsing and indexing its share of the files into its own segment, so
parsing and analysis use every core and the index has few segments (search,
and above all spelling suggestions, slow down with every segment).

An incremental update starts the new generation as hard links to the live
one's files (Whoosh never edits a file in place), deletes the documents of
every changed, removed, withheld or now invalid testimony, and adds the new
versions. Deleted documents stay in their segment's files, so each deletion
is classified:

* an *addition*: a changed testimony whose old documents hold nothing the new
  public version lacks (every old passage text is inside one new passage;
  title, narrator, place, date, language and status unchanged; no theme
  dropped). Its old documents may stay behind, marked deleted: everything
  in them is still public. Typo fixes do not count: the old spelling is gone.
* a *withdrawal*: anything else, and every removal or status change. Every
  segment whose term dictionary names the testimony is rewritten without its
  deleted documents, so the old terms, spelling words and stored text leave
  the files. Before the swap the new generation is checked: no segment that
  still carries deleted documents may name a withdrawn testimony. When the
  rewrite would be a large part of the index, a full build is done instead.

Rewriting a segment means adding its live documents again from their stored
fields, not Whoosh's merge: Whoosh files a segment's spelling words under its
document 0, so a merge keeps the spelling words of deleted documents (or
drops them all when document 0 was deleted). The new versions go into one
new segment per update, together with the documents of segments smaller
than :data:`SMALL_SEGMENT_DOCS`; once there would be more than
:data:`MAX_SEGMENTS` segments, the update is done as a full build, which
compacts the index again.

After a withdrawal the previous generation is deleted right after the swap
instead of being kept; open readers keep working because Whoosh
memory-maps segment files, and :meth:`IndexHandle.is_stale` tells them to
reopen.

The manifest of a public generation names only public testimonies. Files
withheld from it (restricted, embargoed) are recorded as salted hashes, so
an update can skip them while unchanged without the public index directory
holding their names.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import json
import mmap
import multiprocessing
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from whoosh import columns, formats
from whoosh import fields as wf
from whoosh.codec.whoosh3 import W3Codec, W3PerDocReader, W3PerDocWriter
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import BufferFile, StructFile
from whoosh.index import TOC, EmptyIndexError, FileIndex, clean_files
from whoosh.reading import SegmentReader
from whoosh.searching import Searcher
from whoosh.writing import SegmentWriter

from .analysis import ANALYSIS_VERSION, analyze_spans, analyzer_for, pairs_analyzer_for
from .anchors import CONTEXT_CHARS
from .config import Config
from .errors import IndexBusyError, IndexError_, ValidationError, ValidationErrors
from .fields import (
    TERM_OFFSETS,
    TERMS,
    TEXT_FIELDS,
    pack_offsets,
    pack_terms,
    pairs_field,
    text_field,
)
from .model import (
    PASSAGE_SEPARATOR,
    Archive,
    Testimony,
    Vocabulary,
    decade_of,
    passage_offsets,
)
from .parse import account_statuses, iter_testimony_files, looks_derived, parse_file
from .progress import progress
from .safefile import UnsafeFile, read_regular_file
from .themes import load_vocabulary

__all__ = [
    "SCHEMA_VERSION",
    "IndexHandle",
    "IndexReport",
    "build_index",
    "current_generation",
    "indexed_testimonies",
    "ensure_index",
    "open_index",
    "schema",
]

#: Bump when a field is added, removed or filled differently, or segments are
#: written in another format (6: ArchiveCodec); with ``analysis.ANALYSIS_VERSION``
#: it decides whether an index can be updated or must be rebuilt.
SCHEMA_VERSION = 8  # 7: passage times (recordings) and passage themes (best match), apart
MANIFEST_FORMAT = 1
INDEXNAME = "MAIN"
CURRENT = "CURRENT"
LOCK = "LOCK"
MANIFEST = "manifest.json"
GEN_RE = re.compile(r"^gen-(\d{6,})$")
TMP_RE = re.compile(r"^tmp-(\d{6,})-\d+$")
#: Worker processes of a full build, one segment each.
MAX_WORKERS = 4
#: Below this much source a full build runs in the calling process.
INLINE_BYTES = 256 * 1024
#: Segments under this many documents are folded into the next update's new
#: segment (their documents added again), so updates do not pile up
#: segments. Folding costs about as much as indexing those documents anew
#: (Whoosh's own merge is no faster), which bounds the cost of an update.
SMALL_SEGMENT_DOCS = 200
#: More segments than this after an update: rebuild instead (search, and
#: spelling suggestions most, slow down with every segment).
MAX_SEGMENTS = 8
#: An update that would rewrite more than this share of the index is done as
#: a full (parallel) build instead.
INCREMENTAL_LIMIT = 1 / 3
#: Memory for each writer's posting pool before it spills sorted runs to disk.
LIMIT_MB = 128
#: How long a second writer waits for the first before giving up.
LOCK_TIMEOUT = 3.0
#: Stored fields that must not change for a changed testimony to count as an
#: addition (``themes`` may only grow; ``text`` is checked passage by passage).
SAME_FIELDS = (
    "title", "narrator", "place", "place_facet", "language", "status", "date", "source", "license",
)  # fmt: skip


# --- reading the files ------------------------------------------------------------------
#
# Segments are written as separate files (not Whoosh's compound file) and read
# through mmap without copies. Whoosh reads a compound file through mmap too,
# but copies every part it opens into a BytesIO: the whole index, stored text
# included, ended up twice in the server's memory (once copied, once mapped).


#: What _ViewReader.peek offers: more than a block header's pickle, little to copy.
_PEEK_BYTES = 512


class _ViewReader:
    """read/seek/tell over a memoryview, sharing its memory (BytesIO would copy it)."""

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._pos = 0

    def read(self, size: int | None = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else self._pos + size
        data = bytes(self._view[self._pos : end])
        self._pos += len(data)
        return data

    def peek(self, size: int = 0) -> bytes:
        # With peek, pickle.load reads a small pickle (a posting block's header,
        # on every block a search touches) in two calls instead of one per opcode.
        return bytes(self._view[self._pos : self._pos + _PEEK_BYTES])

    def readline(self, size: int | None = -1) -> bytes:  # pickle.load wants it
        end = len(self._view) if size is None or size < 0 else self._pos + size
        start = stop = self._pos
        while stop < end:  # a chunk at a time: the rest of the file may be large
            chunk = bytes(self._view[stop : min(stop + 4096, end)])
            newline = chunk.find(b"\n")
            if newline >= 0:
                stop += newline + 1
                break
            stop += len(chunk)
        self._pos = stop
        return bytes(self._view[start:stop])

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: len(self._view)}[whence]
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        with contextlib.suppress(BufferError):  # slices still in use keep it alive
            self._view.release()


class _MappedFile(BufferFile):
    """One index file, mapped read-only: Whoosh's BufferFile without the copy."""

    def __init__(self, mapped: mmap.mmap, name: str) -> None:
        # BufferFile.__init__ would wrap the buffer in a BytesIO, a full copy.
        self._map = mapped
        self._buf = memoryview(mapped)
        self._name = name
        self.file = _ViewReader(self._buf)
        self.onclose = None
        self.is_real = False
        self.is_closed = False

    def close(self) -> None:
        super().close()  # releases the view through _ViewReader.close
        with contextlib.suppress(BufferError):  # a slice still in use: the map goes with it
            self._map.close()


class MappedStorage(FileStorage):
    """A read-only view of an index directory whose files are read through mmap."""

    def open_file(self, name: str, **kwargs) -> StructFile:
        with open(self._fpath(name), "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:  # mmap refuses empty files
                return super().open_file(name, **kwargs)
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        # Reads are small and scattered (a posting block, one passage's stored
        # fields): read-ahead would only fill memory with pages nobody asked for.
        mapped.madvise(mmap.MADV_RANDOM)
        return _MappedFile(mapped, name)


# --- schema ----------------------------------------------------------------------


def schema() -> wf.Schema:
    """One document per passage; the search module queries these names."""
    meta = analyzer_for("other")  # fold only: names and places are not stemmed
    text_fields = {}
    for name in TEXT_FIELDS:
        # The passage's words, in the fields of the testimony's language (the
        # others stay empty), analysed as that language; what each of the
        # three holds, and why, is in archive.fields.
        language = name.removeprefix("text_")
        analyzer = analyzer_for(language)
        text_fields[name] = wf.TEXT(analyzer=analyzer, phrase=False, spelling=True)
        text_fields[pairs_field(name)] = wf.FieldType(
            formats.Frequency(), pairs_analyzer_for(language), scorable=True
        )
    return wf.Schema(
        # "<testimony>/<passage>": the one document of a passage.
        key=wf.ID(unique=True, stored=True),
        # Testimony id: what updates delete by, and what results group by.
        testimony=wf.ID(stored=True),
        # Passage id (explicit or derived), the quote anchor's target.
        passage=wf.ID(stored=True),
        # Order of the passage in its testimony (0-based), and how many it has
        # (the quote check reads on into the next passage, if there is one).
        position=wf.NUMERIC(int, stored=True, sortable=True, shift_step=0),
        passages=wf.STORED,
        # The end of the passage before and the start of the one after, as much
        # as a quote anchor keeps as context: a hit near the edge of its
        # passage is anchored without reading its neighbours.
        before=wf.STORED,
        after=wf.STORED,
        # Where the passage starts in model.public_text(testimony) (in the
        # private index: in the same join of the private texts).
        offset=wf.NUMERIC(int, stored=True, shift_step=0),
        # Where a time-coded passage is heard: seconds in recording ``recording`` of the
        # testimony's media (only when it has media), so hits can cue the player.
        start=wf.STORED,
        end=wf.STORED,
        recording=wf.STORED,
        **text_fields,
        # The passage text itself, what snippets and highlights are cut from.
        text=wf.STORED,
        # Its terms in order, space-separated, and each one's start and end in
        # ``text``: phrase checks and highlights read these (archive.fields says
        # why they are columns). Offsets are written for every segment, so a
        # column opens without summing the lengths of all its values.
        **{
            name: wf.COLUMN(columns.VarBytesColumn(write_offsets_cutoff=0))
            for name in (TERMS, TERM_OFFSETS)
        },
        # Testimony metadata, searchable word by word (title:, narrator:, place:).
        title=wf.TEXT(analyzer=meta, stored=True),
        narrator=wf.TEXT(analyzer=meta, stored=True),
        place=wf.TEXT(analyzer=meta, stored=True),
        # The whole place string, one term, for facet counts.
        place_facet=wf.ID(stored=True, sortable=True),
        # BCP 47 tag as written in the file ("en", "uk-UA").
        language=wf.ID(stored=True, sortable=True),
        # public | embargoed (lifted) in the public index; any in the private one.
        status=wf.ID(stored=True),
        # Passage themes plus testimony themes, space-separated slugs.
        themes=wf.KEYWORD(stored=True, scorable=True, lowercase=True),
        # The same plus every broader theme, so theme:leaving-service finds
        # passages tagged with a narrower theme.
        theme_tree=wf.KEYWORD(lowercase=True),
        # The passage's own themes (without the testimony's), and with every
        # broader theme: theme: ranks a passage tagged itself above one that
        # only inherits the theme from its testimony.
        passage_themes=wf.KEYWORD(stored=True, lowercase=True),
        passage_theme_tree=wf.KEYWORD(lowercase=True),
        # The interview date as written: "1937", "1937-05" or "1937-05-14".
        date=wf.ID(stored=True),
        # First day of the date as yyyymmdd, 0 when undated: for sorting.
        date_sort=wf.NUMERIC(int, sortable=True, shift_step=0),
        # Year of the interview, for ranges (absent when undated).
        year=wf.NUMERIC(int, shift_step=0),
        # "1930s", for facets.
        decade=wf.ID(stored=True, sortable=True),
        # The bold speaker label the passage starts with ("Q", "Ivan"), if any.
        speaker=wf.STORED,
        # Testimony source and licence, for citations (quote check cites from the index).
        source=wf.STORED,
        license=wf.STORED,
    )


def _documents(t: Testimony, vocabulary: Vocabulary, private: bool) -> list[dict]:
    """The field values of each passage: public text only, unless ``private``."""
    passages = t.passages
    if private:
        offsets, pos = [], 0
        for p in passages:
            offsets.append(pos)
            pos += len(p.text) + len(PASSAGE_SEPARATOR)
    else:
        public_offsets = passage_offsets(t)
        offsets = [public_offsets[p.id] for p in passages]
    common: dict = {"testimony": t.id, "title": t.title, "language": t.language}
    common["passages"] = len(passages)
    common["status"] = t.status
    if t.narrator:
        common["narrator"] = t.narrator
    if t.place:
        common["place"] = t.place
        common["place_facet"] = t.place
    if t.date is not None:
        common["date"] = str(t.date)
    for name in ("source", "license"):
        if getattr(t, name):
            common[name] = getattr(t, name)
    texts = [p.text if private else p.public_text for p in passages]
    docs = []
    for position, (p, offset) in enumerate(zip(passages, offsets, strict=True)):
        doc = dict(common)
        doc.update(
            key=f"{t.id}/{p.id}",
            passage=p.id,
            position=position,
            offset=offset,
            text=texts[position],
        )
        if position > 0:
            doc["before"] = texts[position - 1][-CONTEXT_CHARS:]
        if position + 1 < len(texts):
            doc["after"] = texts[position + 1][:CONTEXT_CHARS]
        themes = list(dict.fromkeys((*p.themes, *t.themes)))
        if themes:
            doc["themes"] = " ".join(themes)
        if p.themes:
            doc["passage_themes"] = " ".join(dict.fromkeys(p.themes))
        if p.speaker:
            doc["speaker"] = p.speaker
        if p.time is not None and t.media:
            doc.update(start=p.time.start, end=p.time.end, recording=p.time.recording)
        docs.append(_complete(doc, vocabulary))
    return docs


def _complete(stored: dict, vocabulary: Vocabulary) -> dict:
    """Add the indexed-only fields to a document's stored fields.

    Updates rebuild documents from their stored fields through here, so a
    rewritten segment gets the same documents a fresh build would.
    """
    doc = dict(stored)
    name = text_field(doc["language"])
    doc[name] = doc[pairs_field(name)] = doc["text"]
    if not doc.get(TERMS) and doc["text"]:  # new, or read from a segment without the columns
        terms, offsets = analyze_spans(doc["text"], doc["language"])
        doc.update({TERMS: pack_terms(terms), TERM_OFFSETS: pack_offsets(offsets)})
    themes = doc.get("themes", "").split()
    if themes:
        doc["theme_tree"] = " ".join(vocabulary.with_broader(themes))
    own = doc.get("passage_themes", "").split()
    if own:
        doc["passage_theme_tree"] = " ".join(vocabulary.with_broader(own))
    date = doc.get("date")
    if date:
        year, month, day = (int(part) for part in (date.split("-") + ["1", "1"])[:3])
        doc.update(date_sort=year * 10000 + month * 100 + day, year=year)
        doc["decade"] = decade_of(year)
    else:
        doc["date_sort"] = 0
    return doc


# --- report ----------------------------------------------------------------------


@dataclass
class IndexReport:
    """What one run did to one index (``private`` holds the private index's report)."""

    index: str  # "public" or "private"
    mode: str  # "full", "incremental" or "unchanged"
    reason: str  # why this mode
    added: int = 0  # testimonies indexed that were not before
    updated: int = 0  # changed since the last run, indexed again
    removed: int = 0  # were indexed; are gone, withheld or invalid now
    unchanged: int = 0
    withheld: int = 0  # valid but not public (restricted, embargoed): not in this index
    withdrawn: int = 0  # removed or changed so that old text had to be purged
    testimonies: int = 0  # in the index now
    passages: int = 0  # documents in the index now
    segments: int = 0
    seconds: float = 0.0
    generation: Path | None = None
    errors: list[ValidationError] = field(default_factory=list)
    private: IndexReport | None = None

    def as_dict(self) -> dict:
        skip = ("errors", "private")
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        data["generation"] = str(self.generation) if self.generation else None
        data["seconds"] = round(self.seconds, 3)
        data["errors"] = [e.as_dict() for e in self.errors]
        if self.private is not None:
            data["private"] = self.private.as_dict()
        return data


# --- readers ---------------------------------------------------------------------


def current_generation(path: str | Path) -> str | None:
    """Name of the live generation of an index directory (``gen-000012``), or None.

    Cheap enough to call per request: one small file read.
    """
    try:
        name = (Path(path) / CURRENT).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name if GEN_RE.match(name) else None


def indexed_testimonies(path: str | Path) -> dict[str, str] | None:
    """``{testimony id: content hash}`` of what the live generation holds, or None.

    Lets a reader check the index against the testimonies it is about to
    show: a file restricted or redacted since the last ``archive index`` must
    not stay findable.
    """
    name = current_generation(path)
    manifest = _read_manifest(Path(path) / name) if name else None
    if manifest is None:
        return None
    # The file's own hash: a version of an account has its shared status appended.
    return {
        entry["id"]: entry["hash"].split(":", 1)[0]
        for entry in manifest.get("testimonies", {}).values()
    }


def _read_manifest(directory: Path) -> dict | None:
    try:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _compatible(manifest: dict | None, kind: str | None = None) -> bool:
    return (
        manifest is not None
        and manifest.get("format") == MANIFEST_FORMAT
        and manifest.get("schema") == SCHEMA_VERSION
        and manifest.get("analysis") == ANALYSIS_VERSION
        and (kind is None or manifest.get("kind") == kind)
    )


class IndexHandle:
    """One generation of an index, opened once and held by a reading process.

    The Whoosh reader is opened here and kept: its segment files stay mapped
    even after a later update deletes the generation directory, so searches
    through :meth:`searcher` keep working until the holder notices
    :meth:`is_stale` and opens the new generation.
    """

    def __init__(self, path: Path, generation: str) -> None:
        self.path = path
        self.generation = generation
        self.directory = path / generation
        if not self.directory.is_dir():
            raise FileNotFoundError(self.directory)
        self.manifest = _read_manifest(self.directory)
        if not _compatible(self.manifest):
            raise IndexError_(
                f"{path}: the index was built by another version of the archive",
                hint="run 'archive index --full'",
            )
        try:
            self.index = FileIndex(MappedStorage(str(self.directory)), schema(), INDEXNAME)
            self.reader = self.index.reader()
        except EmptyIndexError:
            raise FileNotFoundError(self.directory) from None
        self.schema = self.index.schema

    @property
    def kind(self) -> str:
        """``public`` or ``private``."""
        return self.manifest["kind"]

    @property
    def doc_count(self) -> int:
        return self.reader.doc_count()

    def searcher(self, **kwargs) -> Searcher:
        """A searcher over the held reader; closing it leaves the reader open."""
        return Searcher(self.reader, fromindex=self.index, closereader=False, **kwargs)

    def is_stale(self) -> bool:
        """True once another generation has been swapped in: reopen with :func:`open_index`."""
        return current_generation(self.path) != self.generation

    def close(self) -> None:
        if not self.reader.is_closed:
            self.reader.close()

    def __enter__(self) -> IndexHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<IndexHandle {self.directory}>"


def open_index(path: str | Path) -> IndexHandle:
    """Open the live generation of an index directory for reading."""
    path = Path(path)
    for _ in range(5):
        generation = current_generation(path)
        if generation is None:
            raise IndexError_(f"no search index in {path}", hint="run 'archive index'")
        try:
            return IndexHandle(path, generation)
        except FileNotFoundError:
            # Pruned between reading CURRENT and opening it: read CURRENT again.
            time.sleep(0.05)
    raise IndexError_(f"{path}: the index keeps changing while opening it", hint="try again")


def ensure_index(config: Config) -> IndexReport | None:
    """Build the public index when it is missing or unreadable; None when it was fine.

    For ``archive serve`` on first start: an existing index is used as it
    is, however old (``archive index`` updates it).
    """
    generation = current_generation(config.public_index)
    if generation is not None and _compatible(
        _read_manifest(config.public_index / generation), "public"
    ):
        return None
    return build_index(config)


# --- writer lock -----------------------------------------------------------------


@contextmanager
def _writer_lock(directory: Path, timeout: float) -> Iterator[None]:
    """Exclusive right to write ``directory``, released by the kernel if we die."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                    raise IndexBusyError(
                        f"{directory}: another 'archive index' "
                        f"(pid {holder or 'unknown'}) is writing this index",
                        hint="wait for it to finish, then run the command again",
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing drops the flock


# --- files on disk ---------------------------------------------------------------


def _fsync_path(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            _fsync_path(Path(dirpath) / name)
        _fsync_path(Path(dirpath), directory=True)


def _write_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_path(path.parent, directory=True)


def _link_copy(source: Path, target: Path) -> None:
    """Start a generation from another one's files: hard links, as Whoosh never edits a file."""
    target.mkdir()
    for entry in os.scandir(source):
        if not entry.is_file(follow_symlinks=False) or entry.name == MANIFEST:
            continue
        if entry.name.endswith("LOCK"):
            continue
        try:
            os.link(entry.path, target / entry.name)
        except OSError:
            shutil.copy2(entry.path, target / entry.name)


def _vocabulary_hash(vocabulary: Vocabulary) -> str:
    """What of the vocabulary the index depends on: the slugs and the broader tree."""
    tree = sorted((t.slug, t.broader or "") for t in vocabulary.themes.values())
    return hashlib.sha256(json.dumps(tree).encode()).hexdigest()


def _token(salt: str, name: str, content_hash: str) -> str:
    """An opaque mark for a withheld file version: says nothing about its name."""
    return hashlib.sha256(f"{salt}\0{name}\0{content_hash}".encode()).hexdigest()


# --- turning files into documents (runs in worker processes too) ---------------


@dataclass
class _Entry:
    """One valid testimony file as this run saw it."""

    name: str  # file name, "<id>.md"
    hash: str
    id: str
    included: bool  # in this index (public now, or any in the private index)
    passages: int
    until: str | None  # embargo end (last day) for an embargoed testimony
    stat: list[int] | None = None  # [size, mtime_ns] seen before the file was read


def _bound_hash(content_hash: str, binding: tuple | None) -> str:
    """A file's hash for the manifest, with the status its account imposes on it (if
    any): a change of the original's status then reprocesses its translations."""
    return content_hash if binding is None else f"{content_hash}:{binding[0]}:{binding[1]}"


def _process(
    item: str | Testimony,
    vocabulary: Vocabulary,
    today: dt.date,
    private: bool,
    bindings: dict | None = None,
) -> tuple[_Entry | None, list[dict], list[ValidationError]]:
    """Parse one file (unless given parsed) and make its documents if it belongs here."""
    stat = None
    if isinstance(item, Testimony):  # from a loaded archive: its account already applied
        t = item
        binding = (bindings or {}).get(t.id)
        if binding is not None:
            t = replace(t, content_hash=_bound_hash(t.content_hash, binding))
    else:
        stat = _file_stat(item)  # before reading: a later write changes it
        try:
            t = parse_file(item, vocabulary)
        except ValidationErrors as exc:
            return None, [], exc.errors
        binding = (bindings or {}).get(t.id)
        if binding is not None:  # a translation shares its account's status (FORMAT 1.1)
            t = replace(
                t,
                status=binding[0],
                publish_after=binding[1],
                content_hash=_bound_hash(t.content_hash, binding),
            )
    included = private or t.is_public(today)
    docs = _documents(t, vocabulary, private) if included else []
    until = None
    if t.status == "embargoed" and t.publish_after is not None:
        until = t.publish_after.last_day.isoformat()
    entry = _Entry(t.path.name, t.content_hash, t.id, included, len(docs), until, stat)
    return entry, docs, []


#: A file modified this recently may be written again within the same mtime tick
#: without its size changing: its stat is not recorded, so the next run hashes it.
RACY_NS = 2_000_000_000


def _file_stat(path: str | Path) -> list[int] | None:
    """``[size, mtime_ns]`` of a file, or None when unreadable or too fresh to trust."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if time.time_ns() - st.st_mtime_ns < RACY_NS:
        return None
    return [st.st_size, st.st_mtime_ns]


_progress: multiprocessing.SimpleQueue | None = None


def _worker_init(progress: multiprocessing.SimpleQueue | None) -> None:
    global _progress
    _progress = progress
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """Stop a worker whose main process was killed, even in the middle of a commit.

    Workers inherit the writer lock's open file, so the next run waits for
    them; this makes that wait a fraction of a second.
    """
    while os.getppid() == parent:
        time.sleep(0.1)
    os._exit(1)


@dataclass
class _SegmentResult:
    segment: object | None  # a Whoosh segment written into the generation directory
    entries: list[_Entry]
    errors: list[ValidationError]


# --- the segment format ---------------------------------------------------------------
#
# Whoosh's W3 format, with nothing inflated on the way to a hit: Whoosh compresses each
# posting block and each document's stored fields with zlib. A search reads tens of
# blocks and 20 documents' fields; inflating them took about an eighth of its time,
# for an index about a quarter smaller. Each segment names the codec it was written
# with (in the table of contents), so segments of either format read correctly; an
# index of an earlier SCHEMA_VERSION is rebuilt anyway, and an earlier version of the
# archive refuses this one by its manifest rather than fail on an unknown codec.

#: Stored fields: pickled, not compressed (Whoosh: PickleColumn(CompressedBytesColumn())).
STORED_COLUMN = columns.PickleColumn(columns.VarBytesColumn())
#: Posting blocks: zlib level 0, which Whoosh's block header records as "not compressed".
POSTING_COMPRESSION = 0


class _PerDocWriter(W3PerDocWriter):
    def _create_column(self, fieldname: str, column: Any) -> None:
        super()._create_column(fieldname, STORED_COLUMN if fieldname == "_stored" else column)


class _PerDocReader(W3PerDocReader):
    def stored_fields(self, docnum: int) -> dict:
        value = self._cached_reader("_stored", STORED_COLUMN)[docnum]
        return {} if value is None else value


class ArchiveCodec(W3Codec):
    """W3, with posting blocks and stored fields left uncompressed."""

    def __init__(self) -> None:
        super().__init__(compression=POSTING_COMPRESSION)

    def per_document_writer(self, storage: Any, segment: Any) -> _PerDocWriter:
        return _PerDocWriter(self, storage, segment)

    def per_document_reader(self, storage: Any, segment: Any) -> _PerDocReader:
        return _PerDocReader(storage, segment)


def _segment_writer(ix: FileIndex) -> SegmentWriter:
    """A writer of one new segment of ``ix``, in the files and format this archive reads."""
    return SegmentWriter(ix, _lk=False, limitmb=LIMIT_MB, compound=False, codec=ArchiveCodec())


def _write_segment(
    directory: str,
    items: list,
    vocabulary: Vocabulary,
    today: dt.date,
    private: bool,
    bindings: dict | None = None,
) -> _SegmentResult:
    """Parse ``items`` and write their documents as one new segment of ``directory``.

    Runs in a worker process during a full build: parsing and analysis both
    happen here, beside the other workers; the main process only collects
    the segments and writes the table of contents.
    """
    ix = FileIndex(FileStorage(directory), schema(), INDEXNAME)
    # Workers share the directory; the caller holds the real writer lock.
    writer = _segment_writer(ix)
    entries, errors = [], []
    for item in items:
        entry, docs, errs = _process(item, vocabulary, today, private, bindings)
        errors += errs
        if entry is not None:
            entries.append(entry)
        for doc in docs:
            writer.add_document(**doc)
        if _progress is not None:
            _progress.put(1)
    if writer.docnum:
        segment = writer._finalize_segment()
    else:
        writer._close_segment()  # its empty files are removed by clean_files
        segment = None
    # Not writer._finish(): that deletes the temporary directory the other
    # workers are still using; the main process removes it.
    return _SegmentResult(segment, entries, errors)


def _partition(items: list, sizes: list[int], parts: int) -> list[list]:
    """Split in order into ``parts`` runs of about equal size."""
    total = sum(sizes) or 1
    runs: list[list] = [[] for _ in range(parts)]
    done = 0
    for item, size in zip(items, sizes, strict=True):
        index = min(parts - 1, int(done * parts / total))
        runs[index].append(item)
        done += size
    return [r for r in runs if r]


def _worker_count() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cores))


def _pool_context() -> multiprocessing.context.BaseContext:
    # fork is cheapest and lets workers share the writer lock's open file (so
    # the lock outlives a killed main process until its workers have stopped
    # too); a threaded caller (a web server) gets forkserver instead.
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver")


# --- the builder -----------------------------------------------------------------


@dataclass
class _Source:
    """The testimonies to index: a directory to read, or an archive already loaded."""

    vocabulary: Vocabulary
    directory: Path | None = None
    archive: Archive | None = None
    #: Testimony id -> the status its account imposes (a loaded archive has applied them).
    bindings: dict = field(default_factory=dict)

    def items(self) -> tuple[list, list[int]]:
        """Every work item with its size, in file-name order."""
        if self.archive is not None:
            ts = sorted(self.archive.testimonies.values(), key=lambda t: t.path.name)
            return ts, [sum(len(p.text) for p in t.passages) + 200 for t in ts]
        paths = list(iter_testimony_files(self.directory))
        sizes = []
        for p in paths:
            try:
                sizes.append(p.stat().st_size)
            except OSError:
                sizes.append(0)
        return [str(p) for p in paths], sizes

    def hashes(
        self, known: dict[str, dict] | None = None
    ) -> dict[str, tuple[str, str | Testimony, list[int] | None]]:
        """File name -> (content hash, work item, stat) for every current file.

        A file whose size and modification time are those recorded in
        ``known`` (the live manifest's entries) is not read again: its
        recorded hash stands, so an update with nothing changed costs one
        stat per file.
        """
        if self.archive is not None:
            return {
                t.path.name: (_bound_hash(t.content_hash, self.bindings.get(t.id)), t, None)
                for t in self.archive.testimonies.values()
            }
        known = known or {}
        result = {}
        for p in iter_testimony_files(self.directory):
            stat = _file_stat(p)
            entry = known.get(p.name)
            if stat is not None and entry is not None and entry.get("stat") == stat:
                # The file is unchanged, its account's status may not be: bind it anew.
                digest = entry["hash"].split(":")[0]
                result[p.name] = (_bound_hash(digest, self.bindings.get(p.stem)), str(p), stat)
                continue
            try:  # never a plain read: the name may be a FIFO or a link to /dev/zero
                digest = hashlib.sha256(read_regular_file(p, self.directory)).hexdigest()
                result[p.name] = (_bound_hash(digest, self.bindings.get(p.stem)), str(p), stat)
            except (OSError, UnsafeFile):
                result[p.name] = ("", str(p), None)  # unreadable: parse_file reports it
        return result

    def archive_errors(self) -> list[ValidationError]:
        return list(self.archive.errors) if self.archive is not None else []


def _still_public(old_docs: list[dict], new_docs: list[dict]) -> bool:
    """Does the new version hold everything the old version's documents hold?

    True makes the change an addition: the old documents may linger in
    segment files, marked deleted, since nothing in them is withdrawn. Each
    old passage must be inside a single new passage so that the relation is
    transitive over a chain of such updates.
    """
    if not new_docs:
        return False
    new_texts = [d["text"] for d in new_docs]
    themes = {slug for d in new_docs for slug in d.get("themes", "").split()}
    # An author's passage id is words too (it may name a place or a unit): renamed, the
    # old one must leave the files. A derived one is a hash of text still there.
    passage_ids = {d["passage"] for d in new_docs}
    for old in old_docs:
        if any(old.get(name) != new_docs[0].get(name) for name in SAME_FIELDS):
            return False
        if old["passage"] not in passage_ids and not looks_derived(old["passage"]):
            return False
        if not set(old.get("themes", "").split()) <= themes:
            return False
        for value in (old.get("text", ""), old.get("speaker") or ""):
            if not any(value in text for text in new_texts):
                return False
    return True


class _Builder:
    """One run over one index directory, holding its writer lock."""

    def __init__(
        self, directory: Path, kind: str, source: _Source, today: dt.date, progress: bool
    ) -> None:
        self.dir = directory
        self.kind = kind
        self.private = kind == "private"
        self.source = source
        self.today = today
        self.progress = progress
        self.vocab_hash = _vocabulary_hash(source.vocabulary)
        self.fallback = ""  # why an update turned into a full build

    # -- bookkeeping ---------------------------------------------------------------

    def recover(self) -> tuple[str | None, dict | None]:
        """Remove what a killed run left; return the live generation and its manifest."""
        live = current_generation(self.dir)
        if live is not None and not (self.dir / live).is_dir():
            live = None
        manifest = _read_manifest(self.dir / live) if live else None
        keep = {live, (manifest or {}).get("previous")}
        for entry in os.scandir(self.dir):
            if TMP_RE.match(entry.name) or (GEN_RE.match(entry.name) and entry.name not in keep):
                shutil.rmtree(entry.path, ignore_errors=True)
            elif entry.name == CURRENT + ".tmp":
                os.unlink(entry.path)
        return live, manifest

    def next_number(self) -> int:
        numbers = [0]
        for entry in os.scandir(self.dir):
            match = GEN_RE.match(entry.name) or TMP_RE.match(entry.name)
            if match:
                numbers.append(int(match.group(1)))
        return max(numbers) + 1

    def manifest(
        self, number: int, mode: str, entries: list[_Entry], salt: str, previous: str | None
    ) -> dict:
        included = sorted((e for e in entries if e.included), key=lambda e: e.name)
        withheld = [e for e in entries if not e.included]
        untils = [e.until for e in withheld if e.until]
        return {
            "format": MANIFEST_FORMAT,
            "kind": self.kind,
            "schema": SCHEMA_VERSION,
            "analysis": ANALYSIS_VERSION,
            "generation": number,
            "mode": mode,
            "built": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "today": self.today.isoformat(),
            "vocabulary": self.vocab_hash,
            "previous": previous,
            "salt": salt,
            "testimonies": {
                e.name: {
                    "id": e.id,
                    "hash": e.hash,
                    "passages": e.passages,
                    "until": e.until,
                    "stat": e.stat,
                }
                for e in included
            },
            "withheld": sorted(_token(salt, e.name, e.hash) for e in withheld),
            "withheld_until": min(untils) if untils else None,
        }

    def publish(self, tmp: Path, number: int, manifest: dict) -> Path:
        """Make ``tmp`` the live generation: durable first, then one atomic replace."""
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        _fsync_tree(tmp)
        final = self.dir / f"gen-{number:06d}"
        os.rename(tmp, final)
        _fsync_path(self.dir, directory=True)
        _write_durably(self.dir / CURRENT, f"{final.name}\n".encode("ascii"))
        keep = {final.name, manifest["previous"]}
        for entry in os.scandir(self.dir):
            if GEN_RE.match(entry.name) and entry.name not in keep:
                shutil.rmtree(entry.path, ignore_errors=True)
        return final

    def count(self, report: IndexReport, old: dict | None, entries: list[_Entry]) -> None:
        before = (old or {}).get("testimonies", {})
        now = {e.name: e for e in entries if e.included}
        for name, e in now.items():
            if name not in before:
                report.added += 1
            elif before[name]["hash"] != e.hash:
                report.updated += 1
            else:
                report.unchanged += 1
        report.removed = sum(1 for name in before if name not in now)
        report.withheld = sum(1 for e in entries if not e.included)
        report.testimonies = len(now)
        report.passages = sum(e.passages for e in now.values())

    # -- full build ----------------------------------------------------------------

    def full(self, report: IndexReport, old: dict | None, live: str | None) -> None:
        number = self.next_number()
        tmp = self.dir / f"tmp-{number:06d}-{os.getpid()}"
        tmp.mkdir()
        try:
            storage = FileStorage(str(tmp))
            storage.create_index(schema(), INDEXNAME)
            results = self.write_segments(str(tmp))
            segments = [r.segment for r in results if r.segment is not None]
            TOC(schema(), segments, 1).write(storage, INDEXNAME)
            clean_files(storage, INDEXNAME, 1, segments)
            shutil.rmtree(tmp / f"{INDEXNAME}.tmp", ignore_errors=True)
            entries = [e for r in results for e in r.entries]
            report.errors += [e for r in results for e in r.errors]
            self.count(report, old, entries)
            report.segments = len(segments)
            # Conservative: any change or removal may have withdrawn text, so the
            # previous generation is kept only after pure additions.
            report.withdrawn = report.removed + report.updated
            keep = old is not None and live is not None and not report.withdrawn
            manifest = self.manifest(
                number, "full", entries, secrets.token_hex(16), live if keep else None
            )
            report.generation = self.publish(tmp, number, manifest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def write_segments(self, directory: str) -> list[_SegmentResult]:
        items, sizes = self.source.items()
        args = (self.source.vocabulary, self.today, self.private, self.source.bindings)
        workers = _worker_count() if sum(sizes) > INLINE_BYTES else 1
        with self.progress_bar(len(items)) as advance:
            if workers <= 1:
                result = _write_segment(directory, items, *args)
                advance(len(items))
                return [result]
            parts = _partition(items, sizes, workers)
            context = _pool_context()
            progress = context.SimpleQueue() if self.progress else None
            with ProcessPoolExecutor(
                len(parts), mp_context=context, initializer=_worker_init, initargs=(progress,)
            ) as pool:
                futures = [pool.submit(_write_segment, directory, part, *args) for part in parts]
                pending = set(futures)
                while pending:
                    _done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    while progress is not None and not progress.empty():
                        advance(progress.get())
                return [f.result() for f in futures]

    def progress_bar(self, total: int) -> contextlib.AbstractContextManager[Callable[[int], None]]:
        return progress(total, f"Indexing ({self.kind})", enabled=self.progress and total >= 50)

    # -- incremental update ------------------------------------------------------------

    def full_reason(self, old: dict | None, full: bool) -> str | None:
        """Why this run cannot be an incremental update, or None when it can."""
        if full:
            return "--full"
        if old is None:
            return "no index yet"
        if not _compatible(old, self.kind):
            return "the index format changed"
        if old.get("vocabulary") != self.vocab_hash:
            return "the themes vocabulary changed"
        if not self.private:
            for entry in old["testimonies"].values():
                if entry["until"] and not self.today > dt.date.fromisoformat(entry["until"]):
                    return "an embargo decision changed"
            until = old.get("withheld_until")
            if until and self.today > dt.date.fromisoformat(until):
                return "an embargo decision changed"
        return None

    def incremental(self, report: IndexReport, old: dict, live: str) -> bool:
        """Apply the changes since ``old``; False when a full build is the better way."""
        before = old["testimonies"]
        salt = old["salt"]
        old_marks = set(old["withheld"])
        current = self.source.hashes(before)
        entries: list[_Entry] = []  # every valid file, as of this run
        to_process = []
        kept_withheld = False
        for name, (content_hash, item, stat) in current.items():
            entry = before.get(name)
            if entry is not None and entry["hash"] == content_hash:
                entries.append(
                    _Entry(
                        name,
                        content_hash,
                        entry["id"],
                        True,
                        entry["passages"],
                        entry["until"],
                        stat,
                    )
                )
            elif _token(salt, name, content_hash) in old_marks:
                entries.append(_Entry(name, content_hash, "", False, 0, None))
                kept_withheld = True
            else:
                to_process.append(item)  # new, changed, or invalid last time
        gone = sum(1 for name in before if name not in current)
        if len(to_process) + gone > max(20, len(before) * INCREMENTAL_LIMIT):
            self.fallback = "too many files changed for an update"
            return False
        new_docs: dict[str, list[dict]] = {}
        for item in to_process:
            entry, docs, errs = _process(
                item, self.source.vocabulary, self.today, self.private, self.source.bindings
            )
            report.errors += errs
            if entry is not None:
                entries.append(entry)
                if entry.included:
                    new_docs[entry.id] = docs
        self.count(report, old, entries)
        included = {e.name: e for e in entries if e.included}
        # Old documents to delete: removed, withheld now, invalid now, or changed.
        replaced = {
            before[name]["id"]
            for name in before
            if name not in included or included[name].hash != before[name]["hash"]
        }
        marks = sorted(_token(salt, e.name, e.hash) for e in entries if not e.included)
        if not replaced and not new_docs and marks == old["withheld"]:
            report.mode, report.reason = "unchanged", "no file changed"
            report.generation = self.dir / live
            report.segments = _segment_count(self.dir / live)
            return True
        number = self.next_number()
        tmp = self.dir / f"tmp-{number:06d}-{os.getpid()}"
        try:
            _link_copy(self.dir / live, tmp)
            withdrawn = self.rewrite(tmp, replaced, new_docs, report)
            if withdrawn is None:
                shutil.rmtree(tmp, ignore_errors=True)
                return False
            report.withdrawn = len(withdrawn)
            # The previous generation holds the withdrawn text: keep it only
            # when nothing was withdrawn.
            previous = None if withdrawn else live
            manifest = self.manifest(number, "incremental", entries, salt, previous)
            if kept_withheld and old.get("withheld_until"):
                # Unparsed withheld files keep the earliest embargo end seen before.
                dates = [d for d in (manifest["withheld_until"], old["withheld_until"]) if d]
                manifest["withheld_until"] = min(dates)
            report.generation = self.publish(tmp, number, manifest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        report.mode, report.reason = "incremental", "files changed"
        return True

    def rewrite(
        self,
        directory: Path,
        replaced: set[str],
        new_docs: dict[str, list[dict]],
        report: IndexReport,
    ) -> set[str] | None:
        """Update the Whoosh index in ``directory``; return the withdrawn testimony ids.

        Segments to rewrite (small ones, and every one naming a withdrawn
        testimony) are not merged with Whoosh's ``add_reader``: Whoosh files
        each segment's spelling words under document 0, not under the
        document they came from, so a merge would carry the spelling words
        of deleted documents along. Their live documents are added again
        from their stored fields and terms columns instead (Whoosh analyses
        their text fields afresh; their terms and offsets are copied).

        None means the update would rewrite too much, or leave too many
        segments: the caller does a full build instead.
        """
        storage = FileStorage(str(directory))
        ix = FileIndex(storage, schema(), INDEXNAME)
        writer = _segment_writer(ix)
        try:
            searcher = writer.searcher()
            withdrawn = set()
            for testimony_id in sorted(replaced):
                old_docs = list(searcher.documents(testimony=testimony_id))
                if not _still_public(old_docs, new_docs.get(testimony_id, [])):
                    withdrawn.add(testimony_id)
                writer.delete_by_term("testimony", testimony_id)
            rewriting = _segments_to_rewrite(storage, writer.segments, withdrawn)
            rewritten = sum(s.doc_count() for s in rewriting)
            adding = sum(len(d) for d in new_docs.values())
            total = sum(s.doc_count() for s in writer.segments) + adding
            segments = len(writer.segments) - len(rewriting) + bool(rewritten or adding)
            if segments > MAX_SEGMENTS:
                self.fallback = f"more than {MAX_SEGMENTS} segments: rebuilding to compact"
            elif rewritten > max(SMALL_SEGMENT_DOCS, total * INCREMENTAL_LIMIT):
                self.fallback = "withdrawn text is spread over a large part of the index"
            if self.fallback:
                writer.cancel()
                return None
            for segment in rewriting:
                reader = SegmentReader(storage, writer.schema, segment)
                try:
                    runs, spans = (
                        reader.column_reader(n, translate=False) for n in (TERMS, TERM_OFFSETS)
                    )
                    for docnum, stored in reader.iter_docs():  # live documents only
                        doc = {**stored, TERMS: runs[docnum], TERM_OFFSETS: spans[docnum]}
                        writer.add_document(**_complete(doc, self.source.vocabulary))
                finally:
                    reader.close()
            for docs in new_docs.values():
                for doc in docs:
                    writer.add_document(**doc)
        except BaseException:
            if not writer.is_closed:
                writer.cancel()
            raise
        dropped = {s.segment_id() for s in rewriting}
        writer.commit(mergetype=lambda _w, segs: [s for s in segs if s.segment_id() not in dropped])
        segments = FileIndex(storage, schema(), INDEXNAME)._read_toc().segments
        _check_withdrawn(storage, segments, withdrawn)
        report.segments = len(segments)
        return withdrawn

    # -- entry point ---------------------------------------------------------------

    def run(self, full: bool) -> IndexReport:
        started = time.perf_counter()
        live, old = self.recover()
        reason = self.full_reason(old, full) if live else "no index yet"
        report = IndexReport(self.kind, "incremental", "")
        report.errors += self.source.archive_errors()
        if reason is None and not self.incremental(report, old, live):
            reason = self.fallback
            report = IndexReport(self.kind, "full", reason)
            report.errors += self.source.archive_errors()
        if reason is not None:
            report.mode, report.reason = "full", reason
            self.full(report, old if _compatible(old, self.kind) else None, live)
        report.errors.sort(key=lambda e: (e.path, e.line or 0))
        report.seconds = time.perf_counter() - started
        return report


def _segment_count(directory: Path) -> int:
    return len(FileIndex(FileStorage(str(directory)), schema(), INDEXNAME)._read_toc().segments)


def _segments_to_rewrite(storage: FileStorage, segments: list, withdrawn: set[str]) -> list:
    """Small segments, and every segment that was ever written with a withdrawn testimony.

    A segment's term dictionary keeps the terms of its deleted documents, so
    ``testimony:<id>`` names every segment holding any version of it.
    """
    return [
        segment
        for segment in segments
        if segment.doc_count_all() < SMALL_SEGMENT_DOCS
        or (withdrawn and _names_any(storage, segment, withdrawn))
    ]


def _names_any(storage: FileStorage, segment, ids: set[str]) -> list[str]:
    reader = SegmentReader(storage, schema(), segment)
    try:
        return sorted(t for t in ids if ("testimony", t) in reader)
    finally:
        reader.close()


def _check_withdrawn(storage: FileStorage, segments: list, withdrawn: set[str]) -> None:
    """Refuse to publish if any segment file still holds a withdrawn testimony's old version."""
    for segment in segments:
        if not segment.has_deletions() or not withdrawn:
            continue  # a segment without deletions holds live documents only
        leftover = _names_any(storage, segment, withdrawn)
        if leftover:  # pragma: no cover - a safety net: _segments_to_rewrite prevents it
            raise IndexError_(
                f"withdrawn text of {', '.join(leftover)} is still in segment "
                f"{segment.segment_id()}",
                hint="run 'archive index --full'",
            )


# --- entry point -----------------------------------------------------------------


def _load_source(config: Config, archive: Archive | None) -> _Source:
    if archive is not None:
        bindings = {
            t.id: (t.status, t.publish_after)
            for t in archive.testimonies.values()
            if t.translation_of or archive.translations(t)
        }
        return _Source(archive.vocabulary, archive=archive, bindings=bindings)
    if not config.testimonies.is_dir():
        raise IndexError_(
            f"{config.testimonies}: no such directory",
            hint="set --testimonies DIR or ARCHIVE_TESTIMONIES",
        )
    # A broken themes.yaml stops the run (ValidationErrors): indexing without
    # it would drop every testimony that uses a theme from the public index.
    return _Source(
        load_vocabulary(config.testimonies),
        directory=config.testimonies,
        bindings=account_statuses(config.testimonies),
    )


def build_index(
    config: Config,
    archive: Archive | None = None,
    *,
    full: bool = False,
    include_restricted: bool = False,
    progress: bool = False,
    lock_timeout: float = LOCK_TIMEOUT,
) -> IndexReport:
    """Bring the public index (and with ``include_restricted`` the private one) up to date.

    Reads ``config.testimonies`` unless an already loaded ``archive`` is
    given. Files with errors are skipped and listed in ``report.errors``;
    the index is still built from the others. Raises :class:`IndexBusyError`
    when another process keeps writing the same index for ``lock_timeout``
    seconds.
    """
    source = _load_source(config, archive)
    today = config.today_or_now()
    targets = [(config.public_index, "public")]
    if include_restricted:
        targets.append((config.private_index, "private"))
    reports = []
    for directory, kind in targets:
        if kind == "private":  # restricted and redacted text: readable by its owner only
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            directory.chmod(0o700)
        try:
            with _writer_lock(directory, lock_timeout):
                reports.append(_Builder(directory, kind, source, today, progress).run(full))
        except OSError as exc:  # a full disk, a read-only mount: a message, not a traceback
            raise _write_error(directory, exc) from None
    report = reports[0]
    if include_restricted:
        report.private = reports[1]
    return report


def _write_error(directory: Path, exc: OSError) -> IndexError_:
    """What to tell a person whose index could not be written (the live one is untouched)."""
    kept = (
        "the previous one is still in use" if current_generation(directory) else "none exists yet"
    )
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return IndexError_(
            f"{directory}: the disk is full ({exc.strerror}); the index was not updated and {kept}",
            hint="free some space on that disk (or use --index DIR on another one), "
            "then run 'archive index' again",
        )
    return IndexError_(
        f"{exc.filename or directory}: cannot write the index ({exc.strerror or exc}); "
        f"the index was not updated and {kept}",
        hint="check that the index directory is writable, then run 'archive index' again",
    )
