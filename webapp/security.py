"""Response headers that hold even if a testimony or a query smuggles markup in.

The page templates carry no inline script and no ``style=`` attribute, so the
policy below needs no ``'unsafe-inline'`` and no nonce: a script that does
not come from our own ``/static/`` cannot run.
"""

from __future__ import annotations

from flask import Flask, Response

__all__ = ["CSP", "SECURITY_HEADERS", "init_app"]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; "
    "manifest-src 'self'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def _add_headers(response: Response) -> Response:
    """Each header unless the view set its own (setdefault, with one look at the headers
    rather than one per name: this runs for every response and every exported page)."""
    present = {name.lower() for name, _ in response.headers}
    response.headers.extend(
        [(name, value) for name, value in SECURITY_HEADERS.items() if name.lower() not in present]
    )
    return response


def init_app(app: Flask) -> None:
    app.after_request(_add_headers)
