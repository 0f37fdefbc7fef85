"""Posting one signed message to an endpoint: to the address that was checked (not a
fresh lookup), with short timeouts, no redirects and a capped response read."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from helpdesk.webhooks.addresses import Target, UnsafeURL, resolve

CONNECT_TIMEOUT_SECONDS = 3.0
# Only the start of an answer is kept for the log; a receiver cannot make us read more.
RESPONSE_CAP_BYTES = 64 * 1024
LOGGED_RESPONSE_CHARS = 2000
USER_AGENT = "helpdesk-webhooks/1"


@dataclass(frozen=True)
class PostResult:
    status_code: int | None
    duration_ms: int
    error: str = ""
    response_body: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def make_client(timeout_seconds: float, pool_size: int = 32) -> httpx.Client:
    return httpx.Client(
        follow_redirects=False,
        timeout=httpx.Timeout(
            timeout_seconds, connect=min(CONNECT_TIMEOUT_SECONDS, timeout_seconds)
        ),
        limits=httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size),
        trust_env=False,
    )


def _pinned_url(target: Target) -> str:
    """The URL with the checked address as its host; the name goes in Host and SNI."""
    parts = urlsplit(target.url)
    address = ipaddress.ip_address(target.address)
    host = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def post(
    client: httpx.Client,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    allow_private: bool,
    timeout_seconds: float,
) -> PostResult:
    started = time.monotonic()

    def result(status: int | None, error: str = "", text: str = "") -> PostResult:
        elapsed = int((time.monotonic() - started) * 1000)
        return PostResult(status, elapsed, error[:500], text[:LOGGED_RESPONSE_CHARS])

    try:
        target = resolve(url, allow_private=allow_private)
    except UnsafeURL as exc:
        return result(None, f"refused: {exc}")
    parts = urlsplit(target.url)
    host_header = parts.hostname if not parts.port else f"{parts.hostname}:{parts.port}"
    request_headers = {
        **headers,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "host": host_header,
    }
    deadline = started + timeout_seconds
    try:
        with client.stream(
            "POST",
            _pinned_url(target),
            content=body,
            headers=request_headers,
            extensions={"sni_hostname": target.host},
        ) as response:
            read = bytearray()
            for chunk in response.iter_bytes():
                read.extend(chunk)
                if len(read) >= RESPONSE_CAP_BYTES or time.monotonic() > deadline:
                    break
            text = bytes(read[:RESPONSE_CAP_BYTES]).decode("utf-8", "replace")
            return result(response.status_code, "", text)
    except httpx.TimeoutException:
        return result(None, "timed out")
    except httpx.HTTPError as exc:
        return result(None, f"{type(exc).__name__}: {exc}")
