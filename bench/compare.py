#!/usr/bin/env python3
"""Compare two ``bench/run --json`` files row by row, by their same-run ratios.

Usage::

    bench/compare.py BASE.json NEW.json [--noise 0.10]

Each benchmark times its own baseline in the same run, so the ratio (result
over baseline) is what can be compared between two runs on a shared machine,
never the raw times. For each row of either file: the measure, the base ratio,
the new ratio, and a verdict: ``same`` (within the noise), ``better`` or
``WORSE``; ``only in base``/``only in new`` where a row has no partner. A timing
ratio counts as changed beyond ``--noise`` (a share of the base ratio, 10 % by
default); a quality measure (recall, MRR, quote top-1), which does not depend on
the machine, counts every change. Rows are paired by benchmark and measure,
with the numbers in the measure's text (counts, sizes) left out of the pairing.
The exit status is 1 when a row is WORSE, so a script can rerun that benchmark
to confirm (``bench/run --only NAME``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

#: Measures where a higher ratio is better and the value does not depend on the machine.
QUALITY = ("recall", "mrr", "top-1")
_NUMBER = re.compile(r"\d[\d,.]*")


def ratio(row: dict) -> float | None:
    """The row's ratio as a number: its ``ratio`` (a number, or text such as "347x slower
    than reading"), else result over baseline when both are numbers."""
    value = row.get("ratio")
    if isinstance(value, str):
        found = _NUMBER.search(value)
        value = float(found.group().replace(",", "")) if found else None
    if value is None:
        result, baseline = row.get("result"), row.get("baseline")
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool)
                      for v in (result, baseline))  # fmt: skip
        value = result / baseline if numbers and baseline else None
    return float(value) if isinstance(value, (int, float)) else None


def key(row: dict) -> str:
    return f"{row.get('benchmark')}: {_NUMBER.sub('#', str(row.get('measure', 'failed')))}"


def verdict(measure: str, base: float | None, new: float | None, noise: float) -> str:
    if base is None or new is None:
        return "-"
    quality = any(word in measure.lower() for word in QUALITY)
    change = (new - base) if quality else (base - new)  # positive: better
    if abs(change) <= (1e-9 if quality else noise * abs(base)):
        return "same"
    return "better" if change > 0 else "WORSE"


def compare(base: list[dict], new: list[dict], noise: float) -> list[tuple[str, ...]]:
    base_rows = {key(r): r for r in base}
    new_rows = {key(r): r for r in new}
    rows = []
    for k in list(dict.fromkeys([*base_rows, *new_rows])):
        b, n = base_rows.get(k), new_rows.get(k)
        measure = str((n or b).get("measure", (n or b).get("error", "")))
        if b is None or n is None:
            rows.append((f"{(n or b)['benchmark']}: {measure}", "", "",
                         "only in new" if b is None else "only in base"))  # fmt: skip
            continue
        rb, rn = ratio(b), ratio(n)
        rows.append((
            f"{n['benchmark']}: {measure}",
            "" if rb is None else f"{rb:.3g}",
            "" if rn is None else f"{rn:.3g}",
            verdict(measure, rb, rn, noise) if "error" not in n else "ERROR",
        ))  # fmt: skip
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="bench/run --json of the tree compared against")
    parser.add_argument("new", type=Path, help="bench/run --json of the tree under test")
    parser.add_argument("--noise", type=float, default=0.10,
                        help="timing ratios within this share of the base are the same")  # fmt: skip
    args = parser.parse_args(argv)
    rows = compare(
        json.loads(args.base.read_text(encoding="utf-8")),
        json.loads(args.new.read_text(encoding="utf-8")),
        args.noise,
    )
    header = ("row", "base ratio", "new ratio", "verdict")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    return 1 if any(r[3] in ("WORSE", "ERROR") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
