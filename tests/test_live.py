"""`archive serve` applies edits of the files by itself: through HTTP, with the real watcher.

A real server subprocess on 127.0.0.1 over a copy of the samples plus one
testimony of our own whose words appear nowhere else. Every check that a
word is gone polls every answer that could carry it (search, a prefix
search, a misspelling that "did you mean" would correct, the page, its
JSON) and records when it went; each must go within :data:`GOAL` seconds of
the save and never come back. Coming back (the new version indexed) is
allowed longer on this shared machine.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from archive_server import ROOT, ArchiveServer

#: From a save to gone from every answer.
GOAL = 2.0
#: From a save to the new version served (an index update on a busy machine).
BACK = 60.0
TID = "live-watch-canary-2025"
WORD = "quillfeather"

VERSION = """---
id: {tid}
title: "A ferryman on the night crossings"
narrator: "Osip (pseudonym)"
interviewer: "Newsroom staff"
date: 2025-03-02
place: "River delta"
language: en
status: {status}
source: "Written for this archive's tests; not a real person's account"
license: "CC BY 4.0"
---

**Q:** Who took you across?

**A:** {name} rowed us over the delta at night, past the reed beds.
{{: #crossing }}

**A:** We waited three days in a boathouse for the fog to come back.
{{: #waiting }}
"""


def text(name: str = WORD.capitalize(), status: str = "public", tid: str = TID) -> str:
    return VERSION.format(tid=tid, name=name, status=status)


@pytest.fixture
def live(tmp_path: Path):
    testimonies = tmp_path / "testimonies"
    shutil.copytree(ROOT / "testimonies", testimonies)
    (testimonies / f"{TID}.md").write_text(text(), encoding="utf-8")
    with ArchiveServer(testimonies, tmp_path / "index", tmp_path / "logs") as server:
        server.testimonies = testimonies
        yield server


def answers(server: ArchiveServer, word: str = WORD) -> dict[str, tuple[int, bytes]]:
    """Every answer that could show ``word`` (or a testimony holding it)."""
    paths = {
        "search": f"/search.json?q={quote(word)}",
        "prefix": f"/search.json?q={quote(word[:-3])}*",
        "misspelt": f"/search.json?q={quote(word[:-2] + word[-1])}",  # "did you mean"
        "page": f"/t/{TID}/",
        "json": f"/t/{TID}.json",
        "feed": "/feed.xml",
    }
    result = {}
    for name, path in paths.items():
        status, _, body = server.get(path)
        result[name] = (status, body)
    return result


def shows(server: ArchiveServer, word: str = WORD) -> list[str]:
    """The answers that show ``word`` (a search's own query, echoed back, does not count)."""
    shown = []
    for name, (_, body) in answers(server, word).items():
        if body.startswith(b"{") and b'"hits"' in body and b'"groups"' in body:
            results = json.loads(body)
            body = json.dumps([results[k] for k in ("hits", "groups", "facets", "suggestion")])
            body = body.encode()
        if word.encode() in body.lower():
            shown.append(name)
    return shown


def wait_for(predicate, timeout: float, step: float = 0.05) -> float:
    """Seconds from the call to the start of the first check that holds; fails after ``timeout``.

    Measured to the start of the check, not its end: the requests of a check
    take a while on a busy machine, and the answer is what it was when asked.
    """
    started = time.monotonic()
    while True:
        asked = time.monotonic()
        if predicate():
            return asked - started
        assert asked - started < timeout, "timed out"
        time.sleep(step)


def found(server: ArchiveServer, query: str) -> int:
    status, _, body = server.get(f"/search.json?q={quote(query)}")
    assert status == 200, body[:300]
    return json.loads(body)["total"]


def served_version(server: ArchiveServer) -> bool:
    """The page is back (200) and search finds the testimony again."""
    status, _, _ = server.get(f"/t/{TID}/")
    return status == 200 and found(server, "boathouse") == 1


def redact_and_check(server: ArchiveServer, save) -> None:
    assert shows(server) and found(server, WORD) == 1
    started = time.monotonic()
    save(text(f"[{WORD.capitalize()}]{{.redact}}"))
    gone = wait_for(lambda: not shows(server), GOAL)
    assert gone <= GOAL, gone
    while not served_version(server):  # until the new version is live, never shown again
        assert not shows(server)
        assert time.monotonic() - started < BACK
        time.sleep(0.05)
    assert not shows(server)
    assert found(server, "reed") == 1  # the rest of the passage is public again
    _, _, page = server.get(f"/t/{TID}/")
    assert b"[redacted]" in page


def test_redaction_saved_in_place_is_gone_at_once(live: ArchiveServer) -> None:
    path = live.testimonies / f"{TID}.md"
    redact_and_check(live, lambda body: path.write_text(body, encoding="utf-8"))


def test_redaction_saved_through_a_renamed_temporary_file(live: ArchiveServer) -> None:
    path = live.testimonies / f"{TID}.md"

    def save(body: str) -> None:  # as editors do: write beside it, then rename over it
        tmp = path.with_name(f".{path.name}.swp")
        tmp.write_text(body, encoding="utf-8")
        os.replace(tmp, path)

    redact_and_check(live, save)


def test_status_restricted_gives_404_and_deleted_file_is_gone(live: ArchiveServer) -> None:
    path = live.testimonies / f"{TID}.md"
    path.write_text(text(status="restricted"), encoding="utf-8")
    wait_for(lambda: live.get(f"/t/{TID}/")[0] == 404 and found(live, "boathouse") == 0, GOAL)
    time.sleep(3)  # after the update too
    assert live.get(f"/t/{TID}/")[0] == 404 and not shows(live)
    # A new file is found; deleting it takes it away again.
    other = live.testimonies / "live-watch-new-2025.md"
    other.write_text(text("Marrowdale", tid="live-watch-new-2025"), encoding="utf-8")
    wait_for(lambda: found(live, "marrowdale") == 1, BACK)
    assert live.get("/t/live-watch-new-2025/")[0] == 200
    other.unlink()
    wait_for(lambda: found(live, "marrowdale") == 0, GOAL)
    time.sleep(3)
    assert found(live, "marrowdale") == 0 and live.get("/t/live-watch-new-2025/")[0] == 404


def test_half_written_file_never_publishes(live: ArchiveServer) -> None:
    path = live.testimonies / f"{TID}.md"
    seen: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.extend(shows(live, "hollowmere"))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        body = text("[Hollowmere]{.redact}")
        cut = body.index("Hollowmere") + len("Hollowmere")  # mid-redaction: "[Hollowmere"
        with open(path, "w", encoding="utf-8") as f:  # written in two pieces, as a slow writer
            f.write(body[:cut])
            f.flush()
            time.sleep(0.15)
            f.write(body[cut:])
        deadline = time.monotonic() + BACK
        while not served_version(live):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        stop.set()
        watcher.join()
    assert seen == []
    assert not shows(live, "hollowmere")


def test_invalid_file_withdraws_its_testimony_and_the_log_names_it(live: ArchiveServer) -> None:
    path = live.testimonies / f"{TID}.md"
    path.write_text(text().replace("status: public", "status: public\nnonsense_key: 1"))
    wait_for(lambda: live.get(f"/t/{TID}/")[0] == 404, GOAL)
    line = f"{path}:10: this file has an error"  # the line of the unknown key
    wait_for(lambda: line in live.stderr_path.read_text(encoding="utf-8"), BACK, step=0.2)
    assert live.get(f"/t/{TID}/")[0] == 404 and found(live, "boathouse") == 0


def test_no_watch_leaves_files_to_archive_index(tmp_path: Path) -> None:
    testimonies = tmp_path / "testimonies"
    shutil.copytree(ROOT / "testimonies", testimonies)
    (testimonies / f"{TID}.md").write_text(text(), encoding="utf-8")
    server = ArchiveServer(testimonies, tmp_path / "index", tmp_path / "logs")
    server.command.append("--no-watch")
    with server:
        (testimonies / f"{TID}.md").write_text(text("Thornwick"), encoding="utf-8")
        time.sleep(2)
        assert found(server, "thornwick") == 0  # not watched: the index is as it was


def test_two_servers_over_one_index_directory(tmp_path: Path) -> None:
    """A watching server writes the index; a read-only one (``--no-watch``) beside it, as
    replicas behind a reverse proxy would run, picks up each swap without a restart."""
    testimonies = tmp_path / "testimonies"
    shutil.copytree(ROOT / "testimonies", testimonies)
    path = testimonies / f"{TID}.md"
    path.write_text(text(), encoding="utf-8")
    with ArchiveServer(testimonies, tmp_path / "index", tmp_path / "writer") as writer:
        reader = ArchiveServer(testimonies, tmp_path / "index", tmp_path / "reader")
        reader.command.append("--no-watch")
        with reader:
            assert shows(writer) and shows(reader)
            path.write_text(text(f"[{WORD.capitalize()}]{{.redact}}"), encoding="utf-8")
            assert wait_for(lambda: not shows(writer), GOAL) <= GOAL
            # The reader sees the redaction when the writer's new generation is live.
            wait_for(lambda: not shows(reader) and served_version(reader), BACK, step=0.2)
            queries = ("boathouse", "reed", "delta", "hospital", WORD)
            assert [found(reader, q) for q in queries] == [found(writer, q) for q in queries]
            assert reader.get(f"/t/{TID}.json")[2] == writer.get(f"/t/{TID}.json")[2]
        assert "Traceback" not in reader.output, reader.output[-3000:]
        assert "index is locked" not in reader.output.lower()


@pytest.mark.slow
def test_hundred_rapid_saves_end_in_the_last_version(live: ArchiveServer) -> None:
    path = live.testimonies / f"{TID}.md"
    for n in range(100):
        path.write_text(text(f"Rower{n:03d}"), encoding="utf-8")
        time.sleep(0.01)
    wait_for(lambda: found(live, "rower099") == 1, BACK)
    time.sleep(2)
    assert found(live, "rower099") == 1
    assert all(found(live, f"rower{n:03d}") == 0 for n in (0, 50, 98))
    assert found(live, WORD) == 0


@pytest.mark.slow
def test_kill_during_a_live_update_then_restart_serves_a_consistent_generation(
    live: ArchiveServer,
) -> None:
    path = live.testimonies / f"{TID}.md"
    for delay in (0.35, 0.5, 0.8):  # settle is 0.3 s: inside the update
        path.write_text(text(f"Kestrel{int(delay * 100)}"), encoding="utf-8")
        time.sleep(delay)
        os.kill(live.pid, signal.SIGKILL)
        live.process.wait()
        live.stop()
        live.start()
        word = f"kestrel{int(delay * 100)}"
        wait_for(lambda w=word: found(live, w) == 1, BACK)
        assert found(live, WORD) == 0
        assert live.get(f"/t/{TID}/")[0] == 200
        assert found(live, "boathouse") == 1
