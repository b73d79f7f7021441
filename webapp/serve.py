"""Run the archive: waitress in production, Flask's development server with ``--debug``.

Neither writes what people search for: waitress keeps no access log, and the
development server's request lines are cut to the path (no query string)
unless ``log_queries`` is on.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.serving import WSGIRequestHandler

from archive.config import SETTINGS, Config
from archive.index import build_index

from . import create_app
from .editor import EDITOR
from .media import copy_maker
from .watch import Watcher

__all__ = ["DEFAULT_THREADS", "app_for", "serve"]

DEFAULT_THREADS = 4


class _PathOnlyHandler(WSGIRequestHandler):
    """Development-server request lines without the query string: searches stay private."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        path = urlsplit(self.path).path
        self.log("info", '"%s %s" %s %s', self.command, path, code, size)


def app_for(config: Config, **flask_config: Any) -> Flask:
    """The app for an already resolved configuration (what ``archive serve`` runs)."""
    values = asdict(config)
    settings = {s.name: values[s.name] for s in SETTINGS if values.get(s.name) is not None}
    return create_app({**settings, **flask_config})


def serve(
    config: Config,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    debug: bool = False,
    threads: int = DEFAULT_THREADS,
    announce: Any = print,
    watch: bool = True,
    editor: bool = False,
) -> None:
    """Bring the index up to date with the files, then serve until interrupted.

    An incremental run costs little when nothing changed, and it means a
    file restricted or redacted while the server was down is never served
    from an index that still holds it. With ``watch`` a background thread
    (:mod:`webapp.watch`) applies later edits of the files by itself;
    without it (a read-only deployment) a reindex by ``archive index`` is
    picked up instead.
    """
    report = build_index(config)
    if report.errors:
        announce(
            f"{len(report.errors)} problem(s) in testimony files: those files are not "
            "served. Run 'archive validate' to see them."
        )
    app = app_for(config, **({EDITOR: True} if editor else {}))
    resources = app.extensions["archive"]
    resources.current()  # read the archive now, not on the first request
    resources.start_quote_workers()  # quote checks in their own processes, off the GIL
    # Published recordings are made now, in the background, not when a reader asks.
    maker = copy_maker(app)
    maker.follow(resources.current())
    watcher = Watcher(resources, config, installed=maker.follow).start() if watch else None
    announce(
        f"Serving the archive at http://{host}:{port}/ (Ctrl+C to stop); "
        + ("edits of the files are applied as they are saved" if watch else "not watching files")
    )
    if editor:
        from archive.ledger import ledger_path

        announce(
            f"Editor mode: 'Copy link' records the selected words in {ledger_path(config.testimonies)}"
        )
    if not config.site_url:
        from archive.config import RELATIVE_LINKS_NOTE

        announce(RELATIVE_LINKS_NOTE)
    try:
        if debug:
            handler = WSGIRequestHandler if config.log_queries else _PathOnlyHandler
            app.run(host=host, port=port, debug=True, use_reloader=False, request_handler=handler)
            return
        import waitress

        waitress.serve(app, host=host, port=port, threads=threads, ident="testimony-archive")
    finally:
        resources.stop_quote_workers()
        if watcher is not None:
            watcher.stop()
        maker.stop()
