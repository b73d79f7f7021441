"""A server without a watcher picks up a reindex without making a reader wait for it."""

from __future__ import annotations

import threading
import time

from helpers import TODAY, build, make_app, write_archive

TESTIMONY = """\
---
id: clerk
title: A clerk's account
narrator: A clerk
language: en
status: public
source: "sample, written for the archive's tests"
---

**A clerk:** The ledger was kept in the {word} room.
"""


def test_a_reindex_is_read_in_the_background_while_requests_keep_answering(tmp_path):
    testimonies = write_archive(tmp_path / "t", {"clerk": TESTIMONY.format(word="upper")})
    config = build(testimonies, tmp_path / "index")
    app = make_app(testimonies, tmp_path / "index", today=TODAY,
                   GENERATION_CHECK_SECONDS=0, RELOAD_WAIT_SECONDS=0.2)  # fmt: skip
    client = app.test_client()
    assert "upper room" in client.get("/t/clerk/").get_data(as_text=True)

    (testimonies / "clerk.md").write_text(TESTIMONY.format(word="lower"), encoding="utf-8")
    build(testimonies, config.index)
    # A slow read of the archive (a large one takes seconds): hold the lock a reload takes.
    resources = app.extensions["archive"]
    with resources._load_lock:
        started = time.monotonic()
        html = client.get("/t/clerk/").get_data(as_text=True)
        waited = time.monotonic() - started
        # The request that noticed the new generation did not wait for the reload: it
        # served the previous snapshot, as every request does until the reload is done.
        assert waited < 5, waited
        assert "upper room" in html
        # Search answers too; the testimony whose file changed since the snapshot was read
        # is left out of it (stale) rather than shown with words its page lacks.
        assert client.get("/search.json?q=lower").get_json()["total"] == 0
        assert time.monotonic() - started < 10

    deadline = time.monotonic() + 30
    while "lower room" not in client.get("/t/clerk/").get_data(as_text=True):
        assert time.monotonic() < deadline, "the new generation was never picked up"
        time.sleep(0.05)
    assert client.get("/search.json?q=lower").get_json()["total"] == 1
    assert client.get("/search.json?q=upper").get_json()["total"] == 0
    assert not [t for t in threading.enumerate() if t.name == "archive-reload" and t.is_alive()]
