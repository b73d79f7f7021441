"""Faults while indexing: kill -9 at random moments, a full disk, several writers at once.

Each test runs the real ``archive index`` command in subprocesses against a
real index on disk, while a real ``archive serve`` answers searches from the
same index, and checks afterwards that the index opens and searches, that
the server never failed a search, and that nothing is left behind (temporary
generations, a held lock).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from archive_server import ArchiveServer, fetch
from conftest import SAMPLES

from archive import index as index_module
from archive.index import current_generation, open_index
from archive.search import search

TODAY = "2025-06-01"
ENV = {**os.environ, "ARCHIVE_TODAY": TODAY}


def archive_index(testimonies: Path, index: Path, *args: str, timeout: float = 300):
    command = [sys.executable, "-m", "archive", "--testimonies", str(testimonies),
               "--index", str(index), "index", *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=timeout)


def start_index(testimonies: Path, index: Path, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "archive", "--testimonies", str(testimonies),
               "--index", str(index), "index", *args]  # fmt: skip
    return subprocess.Popen(
        command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def leftovers(public: Path) -> list[str]:
    """Temporary generations and files a run should never leave once the next one is done."""
    return sorted(
        p.name for p in public.iterdir() if p.name.startswith("tmp-") or p.name.endswith(".tmp")
    )


def lock_is_free(public: Path) -> bool:
    try:
        with index_module._writer_lock(public, timeout=0):
            return True
    except index_module.IndexBusyError:
        return False


def index_answers(public: Path, word: str = "master") -> int:
    """Open the live generation and search it (raises if anything is broken)."""
    with open_index(public) as handle:
        assert handle.doc_count > 0
    return search(public, word).total


class SearchLoad:
    """Normal searches against the server from a thread, bounded in count and time."""

    def __init__(self, server: ArchiveServer, words: list[str], limit: int = 50_000) -> None:
        self.server, self.words, self.limit = server, words, limit
        self.stop = threading.Event()
        self.done = 0
        self.failures: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for n in range(self.limit):
            if self.stop.is_set():
                return
            word = self.words[n % len(self.words)]
            try:
                status, _, body = fetch(self.server.port, f"/search.json?q={word}", timeout=30)
                total = json.loads(body)["total"] if status == 200 else None
                if status != 200 or not total:
                    self.failures.append(f"{word}: {status} {body[:200]!r}")
            except (OSError, ValueError, KeyError) as exc:
                self.failures.append(f"{word}: {exc!r}")
            self.done += 1
            time.sleep(0.05)

    def __enter__(self) -> SearchLoad:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)


# --- edits between runs -------------------------------------------------------------------------


def _append(path: Path, rng: random.Random) -> None:
    """An addition: one more sentence at the end."""
    text = path.read_text(encoding="utf-8").rstrip("\n")
    word = rng.choice(["river", "cotton", "church", "meeting", "harvest"])
    path.write_text(text + f" We went down to the {word} that year.\n", encoding="utf-8")


def _redact(path: Path, rng: random.Random) -> None:
    """A withdrawal: a word of the last paragraph is redacted."""
    lines = path.read_text(encoding="utf-8").rstrip("\n").split("\n")
    words = lines[-1].split(" ")
    choices = [i for i, w in enumerate(words) if w.isalpha() and len(w) > 3]
    if choices:
        i = rng.choice(choices)
        words[i] = f"[{words[i]}]{{.redact}}"
        lines[-1] = " ".join(words)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _toggle_status(path: Path) -> None:
    """A whole testimony withdrawn (restricted) or published again."""
    text = path.read_text(encoding="utf-8")
    if "status: restricted" in text:
        text = text.replace("status: restricted", "status: public", 1)
    else:
        text = re.sub(r"^status: \w+$", "status: restricted", text, count=1, flags=re.M)
    path.write_text(text, encoding="utf-8")


MARKER = """---
id: kill-marker
title: "Marker"
language: en
status: public
---

The words of the rounds so far:"""


def edit_some(directory: Path, rng: random.Random, cycle: int) -> str:
    """Edit a few files; return a word that only the new version of the archive holds."""
    files = sorted(p for p in directory.glob("*.md") if p.stem != "kill-marker")
    word = f"kilroy{cycle}x"
    marker = directory / "kill-marker.md"
    # Appended, so the old text stays inside the new one: an addition, not a withdrawal
    # (a withdrawal rewrites segments, often as a full build).
    old = marker.read_text(encoding="utf-8") if marker.exists() else MARKER
    marker.write_text(f"{old} {word}", encoding="utf-8")
    for path in rng.sample(files, 3):
        _append(path, rng)
    if cycle % 12 == 0:  # withdrawals: the update rewrites segments, often as a full build
        _redact(rng.choice(files), rng)
    if cycle % 30 == 0:
        _toggle_status(rng.choice(files))
    return word


def wait_until_served(server: ArchiveServer, word: str, seconds: float = 60) -> None:
    """Until the server shows the archive as of the generation holding ``word``.

    Its page, not a search: searches use the newest index as soon as it is swapped
    in, pages the archive the server reloads a moment later. Editing files before
    that reload would make the server read files newer than its index, which it
    refuses to search (503) until the next run.
    """
    deadline = time.monotonic() + seconds
    while True:
        status, _, body = server.get("/t/kill-marker.json", timeout=30)
        if status == 200 and word in body.decode("utf-8", "replace"):
            return
        assert time.monotonic() < deadline, f"the server never showed {word}: {status}"
        time.sleep(0.05)


# --- kill -9 ------------------------------------------------------------------------------------

FULL_KILLS = 40
INCREMENTAL_KILLS = 60


@pytest.mark.slow
@pytest.mark.timeout(900)  # about 3 minutes on two idle cores; more on a busy machine
def test_kill_9_at_random_moments_while_searches_go_on(small_corpus_dir, tmp_path):
    """100 'archive index' runs killed with SIGKILL at random moments: never a failed search,
    a broken index or a next run that fails."""
    testimonies, index = small_corpus_dir, tmp_path / "index"
    public = index / "public"
    rng = random.Random(20251125)
    first = archive_index(testimonies, index)
    assert first.returncode == 0, first.stderr
    # How long an uninterrupted run of each kind takes now; the estimate then adapts, so
    # that kills land inside runs rather than after them.
    started = time.monotonic()
    assert archive_index(testimonies, index, "--full").returncode == 0
    span = {"--full": time.monotonic() - started}
    edit_some(testimonies, rng, 1)
    started = time.monotonic()
    assert archive_index(testimonies, index).returncode == 0
    span["update"] = time.monotonic() - started
    measured = dict(span)

    left = {"--full": FULL_KILLS, "update": INCREMENTAL_KILLS}
    counts = {"kills": 0, "finished before the kill": 0, "next runs": 0, "corrupt": 0}
    problems: list[str] = []
    phases: dict[str, float] = {}

    def spent(mark: float, phase: str) -> float:
        now = time.monotonic()
        phases[phase] = phases.get(phase, 0.0) + now - mark
        return now

    suite_started = time.monotonic()
    env = {"ARCHIVE_TODAY": TODAY}
    server = ArchiveServer(testimonies, index, tmp_path / "logs", env=env)
    server.command.append("--no-watch")  # 'archive index', killed and rerun, is the writer here
    with server:
        with SearchLoad(server, ["master", "cotton", "church", "freedom", "we"]) as load:
            for cycle in range(2 * (FULL_KILLS + INCREMENTAL_KILLS)):  # attempts, bounded
                if not any(left.values()):
                    break
                kind = rng.choices(list(left), weights=list(left.values()))[0]
                mark = time.monotonic()
                # A full build has all the work it needs; an update needs changed files.
                word = edit_some(testimonies, rng, cycle) if kind == "update" else None
                process = start_index(testimonies, index, *([kind] if kind != "update" else []))
                time.sleep(rng.uniform(0.05, 0.95) * span[kind])
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    counts["kills"] += 1
                    left[kind] -= 1
                    span[kind] *= 1.03
                else:
                    counts["finished before the kill"] += 1
                    span[kind] *= 0.85
                process.communicate(timeout=60)
                mark = spent(mark, "runs killed")
                # Right after the kill: the live generation opens and answers.
                try:
                    assert index_answers(public) > 0
                    assert len(leftovers(public)) <= 2  # the killed run's tmp-*, CURRENT.tmp
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    counts["corrupt"] += 1
                    problems.append(f"cycle {cycle} ({kind}): {exc!r}")
                mark = spent(mark, "checks")
                # The next run succeeds and removes what the killed one left.
                after, report = archive_index(testimonies, index, "--json"), {}
                try:
                    assert after.returncode == 0 and "Traceback" not in after.stderr
                    report = json.loads(after.stdout)
                    assert report["errors"] == [] and report["testimonies"] > 150
                    assert leftovers(public) == []
                    counts["next runs"] += 1
                except (AssertionError, ValueError) as exc:
                    problems.append(f"cycle {cycle}: the next run failed: {exc!r} {after.stderr}")
                mark = spent(mark, f"next runs ({report.get('mode', 'failed')})")
                if word is not None:
                    mark = time.monotonic()
                    wait_until_served(server, word)
                    spent(mark, "waiting for the server to reload")
        searches, failed = load.done, list(load.failures)
    elapsed = time.monotonic() - suite_started
    print(
        f"\nkill -9: {counts['kills']} kills ({FULL_KILLS - left['--full']} of 'index --full', "
        f"{INCREMENTAL_KILLS - left['update']} of updates; {counts['finished before the kill']} "
        f"runs had finished first), {counts['next runs']} next runs OK, {counts['corrupt']} "
        f"corrupt, {searches} searches / {len(failed)} failed, in {elapsed:.0f} s "
        f"(uninterrupted: full {measured['--full']:.1f} s, update {measured['update']:.1f} s; "
        + ", ".join(f"{k} {v:.0f} s" for k, v in phases.items())
        + ")"
    )
    assert problems == []
    assert failed == []
    assert counts["corrupt"] == 0
    assert counts["kills"] == FULL_KILLS + INCREMENTAL_KILLS and searches >= 100
    assert "Traceback" not in server.output
    assert lock_is_free(public) and leftovers(public) == []
    assert index_answers(public) > 0


# --- a full disk ---------------------------------------------------------------------------------


@contextlib.contextmanager
def small_tmpfs(directory: Path, size: str = "3M"):
    directory.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
        capture_output=True, text=True,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        if subprocess.run(["umount", str(directory)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(directory)], capture_output=True)


def _fill(directory: Path, leave: int) -> Path:
    """Take all the free space of ``directory``'s file system but ``leave`` bytes."""
    stats = os.statvfs(directory)
    free = stats.f_bavail * stats.f_frsize
    filler = directory / "filler"
    with open(filler, "wb") as f:
        chunk = b"\0" * 65536
        remaining = max(0, free - leave)
        while remaining > 0:
            remaining -= f.write(chunk[: min(len(chunk), remaining)])
    return filler


def test_a_full_disk_fails_clearly_and_the_old_index_keeps_serving(tmp_path):
    testimonies = tmp_path / "testimonies"
    testimonies.mkdir()
    # Three samples: two generations of their index fit in the 3 MB disk, once it is not full.
    (testimonies / "recordings").mkdir()
    # The English officer is a translation: its original comes too, or it is not public.
    for name in ("themes.yaml", "officer-left-unit-2023.md", "officer-left-unit-2023-ru.md",
                 "lawyer-legal-exits-2024.md",
                 "conscript-hiding-at-home-2024.md", "officer-left-unit-2023.words.json",
                 "recordings/officer-left-unit-2023.ogg"):  # fmt: skip
        shutil.copy(SAMPLES / name, testimonies / name)
    with small_tmpfs(tmp_path / "disk") as disk:
        index = disk / "index"
        public = index / "public"
        assert archive_index(testimonies, index).returncode == 0
        live = current_generation(public)
        env = {"ARCHIVE_TODAY": TODAY}
        server = ArchiveServer(testimonies, index, tmp_path / "logs", env=env)
        server.command.append("--no-watch")  # 'archive index' is the writer under test here
        with server:
            assert json.loads(server.get("/search.json?q=commission")[2])["total"] > 0
            filler = _fill(disk, leave=48 * 1024)
            target = testimonies / "officer-left-unit-2023.md"
            target.write_text(target.read_text("utf-8") + "\nThe ferry left at dawn.\n", "utf-8")
            for args in (("--full",), ()):
                result = archive_index(testimonies, index, *args)
                assert result.returncode == 1, result.stdout + result.stderr
                assert "Traceback" not in result.stderr
                assert "disk is full" in result.stderr and "No space left" in result.stderr
                assert "previous one is still in use" in result.stderr
                assert current_generation(public) == live
                assert leftovers(public) == [] and lock_is_free(public)
                assert sorted(p.name for p in public.iterdir()) == ["CURRENT", "LOCK", live]
                status, _, body = server.get("/search.json?q=commission")
                assert status == 200 and json.loads(body)["total"] > 0
            filler.unlink()
            result = archive_index(testimonies, index)
            assert result.returncode == 0, result.stderr
            assert current_generation(public) != live
            deadline = time.monotonic() + 30
            while json.loads(server.get("/search.json?q=ferry")[2])["total"] == 0:
                assert time.monotonic() < deadline, "the server never picked up the new index"
                time.sleep(0.2)
        assert "Traceback" not in server.output


# --- several writers -------------------------------------------------------------------------------


def test_concurrent_index_runs_never_write_together(small_corpus_dir, tmp_path):
    testimonies, index = small_corpus_dir, tmp_path / "index"
    public = index / "public"
    for path in sorted(testimonies.glob("*.md"))[::2]:  # 100 files: a build of a few seconds
        path.unlink()
    processes = [start_index(testimonies, index, "--full") for _ in range(2)]
    processes.append(start_index(testimonies, index))
    most, writers, polls = 0, set(), 0
    deadline = time.monotonic() + 240
    try:
        while any(p.poll() is None for p in processes):
            assert time.monotonic() < deadline, "the index runs did not finish"
            try:
                names = [p.name for p in public.iterdir() if p.name.startswith("tmp-")]
            except FileNotFoundError:  # not created yet
                names = []
            most = max(most, len(names))
            writers |= {name.rsplit("-", 1)[1] for name in names}
            polls += 1
            time.sleep(0.005)
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    results = [(p.returncode, *p.communicate(timeout=30)) for p in processes]
    for code, _out, err in results:
        assert code in (0, 1), err
        assert "Traceback" not in err
        if code == 1:
            assert "another 'archive index'" in err and "is writing this index" in err, err
    succeeded = sum(1 for code, _, _ in results if code == 0)
    refused = len(results) - succeeded
    print(
        f"\nconcurrent runs: {succeeded} succeeded (one at a time), {refused} refused; "
        f"{len(writers)} writer(s) seen over {polls} polls, at most {most} at once"
    )
    assert succeeded >= 1 and most == 1
    assert lock_is_free(public) and leftovers(public) == []
    assert index_answers(public) > 0
