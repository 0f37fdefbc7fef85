"""Where a `next` parameter may send the browser: only a path on our own site, judged the
way a browser will read the Location header, since an open redirect lends our domain to a
phishing link."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote, urlsplit

# Browsers drop TAB, CR and LF anywhere in a URL, trim other controls and spaces at the
# ends, and read a backslash as a slash: `/\t/evil.example` arrives as `//evil.example`.
# None of them belongs in a path we produce (ours are percent-encoded), so any of them,
# or any other whitespace, refuses the target outright.
_REFUSED = re.compile(r"[\x00-\x20\x7f-\x9f\\]|\s")
# A dot or empty segment lets `/.//evil.example` resolve to the path `//evil.example`,
# which the next hop may take for a host; our own paths have neither.
_DOT_SEGMENTS = {".", ".."}
# Host parsers map these full stops to "."; NFKC folds the fullwidth solidus and
# reverse solidus into their ASCII forms.
_FULL_STOPS = str.maketrans({"\u3002": ".", "\uff61": "."})


def safe_redirect_target(target: str | None, default: str = "/") -> str:
    """`target` when it is a path on this site (`/tickets?view=mine`), else `default`."""
    # `//host` is scheme-relative: another site, reached over our scheme.
    if not target or _REFUSED.search(target) or not target.startswith("/"):
        return default
    if target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    # The path is judged also as a proxy or a later redirect may read it: decoded once
    # (`%09`, `%5c`, `%2e`) and with look-alikes (fullwidth solidus, ideographic full
    # stop) folded into the ASCII characters some URL parsers map them to.
    for path in (parts.path, _folded(parts.path), _folded(unquote(parts.path))):
        if _REFUSED.search(path) or "//" in path:
            return default
        if any(segment in _DOT_SEGMENTS for segment in path.split("/")):
            return default
    return target


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_FULL_STOPS)
