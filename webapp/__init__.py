"""The archive's web pages and JSON API, built by :func:`create_app`.

Every page has one data function (:mod:`webapp.data`) whose dict feeds both
the HTML template and the ``.json`` twin of the page, so the two can never
disagree. The static export (:mod:`webapp.publish`) drives the same app through
``app.test_client()``: every page is reachable by a URL that ends in ``/``
(or ``.json``/``.xml``) and depends on no server-side session.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from archive.config import SETTINGS, resolve_config

__all__ = ["create_app"]

_SETTING_NAMES = {s.name for s in SETTINGS}


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app.

    ``test_config`` may hold archive settings by their names (``testimonies``,
    ``index``, ``site_url``, ``log_queries``, ``today``) and any Flask setting
    in capitals (``TESTING``, ``GENERATION_CHECK_SECONDS``...). Settings not
    given come from the environment, then from the defaults.
    """
    app = Flask(__name__)
    test_config = dict(test_config or {})
    explicit = {k: v for k, v in test_config.items() if k in _SETTING_NAMES}
    app.config.from_mapping(
        GENERATION_CHECK_SECONDS=2.0,
        # How long the request that notices a new index generation waits for the archive
        # to be read again before serving the previous one (see webapp.resources).
        RELOAD_WAIT_SECONDS=0.5,
        MAX_PARAM_LENGTH=2000,
        JSON_SORT_KEYS=False,
    )
    app.config.update({k: v for k, v in test_config.items() if k not in _SETTING_NAMES})
    config = resolve_config(**explicit)
    app.config["ARCHIVE"] = config
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    from . import editor, resources, security, views

    resources.init_app(app, config)
    security.init_app(app)
    views.init_app(app)
    editor.init_app(app)
    from .publish import staticmode  # static export: what templates add for a static host

    staticmode.init_app(app)
    return app
