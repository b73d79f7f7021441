"""Benchmark the index build against a raw Whoosh ingest, and one-file updates.

Run from the repository root::

    .venv/bin/python bench/bench_index.py [--corpus DIR] [--alternatives]

Measures, on a private copy of the corpus:

* the whole ``build_index(full=True)`` (parsing included) against a
  single-process Whoosh ingest of the same documents (same schema, same
  analyzers), prepared before the baseline's clock starts;
* an update after one file changed with the whole corpus indexed: an
  addition (a sentence appended), through the library and through the
  ``archive index`` command, then twenty more such updates in a row (small
  segments get folded, so later updates cost more than the first), and a
  withdrawal (a word redacted), which purges the old text and so costs more;
* the public index size on disk.

With ``--alternatives`` it also times the other way to use both cores:
parsing in the main process while Whoosh's multiprocess writer
(``procs=2, multisegment=True``) analyses.

The machine may be shared: the load average is printed beside the table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from whoosh.filedb.filestore import FileStorage  # noqa: E402
from whoosh.multiproc import MpWriter  # noqa: E402

from archive import index as index_module  # noqa: E402
from archive.config import resolve_config  # noqa: E402
from archive.parse import load_archive  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "wpa"


def _documents(corpus: Path) -> list[dict]:
    """The documents the archive would index, as plain field values."""
    archive = load_archive(corpus)
    docs = []
    for t in sorted(archive.public(), key=lambda t: t.id):
        docs += index_module._documents(t, archive.vocabulary, private=False)
    return docs


def raw_ingest(docs: list[dict], directory: Path) -> float:
    """Seconds for one process to add ``docs`` to a new Whoosh index and commit."""
    directory.mkdir(parents=True)
    started = time.perf_counter()
    ix = FileStorage(str(directory)).create_index(index_module.schema(), "MAIN")
    writer = ix.writer(limitmb=index_module.LIMIT_MB)
    for doc in docs:
        writer.add_document(**doc)
    writer.commit()
    return time.perf_counter() - started


def mpwriter_pipeline(corpus: Path, directory: Path) -> float:
    """Seconds to parse in this process while Whoosh's MpWriter analyses in two others."""
    directory.mkdir(parents=True)
    started = time.perf_counter()
    ix = FileStorage(str(directory)).create_index(index_module.schema(), "MAIN")
    writer = MpWriter(ix, procs=2, multisegment=True, limitmb=index_module.LIMIT_MB)
    archive = load_archive(corpus)
    for t in archive.public():
        for doc in index_module._documents(t, archive.vocabulary, private=False):
            writer.add_document(**doc)
    writer.commit()
    return time.perf_counter() - started


def _size_mb(directory: Path) -> float:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()) / 1e6


def _row(measure, result, baseline=None, goal="", passed=None) -> dict:
    ratio = result / baseline if baseline else None
    return {
        "measure": measure,
        "result": round(result, 3),
        "baseline": round(baseline, 3) if baseline is not None else None,
        "ratio": round(ratio, 3) if ratio is not None else None,
        "goal": goal,
        "passed": passed,
    }


def _append_sentence(path: Path) -> None:
    """An addition: the last paragraph gets one more sentence."""
    text = path.read_text(encoding="utf-8").rstrip("\n")
    path.write_text(text + " And that was all he would say.\n", encoding="utf-8")


def _redact_a_word(path: Path) -> None:
    """A withdrawal: one word of the last paragraph is redacted."""
    lines = path.read_text(encoding="utf-8").rstrip("\n").split("\n")
    words = lines[-1].split(" ")
    index = next(i for i, w in enumerate(words) if w.isalpha() and len(w) > 3)
    words[index] = f"[{words[index]}]{{.redact}}"
    lines[-1] = " ".join(words)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run(corpus: Path = DEFAULT_CORPUS, alternatives: bool = False) -> list[dict]:
    """Every measurement as a row: measure, result, baseline, ratio, goal, passed."""
    corpus = Path(corpus)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        work = Path(tmp)
        archive_dir = work / "corpus"
        shutil.copytree(corpus, archive_dir)
        config = resolve_config(testimonies=archive_dir, index=work / "index")

        docs = _documents(archive_dir)  # outside the baseline's clock
        baseline = raw_ingest(docs, work / "raw")
        shutil.rmtree(work / "raw")
        del docs

        report = index_module.build_index(config, full=True)
        rows.append(
            _row(
                f"full index, {report.testimonies} files, {report.passages} passages (s)",
                report.seconds,
                baseline,
                "<= 1.0x raw Whoosh ingest",
                report.seconds <= baseline,
            )
        )
        rows.append(_row("public index size (MB)", _size_mb(report.generation)))
        rows.append(_row("public index segments", report.segments))

        files = sorted(archive_dir.glob("*.md"))
        changed = files[len(files) // 2]
        _append_sentence(changed)
        update = index_module.build_index(config)
        assert update.mode == "incremental" and update.updated == 1, update.as_dict()
        rows.append(_row("update, 1 file changed (addition) (s)", update.seconds, None,
                         "<= 1 s", update.seconds <= 1.0))  # fmt: skip

        _append_sentence(files[len(files) // 3])
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "archive", "--testimonies", str(archive_dir),
             "--index", str(config.index), "index"],
            check=True, capture_output=True, cwd=ROOT,
        )  # fmt: skip
        cli = time.perf_counter() - started
        rows.append(_row("update via 'archive index', 1 file changed (s)", cli, None,
                         "<= 1 s", cli <= 1.0))  # fmt: skip

        series, fulls = [], 0
        for path in files[7 :: max(1, len(files) // 20)][:20]:
            _append_sentence(path)
            step = index_module.build_index(config)
            series.append(step.seconds)
            fulls += step.mode == "full"
        label = f"{len(series)} more 1-file updates in a row, {fulls} of them full builds"
        mean = sum(series) / len(series)
        rows.append(_row(f"{label}: mean (s)", mean, None, "<= 1 s", mean <= 1.0))
        rows.append(_row(f"{label}: slowest (s)", max(series), None, "<= 1 s",
                         max(series) <= 1.0))  # fmt: skip

        unchanged = index_module.build_index(config)
        rows.append(_row("run with nothing changed (s)", unchanged.seconds))

        _redact_a_word(changed)
        withdrawal = index_module.build_index(config)
        rows.append(_row(f"update, 1 word redacted ({withdrawal.mode}) (s)", withdrawal.seconds))

        if alternatives:
            mp = mpwriter_pipeline(archive_dir, work / "mp")
            rows.append(_row("alternative: parse in main + MpWriter(procs=2) (s)", mp, baseline))
    return rows


def _print_table(rows: list[dict]) -> None:
    header = ("measure", "result", "baseline", "ratio", "goal", "passed")
    cells = [
        [
            str(r["measure"]),
            f"{r['result']:.2f}",
            "" if r["baseline"] is None else f"{r['baseline']:.2f}",
            "" if r["ratio"] is None else f"{r['ratio']:.2f}x",
            r["goal"],
            "" if r["passed"] is None else ("yes" if r["passed"] else "NO"),
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--alternatives", action="store_true", help="also time parse + Whoosh MpWriter"
    )
    args = parser.parse_args()
    load = os.getloadavg()
    rows = run(args.corpus, args.alternatives)
    _print_table(rows)
    cores = len(os.sched_getaffinity(0))
    after = os.getloadavg()
    print(f"\n{cores} cores; load average {load[0]:.1f} before, {after[0]:.1f} after")


if __name__ == "__main__":
    main()
