"""Which endpoint URLs may be posted to: http(s) URLs whose host resolves only to public
addresses, unless private ones are allowed. Checked when an endpoint is saved and again
before every attempt (the name may resolve elsewhere by then: DNS rebinding), and the
attempt connects to the address that was checked."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


class UnsafeURL(ValueError):
    """The URL is malformed or its host resolves to an address we refuse."""


@dataclass(frozen=True)
class Target:
    url: str
    host: str
    address: str  # the checked IP address the request connects to


def check_url_shape(url: str) -> str:
    """The URL, stripped, if it is an absolute http(s) URL with a host and no credentials."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise UnsafeURL("not a valid URL") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL("use an http:// or https:// URL with a host name")
    if parts.username or parts.password:
        raise UnsafeURL("the URL must not contain a user name or password")
    return url


def _refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_private
    )


def resolve(url: str, *, allow_private: bool) -> Target:
    """Resolve the URL's host and check every address it has; raise UnsafeURL if any is
    refused (an attacker's name may list a public and a private one)."""
    url = check_url_shape(url)
    parts = urlsplit(url)
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeURL(f"cannot resolve {host}") from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise UnsafeURL(f"cannot resolve {host}")
    if not allow_private:
        refused = [str(a) for a in addresses if _refused(a)]
        if refused:
            raise UnsafeURL(f"{host} resolves to a private or reserved address ({refused[0]})")
    return Target(url=url, host=host, address=str(addresses[0]))
