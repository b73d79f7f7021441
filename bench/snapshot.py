"""Snapshot of what the archive shows, to prove a refactoring changes no byte of it.

Run::

    .venv/bin/python bench/snapshot.py save OUTDIR [--tree PATH]
    .venv/bin/python bench/snapshot.py compare DIR_A DIR_B

``save`` captures a fixed set of outputs into OUTDIR, one file per output
with a name made from the request (plus a short hash of it, so names never
collide): ``samples.web.<url>``, ``wpa.cli.search.<args>`` and so on. Each
file holds the request, the status (or exit code), the response headers (or
stderr) and the body, byte for byte. ``compare`` lists every output that is
missing on one side or differs, with a unified diff of the first few, and
exits 1 if any does; otherwise it prints "N outputs identical" and exits 0.

What is captured, over two archives, each indexed into a temporary directory
by the real ``archive index`` and judged at ``ARCHIVE_TODAY`` = 2026-12-01:

* ``samples``: the bundled ``testimonies/`` (en, ru, uk; one restricted, one
  embargoed);
* ``wpa``: the 200 files of ``../shared/corpus/small.txt``, copied from
  ``../shared/corpus/wpa`` (with its ``themes.yaml`` if it has one).

For each: pages through the Flask app's test client (``webapp.create_app``):
home, testimony pages (HTML and JSON; every one of the samples, restricted
and embargoed ones included, which must be 404), citations and a selection's
anchor, the themes and browse pages and every page they link to, search
pages (HTML and ``/search.json``) for a dozen queries with filters, sort by
date, page 2, facets, a typo and refused queries, a quote link taken from a
search hit, the quote check, help, feed, sitemap, robots, opensearch and a
404. Then the command line: ``archive index --json``, and ``archive search
--json`` for every query of ``bench/bench_search.py`` (``QUERIES``, read as
data) and ``bench/relevance.yaml``, plus a few with options, and ``archive
quote --json`` for quotes cut from the corpus files the way the benchmark
cuts them (200 characters, 3 words changed, fixed seed).

Only entry points that survive a restructuring are used: ``create_app``, its
test client, and the ``archive`` console script as ``pyproject.toml`` of the
tree declares it (run as ``python -c``, so it keeps working if the command
line moves out of the ``archive`` package). The inputs (samples, queries,
quotes) come from this script's own checkout; ``--tree PATH`` only chooses
whose code runs: the capture runs in a fresh interpreter with cwd and
PYTHONPATH set to PATH, and checks that it imported PATH's code.

Normalised, because they change from run to run and are not behaviour:

* the temporary directory's path -> ``<TMP>`` and the tree's path -> ``<TREE>``
  (plain string replacement);
* durations in ``archive index --json``: regex ``"seconds": [0-9.e+-]+`` ->
  ``"seconds": 0``.

Nothing else is touched.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote_plus, urlencode

ROOT = Path(__file__).resolve().parent.parent
#: ``../shared/corpus`` of the checkout, or of its parent for a worktree in ``wt/NAME``.
CORPUS = next((p / "shared" / "corpus" for p in ROOT.parents if (p / "shared" / "corpus").is_dir()),
              ROOT.parent / "shared" / "corpus")  # fmt: skip
TODAY = "2026-12-01"
SECONDS = re.compile(r'"seconds": [0-9.eE+-]+')
DIFFS_SHOWN, DIFF_LINES = 3, 30

# --- inputs: the same for every tree ------------------------------------------------

#: Web searches by archive, as query parameters: query syntax, filters, sort,
#: pages, facets, a typo, no hits and refused queries (400s). The first one's
#: first hit gives the quote link.
WEB_SEARCHES = {
    "samples": [
        {"q": "leave"},
        {"q": "leave OR furlough"},
        {"q": '"medical commission"'},
        {"q": "desert -hospital"},
        {"q": "desert*"},
        {"q": "theme:self-injury"},
        {"q": "отпуск"},
        {"q": "відпустку"},
        {"q": "commission", "language": "en"},
        {"q": "commission", "theme": "legal-routes", "language": "en"},
        {"q": "date:2024 hospital", "sort": "date"},
        {"q": "the", "page": "2"},
        {"q": "comission"},
        {"q": "furlough"},
        {"language": "uk"},
        {"q": '"unclosed'},
        {"q": "leave", "sort": "bogus"},
        {"q": "leave", "theme": "no-such-theme"},
    ],
    "wpa": [
        {"q": "slave"},
        {"q": "whip*", "sort": "date"},
        {"q": "cotton", "page": "2"},
        {"q": '"big house"'},
        {"q": "doctor OR herbs"},
        {"q": "mother sold", "decade": "1930s"},
        {"q": "master -overseer"},
        {"q": "date:1937 church"},
        {"q": "slave", "language": "en", "sort": "date", "page": "2"},
        {"q": "marster"},
        {"q": "yankes"},
        {"q": "patrol*", "place": "Little Rock, Arkansas"},
    ],
}
#: Command-line searches with options, beside the benchmark's queries.
CLI_SEARCHES = {
    "samples": [
        ["leave"],
        ["comission"],
        ["отпуск", "--lang", "ru"],
        ["commission", "--sort", "date", "--limit", "3", "--page", "2"],
        ["leav*", "--theme", "leaving-service"],
    ],
    "wpa": [
        ["slave", "--sort", "date", "--page", "3"],
        ["cotton", "--lang", "en", "--limit", "5"],
    ],
}
QUOTES = {"samples": 4, "wpa": 15}
FILLERS = ["house", "river", "cotton", "morning", "church", "mother", "yankee", "field"]


def bench_queries() -> list[str]:
    """``QUERIES`` of bench_search.py and the judged queries of relevance.yaml, as data."""
    tree = ast.parse((ROOT / "bench" / "bench_search.py").read_text(encoding="utf-8"))
    queries = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "QUERIES"
    )
    relevance = (ROOT / "bench" / "relevance.yaml").read_text(encoding="utf-8")
    return list(dict.fromkeys(queries + re.findall(r"^- query: (.+)$", relevance, re.M)))


def cut_quotes(directory: Path, count: int, seed: int = 1936) -> list[str]:
    """200-character quotes from random paragraphs, 3 words changed, lowercase."""
    rng = random.Random(seed)
    paragraphs = []
    for path in sorted(directory.glob("*.md")):
        body = path.read_text(encoding="utf-8").split("\n---\n", 1)[-1]
        for block in body.split("\n\n"):
            text = " ".join(line for line in block.splitlines() if not line.startswith("{:"))
            if len(text) > 240 and "{" not in text and "[" not in text:
                paragraphs.append(text.replace("*", ""))
    quotes = []
    for text in rng.sample(paragraphs, count):
        words = list(re.finditer(r"\w+", text))
        starts = [i for i, m in enumerate(words) if m.start() < len(text) - 220]
        first = rng.choice(starts)
        chosen = [m for m in words[first:] if m.end() - words[first].start() <= 200]
        damaged = [m.group() for m in chosen]
        for i in rng.sample(range(1, len(damaged) - 1), 3):
            damaged[i] = rng.choice(FILLERS)
        quotes.append(" ".join(damaged).lower())
    return quotes


def prepare(tmp: Path) -> dict[str, Path]:
    """The two archives' files, copied into ``tmp``."""
    samples = tmp / "samples"
    shutil.copytree(ROOT / "testimonies", samples)
    wpa = tmp / "wpa"
    wpa.mkdir()
    for line in (CORPUS / "small.txt").read_text(encoding="utf-8").split():
        shutil.copy(CORPUS / "wpa" / f"{line}.md", wpa)
    if (CORPUS / "wpa" / "themes.yaml").exists():
        shutil.copy(CORPUS / "wpa" / "themes.yaml", wpa)
    return {"samples": samples, "wpa": wpa}


# --- capture: runs in the tree's own interpreter ------------------------------------


class Writer:
    def __init__(self, out: Path, tmp: Path, tree: Path) -> None:
        self.out, self.replacements = out, [(str(tmp), "<TMP>"), (str(tree), "<TREE>")]
        self.names: set[str] = set()

    def write(self, name: str, head: str, body: bytes) -> None:
        assert name not in self.names, f"captured twice: {name}"
        self.names.add(name)
        data = head.encode() + b"\n\n" + body
        for old, new in self.replacements:
            data = data.replace(old.encode(), new.encode())
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:90].strip("_")
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        (self.out / f"{safe}.{digest}.txt").write_bytes(data)


def links(html: bytes, prefix: str) -> list[str]:
    """Distinct site-relative links below ``prefix`` found in a page, sorted."""
    found = re.findall(rf'href="({re.escape(prefix)}[^"?#]+/)"', html.decode())
    return sorted(set(found))


def json_twin(url: str) -> str:
    return url.rstrip("/") + ".json"


def capture_web(name: str, directory: Path, index: Path, writer: Writer) -> None:
    from webapp import create_app

    app = create_app({"testimonies": directory, "index": index, "today": TODAY, "TESTING": True})
    client = app.test_client()

    def get(url: str) -> bytes:
        response = client.get(url)
        headers = "".join(f"\n{k}: {v}" for k, v in response.headers.items())
        writer.write(f"{name}.web.{url}", f"GET {url}\n{response.status}{headers}", response.data)
        return response.data

    ids = sorted(p.stem for p in directory.glob("*.md"))
    shown = ids if name == "samples" else ids[::40]
    urls = ["/", "/index.json", "/help/search/", "/help/search.json", "/feed.xml"]
    urls += ["/sitemap.xml", "/robots.txt", "/opensearch.xml", "/no/such/page/", "/t/no-such/"]
    for testimony in shown:
        urls += [f"/t/{testimony}/", f"/t/{testimony}.json"]
    first = shown[0] if name == "wpa" else "officer-left-unit-2023"
    urls += [f"/t/{first}/cite.{fmt}" for fmt in ("txt", "bib", "ris", "csl.json")]
    urls += [f"/t/{first}/cite.annotation.json", f"/t/{first}/anchor.json?start=120&end=180"]
    for url in urls:
        get(url)
    for listing in ("/themes/", "/browse/"):
        get(json_twin(listing))
        for url in links(get(listing), listing):
            get(url)
            get(json_twin(url))
    for params in WEB_SEARCHES[name]:
        query = urlencode(params)
        get(f"/search/?{query}")
        found = json.loads(get(f"/search.json?{query}"))
        hits = (found.get("results") or {}).get("hits") or []
        if hits and params == WEB_SEARCHES[name][0]:
            get(hits[0]["url"].split("#")[0])  # a quote link: /t/ID/?a=ANCHOR
    for text in cut_quotes(directory, 2, seed=7):
        get(f"/quote/?text={quote_plus(text)}")
        get(f"/quote.json?text={quote_plus(text)}")


def archive_command(tree: Path, directory: Path, index: Path) -> list[str]:
    """``archive --testimonies DIR --index DIR``: the console script as the tree's
    pyproject.toml declares it."""
    scripts = tomllib.loads((tree / "pyproject.toml").read_text())["project"]["scripts"]
    module, func = scripts["archive"].split(":")
    code = f"import sys; sys.argv[0] = 'archive'; from {module} import {func}; sys.exit({func}())"
    return [sys.executable, "-c", code, "--testimonies", str(directory), "--index", str(index)]


def capture_cli(name: str, base: list[str], directory: Path, tree: Path, writer: Writer) -> None:
    def run(args: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run([*base, *args], capture_output=True, cwd=tree, check=False)

    searches = [[q, "--limit", "20"] for q in bench_queries()] if name == "wpa" else []
    calls = [["search", *args, "--json"] for args in searches + CLI_SEARCHES[name]]
    calls += [["quote", text, "--json"] for text in cut_quotes(directory, QUOTES[name])]
    with ThreadPoolExecutor(2) as pool:  # one process per call: two at a time
        for args, done in zip(calls, pool.map(run, calls), strict=True):
            head = f"archive {' '.join(args)}\nexit {done.returncode}\n{done.stderr.decode()}"
            writer.write(f"{name}.cli.{' '.join(args)}", head, done.stdout)


def capture(out: Path, tmp: Path) -> None:
    tree = Path.cwd().resolve()
    import archive

    if not Path(archive.__file__).resolve().is_relative_to(tree):
        sys.exit(f"imported {archive.__file__}, not the code of {tree}: check PYTHONPATH")
    writer = Writer(out, tmp, tree)
    for name, directory in prepare(tmp).items():
        index = tmp / f"index-{name}"
        base = archive_command(tree, directory, index)
        built = subprocess.run([*base, "index", "--json"], capture_output=True, cwd=tree)
        if built.returncode:
            sys.exit(f"archive index failed on {name}:\n{built.stderr.decode()}")
        report = SECONDS.sub('"seconds": 0', built.stdout.decode())
        writer.write(f"{name}.cli.index", "archive index --json", report.encode())
        capture_web(name, directory, index, writer)
        capture_cli(name, base, directory, tree, writer)
    print(f"{len(writer.names)} outputs saved in {out}")


# --- the commands --------------------------------------------------------------------


def save(out: Path, tree: Path) -> int:
    out = out.resolve()
    if out.exists() and any(out.iterdir()):
        sys.exit(f"{out} is not empty: give a new directory")
    out.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env |= {"PYTHONPATH": str(tree), "ARCHIVE_TODAY": TODAY}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="snapshot-") as tmp:
        args = [sys.executable, str(Path(__file__).resolve()), "_capture", str(out), tmp]
        code = subprocess.run(args, cwd=tree, env=env, check=False).returncode
    print(f"{time.perf_counter() - started:.0f} s")
    return code


def lines(path: Path) -> list[str]:
    """A file's lines for a diff, long JSON and HTML lines broken between items and tags."""
    text = path.read_text(errors="replace").replace("><", ">\n<").replace(',"', ',\n"')
    return text.splitlines()


def compare(a: Path, b: Path) -> int:
    names_a = {p.name for p in a.iterdir()}
    names_b = {p.name for p in b.iterdir()}
    problems = [f"only in {a}: {n}" for n in sorted(names_a - names_b)]
    problems += [f"only in {b}: {n}" for n in sorted(names_b - names_a)]
    differing = [
        n for n in sorted(names_a & names_b) if (a / n).read_bytes() != (b / n).read_bytes()
    ]
    for i, name in enumerate(differing):
        problems.append(f"differs: {name}")
        if i < DIFFS_SHOWN:
            left, right = (lines(d / name) for d in (a, b))
            diff = list(
                difflib.unified_diff(left, right, str(a / name), str(b / name), lineterm="")
            )
            problems += [line[:200] for line in diff[:DIFF_LINES]]
    if problems:
        print("\n".join(problems))
        print(f"{len(differing)} differ, {len(names_a ^ names_b)} missing on one side")
        return 1
    print(f"{len(names_a)} outputs identical")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    saving = commands.add_parser("save", help="capture the outputs into OUTDIR")
    saving.add_argument("outdir", type=Path)
    saving.add_argument("--tree", type=Path, default=ROOT, help="checkout whose code runs")
    comparing = commands.add_parser("compare", help="report outputs that differ")
    comparing.add_argument("dir_a", type=Path)
    comparing.add_argument("dir_b", type=Path)
    inner = commands.add_parser("_capture")  # the child process of save
    inner.add_argument("outdir", type=Path)
    inner.add_argument("tmp", type=Path)
    args = parser.parse_args()
    if args.command == "save":
        return save(args.outdir, args.tree.resolve())
    if args.command == "compare":
        return compare(args.dir_a, args.dir_b)
    capture(args.outdir, args.tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
