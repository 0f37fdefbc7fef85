"""Security headers on every response: a Content-Security-Policy that lets pages run
only our own scripts and styles, no framing by other sites, no MIME sniffing, no full
URLs in the Referer, and HSTS when the site is served over https.

A view that needs a different policy (a page showing mail, whose HTML carries inline
styles) says so with `@content_security_policy(...)`, or sets the header itself: a
header a response already has is never replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import make_response

DEFAULT_POLICY: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

# Mail and newsletters style themselves inline, and a srcdoc frame showing them is held
# to its page's policy; their scripts stay blocked, by this policy and the frame's own.
MAIL_STYLES = "'self' 'unsafe-inline'"


def policy(**changes: str) -> str:
    """The default policy with some directives replaced: `policy(img_src="'self' https:")`."""
    directives = DEFAULT_POLICY | {name.replace("_", "-"): value for name, value in changes.items()}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def content_security_policy(**changes: str) -> Callable:
    """A view decorator: this view's responses carry `policy(**changes)`."""
    header = policy(**changes)

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            response = make_response(view(*args, **kwargs))
            response.headers.setdefault("Content-Security-Policy", header)
            return response

        return wrapper

    return decorate


class SecurityHeaders:
    """WSGI middleware, outside everything that answers (the open pixel's fast path
    included), adding each header a response does not set itself."""

    def __init__(self, app, *, https: bool) -> None:
        self.app = app
        self.defaults = [
            ("Content-Security-Policy", policy()),
            ("X-Frame-Options", "DENY"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "same-origin"),
        ]
        if https:
            self.defaults.append(("Strict-Transport-Security", "max-age=31536000"))

    def __call__(self, environ, start_response):
        def add_headers(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            missing = [(n, v) for n, v in self.defaults if n.lower() not in present]
            return start_response(status, [*headers, *missing], exc_info)

        return self.app(environ, add_headers)
