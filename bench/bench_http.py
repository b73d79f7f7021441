"""Search through the running web server against the direct library call, and server memory.

Run: ``.venv/bin/python bench/bench_http.py [--corpus DIR]`` (default: the
shared WPA corpus).

The corpus is indexed once in a temporary directory, then served by the real
``archive serve`` (waitress, 4 threads) in its own process on 127.0.0.1.
In the same run, with both warmed up:

* HTTP search: ``/search.json?q=...`` (20 hits per page) for each query of
  ``bench_search.QUERIES``, sent one after the other over one keep-alive
  connection, ``REPEATS`` rounds; p50 and p95 of the wall time from sending
  the request to having read the whole answer.
* baseline: :func:`archive.search.search` in this process, on the same
  index, the same queries and page size, interleaved with the HTTP requests
  so both see the same machine load. Goal: HTTP at most 2x the direct call.
* throughput: ``CLIENTS`` client threads sending ``THROUGHPUT_REQUESTS``
  searches (a bounded load, reported only).
* memory: the server's resident set (``VmRSS`` in ``/proc/PID/status``)
  after the warm-up, with the corpus loaded, split into anonymous memory
  (the loaded archive, caches) and file pages (the memory-mapped index), and
  its peak (``VmHWM``) at the end. Goal: at most 150 MB resident.

:func:`run` returns one dict per measure (measure, result, baseline, ratio,
goal, passed), for the combined runner ``bench/run``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_search import QUERIES  # noqa: E402

from archive.config import resolve_config  # noqa: E402
from archive.index import build_index  # noqa: E402
from archive.search import open_search_index, search  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "wpa"
PER_PAGE = 20  # what the web app asks for (webapp.data.PER_PAGE)
REPEATS = 5
CLIENTS = 4
THROUGHPUT_REQUESTS = 400
RATIO_GOAL = 2.0
RSS_GOAL_MB = 150


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _memory_mb(pid: int) -> dict[str, float]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            values[name] = int(rest.split()[0]) / 1024  # kB
    return values


class _Server:
    """``archive serve`` in its own process; stopped with SIGTERM."""

    def __init__(self, corpus: Path, index: Path, log: Path) -> None:
        self.port = _free_port()
        self.log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "archive", "--testimonies", str(corpus), "--index",
             str(index), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--threads", "4"],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 300
        while True:
            try:
                status, _ = self.get("/robots.txt")
                if status == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"archive serve did not start: see {log}")
            time.sleep(0.2)

    def get(self, path: str, conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            if own:
                conn.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _row(measure, result, baseline, goal, passed, unit="") -> dict:
    return {
        "measure": measure,
        "result": round(result, 2),
        "baseline": round(baseline, 2) if baseline is not None else None,
        "ratio": round(result / baseline, 2) if baseline else None,
        "goal": goal,
        "passed": passed,
        "unit": unit,
    }


def _throughput(server: _Server) -> tuple[float, int]:
    """Requests per second from CLIENTS threads over THROUGHPUT_REQUESTS searches; errors."""
    paths = [
        f"/search.json?q={quote(QUERIES[n % len(QUERIES)])}" for n in range(THROUGHPUT_REQUESTS)
    ]
    lock, errors = threading.Lock(), [0]

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        while True:
            with lock:
                if not paths:
                    break
                path = paths.pop()
            status, _ = server.get(path, conn)
            if status != 200:
                with lock:
                    errors[0] += 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    return THROUGHPUT_REQUESTS / (time.perf_counter() - started), errors[0]


def run(corpus: str | Path = DEFAULT_CORPUS, *, log=print) -> list[dict]:
    """Index, serve, measure; one row per measure (see the module docstring)."""
    corpus = Path(corpus)
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        config = resolve_config(testimonies=corpus, index=Path(tmp) / "index")
        started = time.perf_counter()
        report = build_index(config, full=True)
        log(f"indexed {report.passages} passages in {time.perf_counter() - started:.1f} s")
        server = _Server(corpus, config.index, Path(tmp) / "serve.log")
        index = open_search_index(config.public_index)
        try:
            return _measure(server, index, log)
        finally:
            index.close()
            server.stop()


def _measure(server: _Server, index, log) -> list[dict]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    for query in QUERIES:  # warm both: the archive and facet tables in the server, ours here
        status, _ = server.get(f"/search.json?q={quote(query)}", conn)
        assert status == 200, (query, status)
        search(index, query, per_page=PER_PAGE)
    memory = _memory_mb(server.process.pid)
    http_ms, direct_ms = [], []
    for _ in range(REPEATS):
        for query in QUERIES:
            start = time.perf_counter()
            status, _ = server.get(f"/search.json?q={quote(query)}", conn)
            http_ms.append((time.perf_counter() - start) * 1000)
            assert status == 200, (query, status)
            start = time.perf_counter()
            search(index, query, per_page=PER_PAGE)
            direct_ms.append((time.perf_counter() - start) * 1000)
    conn.close()
    rate, errors = _throughput(server)
    peak = _memory_mb(server.process.pid)["VmHWM"]
    log(f"{len(http_ms)} HTTP searches; throughput {rate:.1f}/s with {CLIENTS} clients, "
        f"{errors} errors; server peak RSS {peak:.0f} MB")  # fmt: skip
    rows = []
    for name, pct in (("p50", 0.5), ("p95", 0.95)):
        mine, base = _percentile(http_ms, pct), _percentile(direct_ms, pct)
        rows.append(_row(f"HTTP search {name} ms (vs direct search())", mine, base,
                         f"<= {RATIO_GOAL:g}x direct", mine <= RATIO_GOAL * base, "ms"))  # fmt: skip
    rows.append(_row(f"HTTP searches/s, {CLIENTS} clients, {THROUGHPUT_REQUESTS} requests", rate,
                     None, "report, 0 errors", errors == 0, "/s"))  # fmt: skip
    rss = memory["VmRSS"]
    rows.append(_row("server RSS MB after warm-up (corpus loaded)", rss, None,
                     f"<= {RSS_GOAL_MB} MB", rss <= RSS_GOAL_MB, "MB"))  # fmt: skip
    rows.append(_row("  of which anonymous (heap: archive, caches) MB", memory["RssAnon"], None,
                     "report", None, "MB"))  # fmt: skip
    rows.append(_row("  of which file pages (index files mapped) MB", memory["RssFile"], None,
                     "report", None, "MB"))  # fmt: skip
    rows.append(_row("server peak RSS MB (VmHWM, end of run)", peak, None, "report", None, "MB"))
    log(
        f"HTTP median {statistics.median(http_ms):.1f} ms, direct {statistics.median(direct_ms):.1f} ms"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    rows = run(args.corpus)
    width = max(len(r["measure"]) for r in rows)
    for r in rows:
        base = "" if r["baseline"] is None else f"{r['baseline']:.2f}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        mark = {True: "ok", False: "MISSED", None: ""}[r["passed"]]
        print(f"{r['measure']:<{width}}  {r['result']:>9.2f}  {base:>8}  {ratio:>7}  "
              f"{r['goal']} {mark}")  # fmt: skip
    print(f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
