"""Editor mode (``archive serve --editor``): "Copy link" also records the quote in the ledger.

A public server never writes: the one route that does exists only when the
app is built with ``EDITOR`` set, and ``archive serve`` refuses editor mode
on any address but loopback. Each write must also carry the page's token
(from its ``data-ledger-token``; a page from elsewhere cannot read it), come
from this server's own origin, and name a loopback host, so another site in
the editor's browser can neither forge a write nor reach one by pointing its
own name at 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import secrets
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request

from archive.urls import TESTIMONY

__all__ = ["EDITOR", "EDITOR_TOKEN", "init_app", "is_loopback"]

#: Flask setting: the app records quotes ("Copy link") in the ledger.
EDITOR = "EDITOR"
#: Flask setting holding the per-process token every write must carry.
EDITOR_TOKEN = "EDITOR_TOKEN"  # noqa: S105 - the setting's name, not a secret
#: The request header carrying the token.
TOKEN_HEADER = "X-Archive-Token"  # noqa: S105 - a header name

bp = Blueprint("editor", __name__)


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1 (with or without brackets)."""
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _hostname(host: str) -> str:
    """``[::1]:8000`` -> ``::1``; ``127.0.0.1:8000`` -> ``127.0.0.1``."""
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0]


def _refuse(status: int, message: str) -> Any:
    response = jsonify({"error": message})
    response.status_code = status
    return response


@bp.route(TESTIMONY + "ledger", methods=["POST"])
def record_quote(testimony_id: str) -> Any:
    from . import data
    from .resources import get_resources

    if not is_loopback(_hostname(request.host)):
        return _refuse(403, "the ledger is written only through a loopback address")
    origin = request.headers.get("Origin", "")
    if origin != f"{request.scheme}://{request.host}":
        return _refuse(403, "the ledger is written only from this archive's own pages")
    token = request.headers.get(TOKEN_HEADER, "")
    if not secrets.compare_digest(token.encode(), current_app.config[EDITOR_TOKEN].encode()):
        return _refuse(403, "this page's editor token is missing or out of date: reload it")
    payload = request.get_json(silent=True)
    try:
        return jsonify(data.record_quote(get_resources(), payload, testimony_id))
    except data.PageError as exc:
        return _refuse(exc.status, exc.message if exc.status != 404 else "Page not found")


def init_app(app: Flask) -> None:
    if not app.config.get(EDITOR):
        return  # no route: a public server cannot write the ledger
    app.config.setdefault(EDITOR_TOKEN, secrets.token_urlsafe(32))
    app.register_blueprint(bp)

    @app.context_processor
    def _token() -> dict[str, Any]:
        return {"editor_token": app.config[EDITOR_TOKEN]}
