"""bench/compare.py: two bench/run --json files side by side, judged by same-run ratios."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "compare.py"
_spec = importlib.util.spec_from_file_location("bench_compare", SCRIPT)
compare = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare)

BASE = [
    {"benchmark": "parse", "measure": "parse throughput (2270 files, 13.1 MB)",
     "result": "5.30 MB/s", "baseline": "779 MB/s plain read",
     "ratio": "147x slower than reading", "goal": "report", "passed": True},
    {"benchmark": "search", "measure": "search p95 ms", "result": 3.1, "baseline": 3.2,
     "ratio": 0.969, "goal": "<= 1.0x", "passed": True},
    {"benchmark": "index", "measure": "full index s", "result": 44.0, "baseline": 80.0},
    {"benchmark": "relevance", "measure": "descriptive recall@10 (tune, 12)", "result": 0.9,
     "baseline": 0.8, "ratio": 1.125},
    {"benchmark": "http", "measure": "server RSS MB", "result": 188, "baseline": None},
]  # fmt: skip


def _new(**ratios: object) -> list[dict]:
    rows = [dict(r) for r in BASE]
    for row in rows:
        if row["benchmark"] in ratios:
            row["ratio"] = ratios[row["benchmark"]]
    return rows


def _verdicts(new: list[dict], noise: float = 0.10) -> dict[str, str]:
    return {row[0].split(":")[0]: row[3] for row in compare.compare(BASE, new, noise)}


def test_ratios_within_the_noise_are_the_same():
    new = _new(parse="155x slower than reading", search=1.03, index=0.52)
    assert _verdicts(new) == {
        "parse": "same", "search": "same", "index": "same", "relevance": "same", "http": "-"
    }  # fmt: skip


def test_a_slower_timing_or_a_lower_quality_is_worse_and_the_opposite_better():
    new = _new(parse="200x slower than reading", search=0.80, relevance=1.1)
    new[3]["measure"] = "descriptive recall@10 (tune, 13)"  # counts are not part of the pairing
    verdicts = _verdicts(new)
    assert (verdicts["parse"], verdicts["search"], verdicts["relevance"]) == (
        "WORSE",
        "better",
        "WORSE",
    )


def test_unpaired_rows_and_the_command_line(tmp_path):
    new = _new(search=1.5)[1:] + [{"benchmark": "export", "measure": "export s", "ratio": 1.8}]
    (tmp_path / "base.json").write_text(json.dumps(BASE), encoding="utf-8")
    (tmp_path / "new.json").write_text(json.dumps(new), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "base.json"), str(tmp_path / "new.json")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr  # a WORSE row
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["row", "base", "ratio", "new", "ratio", "verdict"]
    assert any(line.startswith("parse:") and line.endswith("only in base") for line in lines)
    assert any(line.startswith("export:") and line.endswith("only in new") for line in lines)
    assert any(line.startswith("search:") and line.endswith("WORSE") for line in lines)
