"""Load on the whole WPA corpus: searches and testimony pages while the index is rebuilt.

A real ``archive serve`` (waitress, 4 threads) over the 2,270 files answers
a fixed number of requests from client threads (``http.client``, keep-alive),
bounded in time, while another thread edits files and runs ``archive index``
(an update, a full rebuild, an update). Every answer must be a 200: the error
rate is 0. Latency percentiles are printed. The same server then gets the
abusive queries of ``test_hostile`` on the large index.

The corpus is copied and indexed once for the module (about a minute).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from abuse import abuse_and_check, abusive_requests
from archive_server import ArchiveServer
from conftest import WPA

pytestmark = pytest.mark.slow

REQUESTS = 4000
CLIENTS = 8
MAX_SECONDS = 300
QUERIES = [
    "master", "cotton", "church", "freedom", "whipped", "overseer", "patrollers", "yankees",
    '"big house"', "mother father", "corn*", "war OR soldiers", "date:1937 master",
    "place:texas cotton", "preacher -church", "spinning wheel", "ku klux", "emancipation",
    "molasses", "(river OR creek) baptized",
]  # fmt: skip


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def archive_index(testimonies: Path, index: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "archive", "--testimonies", str(testimonies),
               "--index", str(index), "index", *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def wpa_server(tmp_path_factory):
    if not WPA.is_dir():
        pytest.skip(f"shared corpus not found at {WPA}")
    tmp = tmp_path_factory.mktemp("load")
    testimonies = tmp / "wpa"
    shutil.copytree(WPA, testimonies)
    started = time.monotonic()
    built = archive_index(testimonies, tmp / "index")
    assert built.returncode == 0, built.stderr
    print(f"\nWPA index built in {time.monotonic() - started:.0f} s")
    server = ArchiveServer(testimonies, tmp / "index", tmp / "logs", threads=4)
    server.command.append("--no-watch")  # 'archive index' is the writer these tests run
    with server:
        yield server, testimonies, tmp / "index"
    assert "Traceback" not in server.output, server.output[-3000:]


class Load:
    """``REQUESTS`` requests from ``CLIENTS`` threads, stopped early after ``MAX_SECONDS``."""

    def __init__(self, port: int, paths: list[str], busy: threading.Event) -> None:
        self.port, self.paths, self.busy = port, paths, busy
        self.next = 0
        self.lock = threading.Lock()
        self.results: list[tuple[str, int, float, bool]] = []  # path, status, seconds, reindexing
        self.errors: list[str] = []
        self.deadline = time.monotonic() + MAX_SECONDS

    def _take(self) -> str | None:
        with self.lock:
            if self.next >= len(self.paths) or time.monotonic() > self.deadline:
                return None
            self.next += 1
            return self.paths[self.next - 1]

    def client(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        while (path := self._take()) is not None:
            reindexing = self.busy.is_set()
            start = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                body = response.read()
                status = response.status
                if status == 200 and path.startswith("/search.json"):
                    json.loads(body)["total"]  # noqa: B018 - must parse
            except (OSError, http.client.HTTPException, ValueError, KeyError) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                status, body = 0, repr(exc).encode()
            elapsed = time.perf_counter() - start
            with self.lock:
                self.results.append((path, status, elapsed, reindexing))
                if status != 200:
                    self.errors.append(f"{status} {path}: {body[:200]!r}")
        conn.close()

    def run(self) -> float:
        threads = [threading.Thread(target=self.client, daemon=True) for _ in range(CLIENTS)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=MAX_SECONDS + 120)
        return time.monotonic() - started


def _edit(testimonies: Path, rng: random.Random, word: str) -> list[str]:
    paths = rng.sample(sorted(testimonies.glob("*.md")), 5)
    for path in paths:
        text = path.read_text(encoding="utf-8").rstrip("\n")
        path.write_text(text + f" They called it {word}.\n", encoding="utf-8")
    return [p.stem for p in paths]


# Bounded by itself (MAX_SECONDS of load, three index runs of the whole corpus): the
# suite's default per-test timeout is for tests that are not.
@pytest.mark.timeout(MAX_SECONDS + 900)
def test_searches_and_pages_under_load_while_reindexing(wpa_server):
    server, testimonies, index = wpa_server
    rng = random.Random(1937)
    ids = sorted(p.stem for p in testimonies.glob("*.md"))
    paths = []
    for n in range(REQUESTS):
        if n % 10 < 7:
            paths.append("/search.json?q=" + quote(rng.choice(QUERIES)))
        elif n % 10 < 9:
            paths.append(f"/t/{rng.choice(ids)}/")
        else:
            paths.append("/search/?q=" + quote(rng.choice(QUERIES)))
    busy = threading.Event()
    runs: list[tuple[str, int, float]] = []
    last: list[str] = []

    def served(word: str, testimony: str) -> bool:
        """The server shows the new text on the page (its archive reloaded) and finds it."""
        status, _, body = server.get(f"/t/{testimony}.json", timeout=60)
        if status != 200 or word not in body.decode("utf-8", "replace"):
            return False
        status, _, body = server.get(f"/search.json?q={word}", timeout=60)
        return status == 200 and json.loads(body)["total"] >= 1

    def reindex() -> None:
        for step, args in enumerate([(), ("--full",), ()]):
            edited = _edit(testimonies, rng, f"zephyrwind{step}")
            last[:] = edited
            busy.set()
            started = time.monotonic()
            result = archive_index(testimonies, index, *args)
            runs.append((" ".join(args) or "update", result.returncode, time.monotonic() - started))
            # Edit again only once the server has reloaded: files edited while it reloads
            # would be newer than the index, and it refuses (503) to search that.
            deadline = time.monotonic() + 180
            while not served(f"zephyrwind{step}", edited[0]) and time.monotonic() < deadline:
                time.sleep(0.5)
            busy.clear()

    load = Load(server.port, paths, busy)
    indexer = threading.Thread(target=reindex, daemon=True)
    indexer.start()
    elapsed = load.run()
    indexer.join(timeout=900)

    searches = [r[2] for r in load.results if r[0].startswith("/search")]
    pages = [r[2] for r in load.results if r[0].startswith("/t/")]
    during = [r[2] for r in load.results if r[3]]
    print(
        f"\nload: {len(load.results)} requests in {elapsed:.0f} s "
        f"({len(load.results) / elapsed:.1f}/s, {CLIENTS} clients), errors {len(load.errors)}; "
        f"search p50 {_percentile(searches, 0.5) * 1000:.0f} ms, "
        f"p95 {_percentile(searches, 0.95) * 1000:.0f} ms; "
        f"page p50 {_percentile(pages, 0.5) * 1000:.0f} ms, "
        f"p95 {_percentile(pages, 0.95) * 1000:.0f} ms; "
        f"{len(during)} requests while reindexing or reloading, p95 {_percentile(during, 0.95) * 1000:.0f} ms; "
        f"reindex runs: " + ", ".join(f"{k} rc={c} {s:.0f} s" for k, c, s in runs)
    )
    assert load.errors == []
    assert all(code == 0 for _, code, _ in runs) and len(runs) == 3
    assert len(load.results) >= REQUESTS * 0.5  # the time bound was not what ended it
    assert len(during) >= 100
    assert served("zephyrwind2", last[0])  # the server picked up the last reindex


def test_abusive_queries_on_the_whole_corpus(wpa_server):
    server, _, _ = wpa_server
    abuse_and_check(server, abusive_requests(), f"query abuse on {len(os.listdir(WPA))} files")
