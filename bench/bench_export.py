"""Static export: time against Pagefind alone, bytes a search costs in a browser, export size.

Run: ``.venv/bin/python bench/bench_export.py [--corpus DIR]`` (default: the
shared WPA corpus).

* export time: ``archive export`` of the whole corpus (read and validate,
  render every page through the app, Pagefind, leak check; no link check),
  against Pagefind alone indexing the very same testimony pages afterwards,
  through the same Python API and settings, in the same run; the fastest of
  two runs of each. Goal: at most 2x Pagefind alone.
* bytes per search: the export is served from a local static file server;
  a fresh Chromium context (empty cache) opens the search page for each
  typical query and waits for the results; every response is summed as sent
  (headers and encoded body: HTML, CSS, scripts, Pagefind's script,
  WebAssembly, meta, index chunks, filters and the fragments of the shown
  results). Measured twice: with text compressed as web hosts do (gzip for
  HTML, CSS, JavaScript and JSON; Pagefind's index files are compressed
  already) and from a plain server that compresses nothing, as ``python -m
  http.server`` does. Also reported: a further search in the same tab (the
  site's assets cached). Goal: the median query at most 250 KB.
* export size: bytes and files of the export, against the corpus' Markdown.

:func:`run` returns one dict per measure (measure, result, baseline, ratio,
goal, passed), for a combined benchmark runner.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import gzip
import http.server
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.config import resolve_config  # noqa: E402
from webapp.publish.export import export_site  # noqa: E402
from webapp.publish.pagefind import PAGEFIND_GLOB  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "wpa"
QUERIES = ("cotton", "patrollers", "freedom came", "church meeting", "old master")
NOW = dt.date(2025, 6, 1)
#: Search links are root-relative, so any origin serves; the sub-path is what matters.
BASE_URL = "https://example.org/archive/"
TIME_GOAL = 2.0
#: Both the export and Pagefind alone are timed this many times; the fastest of each counts.
RUNS = 2
BYTES_GOAL = 250_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


def _pagefind_alone(site: Path, output: Path) -> float:
    """Seconds Pagefind takes to index the export's testimony pages on its own."""
    from pagefind.index import IndexConfig, PagefindIndex

    async def index() -> None:
        config = IndexConfig(output_path=str(output), force_language="en")
        async with PagefindIndex(config=config) as pagefind:
            await pagefind.add_directory(str(site), glob=PAGEFIND_GLOB)

    start = time.perf_counter()
    asyncio.run(index())
    return time.perf_counter() - start


class _Handler(http.server.SimpleHTTPRequestHandler):
    """A static file server; with ``gzip`` on, it compresses text as web hosts do."""

    gzip = False
    cache: dict[str, bytes] = {}
    TEXT = (".html", ".css", ".js", ".json", ".xml", ".svg", ".txt")

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's API
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        wanted = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (self.gzip and wanted and path.suffix in self.TEXT and path.is_file()):
            super().do_GET()
            return
        modified = self.date_time_string(int(path.stat().st_mtime))
        if self.headers.get("If-Modified-Since") == modified:
            self.send_response(304)  # revalidated from the browser's cache, as hosts answer
            self.end_headers()
            return
        body = self.cache.get(str(path))
        if body is None:
            body = self.cache[str(path)] = gzip.compress(path.read_bytes(), mtime=0)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Last-Modified", modified)
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def _serving(www: Path, compress: bool) -> Iterator[str]:
    handler = type("Handler", (_Handler,), {"gzip": compress, "cache": {}})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(www))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _transferred(response) -> int:
    """Bytes of a response on the wire, as Chromium counts them: headers and encoded body
    (nothing for a body served from the browser's cache)."""
    sizes = response.request.sizes()
    return sizes["responseBodySize"] + sizes["responseHeadersSize"]


def _search(page, url: str) -> tuple[int, int, int]:
    """(bytes, Pagefind's bytes, testimonies shown) of opening one search page."""
    responses = []

    def record(response) -> None:
        responses.append(response)

    page.on("response", record)
    page.goto(url)
    page.wait_for_selector(".result-count", timeout=60_000)
    page.wait_for_load_state("networkidle")
    page.remove_listener("response", record)
    total = pagefind = 0
    for response in responses:
        size = _transferred(response)
        total += size
        if "/pagefind/" in response.url:
            pagefind += size
    return total, pagefind, page.locator(".hit-group").count()


def _bytes_per_search(www: Path, compress: bool) -> tuple[list[tuple], list[int]]:
    """Per query on a cold cache: (query, bytes, Pagefind's bytes, shown); and the bytes of
    each later search in the same tab (warm cache)."""
    from playwright.sync_api import sync_playwright

    cold, warm = [], []
    with _serving(www, compress) as origin, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        for query in QUERIES:
            context = browser.new_context()
            page = context.new_page()
            url = f"{origin}/archive/search/?q={urllib.parse.quote(query)}"
            cold.append((query, *_search(page, url)))
            context.close()
        context = browser.new_context()
        page = context.new_page()
        for query in QUERIES:
            url = f"{origin}/archive/search/?q={urllib.parse.quote(query)}"
            size = _search(page, url)[0]
            if query != QUERIES[0]:
                warm.append(size)
        context.close()
        browser.close()
    return cold, warm


def _tree_size(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def run(corpus: Path = DEFAULT_CORPUS, log=None) -> list[dict]:
    """The measures as rows for ``bench/run``; ``log`` gets the details (stages, queries)."""
    say = log or (lambda message: None)
    corpus = Path(corpus)
    source = sum(p.stat().st_size for p in corpus.glob("*.md"))
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        tmp_path = Path(tmp)
        config = resolve_config(testimonies=corpus, index=tmp_path / "index")
        exports = []
        for attempt in range(RUNS):  # each into a directory of its own; the last is used
            www = tmp_path / f"www-{attempt}"
            site = www / "archive"
            start = time.perf_counter()
            report = export_site(site, config, base_url=BASE_URL, now=NOW)
            exports.append(time.perf_counter() - start)
            say(", ".join(f"{k} {v:.1f}s" for k, v in report.timings.items()))
        exported = min(exports)
        runs = [_pagefind_alone(site, tmp_path / f"pagefind-{i}") for i in range(RUNS)]
        alone = min(runs)
        say(f"export {', '.join(f'{t:.1f}' for t in exports)} s; "
            f"Pagefind alone {', '.join(f'{t:.1f}' for t in runs)} s")  # fmt: skip
        size, files = _tree_size(site)
        index_size, _ = _tree_size(site / "pagefind")
        plain, _ = _bytes_per_search(www, compress=False)
        compressed, warm = _bytes_per_search(www, compress=True)

    def row(searches: list[tuple], how: str) -> dict:
        for query, total, pagefind, shown in searches:
            say(f"{how}: {query!r} {total / 1000:.0f} KB, Pagefind {pagefind / 1000:.0f} KB, "
                f"{shown} testimonies shown")  # fmt: skip
        typical = statistics.median(total for _, total, _, _ in searches)
        pagefind = statistics.median(p for _, _, p, _ in searches)
        return {
            "measure": f"KB per search, cold cache, {how} (baseline: Pagefind's part)",
            "result": round(typical / 1000, 1),
            "baseline": round(pagefind / 1000, 1),
            "ratio": None,
            "goal": f"<= {BYTES_GOAL // 1000} KB",
            "passed": typical <= BYTES_GOAL,
        }

    return [
        {
            "measure": f"export s ({report.testimonies} testimonies, {report.pages} pages; "
            "baseline: Pagefind alone over them)",
            "result": round(exported, 1),
            "baseline": round(alone, 1),
            "ratio": round(exported / alone, 2),
            "goal": f"<= {TIME_GOAL:g}x",
            "passed": exported / alone <= TIME_GOAL,
        },
        row(compressed, "host gzips text"),
        row(plain, "plain server, no compression"),
        {
            "measure": "KB per further search in the same tab (gzip host)",
            "result": round(statistics.median(warm) / 1000, 1),
            "baseline": None,
            "ratio": None,
            "goal": None,
            "passed": None,
        },
        {
            "measure": f"export MB ({files} files, search index {index_size / 1e6:.1f} MB; "
            "baseline: testimony files)",
            "result": round(size / 1e6, 1),
            "baseline": round(source / 1e6, 1),
            "ratio": round(size / source, 1),
            "goal": None,
            "passed": None,
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    for row in run(args.corpus, log=lambda message: print(f"  {message}", file=sys.stderr)):
        print(" | ".join(f"{k}: {v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
