"""Testimony-level relevance on judged queries, the archive's search beside three baselines.

Run: ``.venv/bin/python bench/bench_relevance.py [CORPUS_DIR] [--json FILE] [--keep DIR]``
(default: the shared WPA corpus; the bundled samples in ``testimonies/`` are
always used for the sample queries). ``bench/judged.yaml`` holds descriptive
sentences, names and remembered quotes with the testimonies judged relevant
by reading (its header says how). The WPA corpus and the samples are each
indexed with the real ``archive index`` code, and every query is run on the
index of its corpus by four engines over the same public passages.

The indexes are kept between runs under ``--keep DIR`` (default
``~/.cache/archive-bench-relevance``; ``--keep ''`` builds them in a temporary
directory and drops them), one directory per corpus and :func:`_fingerprint`:
the corpus's files (names, sizes, times) and the source of every module that
decides what gets indexed and how, so any change there builds them again.
Indexing the WPA corpus takes minutes; a run that reuses them says so.
The engines:

* ``archive``: :func:`archive.search.search` in the grouped view (each
  testimony once, as the search page lists them), pages walked until 10
  testimonies or the end of the results;
* ``fts5-and`` / ``fts5-or``: SQLite FTS5 (porter, bm25) with the query's
  words all required / ORed;
* ``whoosh-or``: a stock Whoosh index (``StemmingAnalyzer``) queried through
  a plain ``QueryParser`` with ``group=OrGroup`` (BM25F).

Passage hits collapse to distinct testimonies in rank order. recall@10 =
relevant among the first 10 testimonies / min(10, relevant); MRR = mean of
1 / rank of the first relevant testimony among those 10 (0 if none); quote
top-1 = share of quotes whose source testimony comes first. Reported per kind
and per split (``tune`` / ``holdout`` and ``fresh``, the parts nobody tunes on), with the
goals of issue 18. :func:`run` returns rows for ``bench/run``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import inspect
import json
import os
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml
from whoosh import fields as wf
from whoosh import index as windex
from whoosh.analysis import StemmingAnalyzer
from whoosh.qparser import OrGroup, QueryParser

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search import DEFAULT_CORPUS, ROOT, _fts5  # noqa: E402

from archive import analysis, fields, index, model, parse, redaction, themes, wordforms  # noqa: E402
from archive.config import resolve_config  # noqa: E402
from archive.errors import QueryError  # noqa: E402
from archive.index import SCHEMA_VERSION, build_index  # noqa: E402
from archive.parse import load_archive  # noqa: E402
from archive.search import open_search_index, search  # noqa: E402

JUDGED = Path(__file__).resolve().parent / "judged.yaml"
SAMPLES = ROOT / "testimonies"
ENGINES = ("archive", "fts5-and", "fts5-or", "whoosh-or")
KINDS = ("descriptive", "name", "quote")
SPLITS = ("tune", "holdout", "fresh", "all")
#: Issue 18's goals: recall@10 for descriptive queries and names, top-1 for quotes.
GOALS = {"descriptive": 0.80, "name": 0.90, "quote": 0.98}
DEPTH = 10
PAGE = 100
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "archive-bench-relevance"
#: What decides the indexes' content: how files are read, analysed and indexed.
INDEXING_MODULES = (index, analysis, fields, wordforms, parse, redaction, model, themes)
_COMPLETE = "complete"  # written last: a directory without it is a build cut short


def _distinct(pages) -> list[str]:
    """The first DEPTH distinct testimonies of pages of passage hits (testimony ids)."""
    seen: list[str] = []
    for page in pages:
        for testimony in page:
            if testimony not in seen:
                seen.append(testimony)
                if len(seen) == DEPTH:
                    return seen
        if len(page) < PAGE:
            break
    return seen


def _archive_pages(index, query: str):
    number = 1
    while True:
        try:
            results = search(index, query, page=number, per_page=PAGE, view="testimonies")
        except QueryError:  # a query the archive refuses finds nothing
            return
        yield [g.testimony for g in results.groups]
        if number >= results.pages:
            return
        number += 1


def _fts5_pages(db, query: str, op: str):
    match = f" {op} ".join(f'"{w}"' for w in re.findall(r"\w+", query))
    offset = 0
    while True:
        rows = db.execute(
            "SELECT testimony FROM p WHERE p MATCH ? ORDER BY rank LIMIT ? OFFSET ?",
            (match, PAGE, offset),
        ).fetchall()
        yield [t for (t,) in rows]
        offset += PAGE


def _whoosh(archive, directory: Path):
    schema = wf.Schema(testimony=wf.ID(stored=True), text=wf.TEXT(analyzer=StemmingAnalyzer()))
    ix = windex.create_in(str(directory), schema)
    with ix.writer(limitmb=256) as writer:
        for t in sorted(archive.public(), key=lambda t: t.id):
            for p in t.passages:
                writer.add_document(testimony=t.id, text=p.public_text)
    return ix


def _whoosh_pages(searcher, parser, query: str):
    parsed = parser.parse(query)
    number = 1
    while True:
        page = searcher.search_page(parsed, number, pagelen=PAGE)
        yield [hit["testimony"] for hit in page]
        if page.is_last_page():
            return
        number += 1


def _fingerprint(corpus: Path) -> str:
    """A hash of what the indexes of ``corpus`` are built from: every file under it
    (path, size, modification time), the indexing code, SCHEMA_VERSION, Whoosh's
    version and the baselines' own builders."""
    h = hashlib.sha256()
    for path in sorted(corpus.rglob("*")):
        if path.is_file():
            st = path.stat()
            h.update(f"{path.relative_to(corpus)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    for module in INDEXING_MODULES:
        h.update(Path(module.__file__).read_bytes())
    h.update(f"schema {SCHEMA_VERSION}\n".encode())
    h.update(importlib.metadata.version("whoosh-reloaded").encode())
    for builder in (_whoosh, _fts5):
        h.update(inspect.getsource(builder).encode())
    return h.hexdigest()[:20]


def _build(corpus: Path, where: Path, log) -> None:
    """The archive's index, the stock Whoosh index and the FTS5 database of a corpus."""
    archive = load_archive(corpus)
    config = resolve_config(testimonies=corpus, index=where / "index")
    started = time.perf_counter()
    report = build_index(config, archive, full=True)
    log(
        f"{corpus.name}: indexed {report.passages} passages in {time.perf_counter() - started:.0f} s"
    )
    (where / "whoosh").mkdir()
    _whoosh(archive, where / "whoosh").close()
    memory = _fts5(archive)
    disk = sqlite3.connect(where / "fts5.sqlite")
    memory.backup(disk)
    disk.close()
    memory.close()
    (where / _COMPLETE).write_text(f"{corpus}\n", "utf-8")


def _built(corpus: Path, keep: Path | None, tmp: Path, log) -> Path:
    """The directory holding the indexes of ``corpus``: reused from ``keep`` when its
    fingerprint matches, else built (in ``keep``, replacing older builds of the corpus)."""
    if keep is None:
        where = tmp / corpus.name
        where.mkdir()
        _build(corpus, where, log)
        return where
    digest = _fingerprint(corpus)
    where = keep / f"{corpus.name}-{digest}"
    if (where / _COMPLETE).is_file():
        log(f"{corpus.name}: reusing the indexes in {where} (fingerprint {digest})")
        return where
    keep.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{corpus.name}-", dir=keep))
    try:
        _build(corpus, building, log)
        shutil.rmtree(where, ignore_errors=True)
        building.rename(where)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    for old in keep.glob(f"{corpus.name}-*"):  # earlier builds of this corpus
        if old != where:
            shutil.rmtree(old, ignore_errors=True)
    log(f"{corpus.name}: kept the indexes in {where}")
    return where


def _engines(corpus: Path, keep: Path | None, tmp: Path, log) -> tuple[dict, list]:
    """Every engine over one corpus's indexes: {engine: query -> testimonies}, closers."""
    where = _built(corpus, keep, tmp, log)
    index = open_search_index(
        resolve_config(testimonies=corpus, index=where / "index").public_index
    )
    db = sqlite3.connect(f"file:{where / 'fts5.sqlite'}?mode=ro", uri=True)
    ix = windex.open_dir(str(where / "whoosh"))
    parser = QueryParser("text", ix.schema, group=OrGroup)
    searcher = ix.searcher()
    engines = {
        "archive": lambda q: _distinct(_archive_pages(index, q)),
        "fts5-and": lambda q: _distinct(_fts5_pages(db, q, "AND")),
        "fts5-or": lambda q: _distinct(_fts5_pages(db, q, "OR")),
        "whoosh-or": lambda q: _distinct(_whoosh_pages(searcher, parser, q)),
    }
    return engines, [index.close, db.close, searcher.close, ix.close]


def _score(found: list[str], relevant: list[str]) -> tuple[float, float, bool]:
    rank = next((i for i, t in enumerate(found, start=1) if t in relevant), None)
    recall = len(set(found) & set(relevant)) / min(DEPTH, len(relevant))
    return recall, (1 / rank if rank else 0.0), rank == 1


def measure(corpus: Path = DEFAULT_CORPUS, *, log=print, keep: Path | None = CACHE) -> dict:
    """{engine: {kind: {split: {"n", "recall@10", "MRR", "top-1"}}}} plus per-query rankings.

    ``keep``: where built indexes are kept and reused (None: a temporary directory)."""
    judged = yaml.safe_load(JUDGED.read_text(encoding="utf-8"))["queries"]
    scores: dict = {e: {k: {s: [] for s in SPLITS} for k in KINDS} for e in ENGINES}
    rankings = []
    with tempfile.TemporaryDirectory(prefix="bench-relevance-") as tmp:
        closers = []
        try:
            by_corpus = {}
            for name, path in (("wpa", corpus), ("samples", SAMPLES)):
                by_corpus[name], closing = _engines(path, keep, Path(tmp), log)
                closers += closing
            for item in judged:
                found = {e: fn(item["query"]) for e, fn in by_corpus[item["corpus"]].items()}
                rankings.append({"query": item["query"], "kind": item["kind"], **found})
                for engine, testimonies in found.items():
                    score = _score(testimonies, item["relevant"])
                    for split in (item["split"], "all"):
                        scores[engine][item["kind"]][split].append(score)
        finally:
            for close in closers:
                close()
    summary = {
        e: {
            k: {
                s: {
                    "n": len(v),
                    "recall@10": statistics.mean(x[0] for x in v),
                    "MRR": statistics.mean(x[1] for x in v),
                    "top-1": statistics.mean(x[2] for x in v),
                }
                for s, v in by_split.items()
                if v
            }
            for k, by_split in by_kind.items()
        }
        for e, by_kind in scores.items()
    }
    return {"summary": summary, "rankings": rankings}


def _goal(kind: str, metric: str) -> str:
    wanted = "top-1" if kind == "quote" else "recall@10"
    return f">= {GOALS[kind]:.2f}" if metric == wanted else ""


def _lines(summary: dict) -> list[tuple[str, str, str, str, dict]]:
    """(kind, split, n, metric, {engine: value}) for every reported cell."""
    lines = []
    for kind in KINDS:
        for metric in ("recall@10", "MRR", *(("top-1",) if kind == "quote" else ())):
            for split in SPLITS:
                cell = summary["archive"][kind].get(split)
                if cell:
                    values = {e: summary[e][kind][split][metric] for e in ENGINES}
                    lines.append((kind, split, str(cell["n"]), metric, values))
    return lines


def run(corpus: str | Path = DEFAULT_CORPUS, *, log=print) -> list[dict]:
    """Rows for bench/run: the archive's result, FTS5 OR as baseline, every engine in ``engines``."""
    summary = measure(Path(corpus), log=log)["summary"]
    rows = []
    for kind, split, n, metric, values in _lines(summary):
        goal = _goal(kind, metric)
        if not goal and split != "all":  # the full split table is the script's own output
            continue
        result, base = values["archive"], values["fts5-or"]
        rows.append({
            "measure": f"{kind} {metric} ({split}, {n})",
            "result": round(result, 3),
            "baseline": round(base, 3),
            "ratio": round(result / base, 3) if base else None,
            "goal": goal or "report",
            "passed": result >= GOALS[kind] - 1e-9 if goal else None,
            "engines": {e: round(v, 3) for e, v in values.items()},
        })  # fmt: skip
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--json", type=Path, help="also write scores and rankings to this file")
    parser.add_argument(
        "--keep",
        default=str(CACHE),
        help="keep and reuse the built indexes here ('' for a temporary directory; default %(default)s)",
    )
    args = parser.parse_args(argv)
    keep = Path(args.keep).expanduser().resolve() if args.keep else None
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    result = measure(args.corpus.resolve(), log=log, keep=keep)
    header = ("kind", "split", "n", "measure", *ENGINES, "goal")
    rows = [
        (k, s, n, m, *(f"{v[e]:.3f}" for e in ENGINES), _goal(k, m))
        for k, s, n, m, v in _lines(result["summary"])
    ]
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    for r in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
