"""Parse throughput: how fast testimony files become passages, against plain reading.

Run: python bench/bench_parse.py [--corpus DIR]

The baseline is reading the same files' bytes and decoding them, in the same
run, so the ratio says what parsing costs over I/O on this machine today.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from archive.parse import iter_testimony_files, load_archive

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "wpa"


def _best_of(runs: int, work) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def run(corpus: Path = DEFAULT_CORPUS) -> list[dict]:
    files = list(iter_testimony_files(corpus))
    size = sum(f.stat().st_size for f in files)
    megabytes = size / 1e6
    read = _best_of(3, lambda: [f.read_bytes().decode("utf-8") for f in files])
    archive = None

    def parse() -> None:
        nonlocal archive
        archive = load_archive(corpus)

    parsed = _best_of(2, parse)
    assert archive is not None and not archive.errors, archive.errors[:3]
    return [
        {
            "measure": f"parse throughput ({len(files)} files, {megabytes:.1f} MB)",
            "result": f"{megabytes / parsed:.2f} MB/s",
            "baseline": f"{megabytes / read:.0f} MB/s plain read",
            "ratio": f"{parsed / read:.0f}x slower than reading",
            "goal": "report",
            "passed": True,
        }
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    for row in run(args.corpus):
        print(" | ".join(f"{k}: {v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
