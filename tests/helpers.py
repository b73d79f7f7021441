"""The one way the tests write an archive, index it and make the app over it.

``tests/conftest.py`` layers fixtures on these (archive directory, app, client, browser
page); module-scoped fixtures, which cannot use function-scoped ones, call them directly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from archive.config import Config, resolve_config
from archive.index import build_index

#: The fixed "today" of the tests' archives: embargoes that end in 2099 are in force.
TODAY = "2025-06-01"


def write_archive(directory: Path, testimonies: dict) -> Path:
    """Write ``testimonies`` into ``directory`` (made if missing) and return it.

    Each value is the whole file, or ``(front matter, body)``: the front matter then gets
    the ``id``, ``language: en`` and ``status: public`` unless it says otherwise.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for testimony_id, value in testimonies.items():
        if isinstance(value, str):
            text = value
        else:
            front, body = value
            meta = {"id": testimony_id, "language": "en", "status": "public"} | front
            lines = ["---", *(f"{k}: {v}" for k, v in meta.items()), "---", "", ""]
            text = "\n".join(lines) + body
        (directory / f"{testimony_id}.md").write_text(text, encoding="utf-8")
    return directory


def build(testimonies: Path, index_root: Path, *, include_restricted: bool = False) -> Config:
    """Index an archive with the real indexer; returns the config naming both indexes."""
    config = resolve_config(testimonies=testimonies, index=index_root)
    report = build_index(config, full=True, include_restricted=include_restricted)
    assert not report.errors, report.errors
    return config


def make_app(testimonies: Path, index: Path, *, today: str = TODAY, **settings: object):
    """The real Flask app over ``testimonies`` and ``index``; ``settings`` as ``create_app``
    takes them (``TESTING``, ``site_url``, ``GENERATION_CHECK_SECONDS``...)."""
    from webapp import create_app

    # A request that notices a reindex waits for the archive to be read again, so a test
    # sees its edit in the next answer (a server waits at most half a second).
    settings.setdefault("RELOAD_WAIT_SECONDS", 60.0)
    return create_app({"testimonies": testimonies, "index": index, "today": today, **settings})


def run_archive(*args: str, today: str, **kwargs) -> subprocess.CompletedProcess:
    """The command line in a fresh interpreter, with a fixed date and queries not logged."""
    env = {**os.environ, "ARCHIVE_TODAY": today, "ARCHIVE_LOG_QUERIES": "0"}
    return subprocess.run(
        [sys.executable, "-m", "archive", *args],
        capture_output=True, text=True, env=env, timeout=300, **kwargs,
    )  # fmt: skip
