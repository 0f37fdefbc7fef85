"""Our mail domain: the right-hand side of the Message-IDs and return addresses we create.

An address or Message-ID names a domain (RFC 5322 sections 3.4.1 and 3.6.4). A host
known only by its IP address is written as a domain literal, ``[192.0.2.1]`` or
``[IPv6:2001:db8::1]`` (RFC 5321 section 4.1.3); a bare ``@192.0.2.1`` is no host name,
and relays may refuse or rewrite it. Internationalised names go out as their ASCII
``xn--`` form (RFC 5890), which every relay accepts without SMTPUTF8.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import urlsplit

import idna

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_MAX_NAME_LENGTH = 253  # RFC 1035 section 2.3.4, without the root's trailing dot


class InvalidMailDomain(ValueError):
    """A value that cannot be our mail domain; the message says why."""


def address_domain(host: str) -> str:
    """`host` written as the domain of an address or Message-ID.

    A host name comes back in lower case (``localhost`` stays as it is), an
    internationalised one as its A-labels, an IPv4 address as ``[192.0.2.1]``, an IPv6
    address as ``[IPv6:2001:db8::1]``; a domain literal comes back in that same form, so
    two spellings of one domain compare equal.
    """
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        return _domain_literal(host[1:-1])
    ip = _ip_address(host)
    if ip is not None:
        return _format_ip(ip)
    if host.isascii():
        return host.lower()
    return _a_labels(host)


def parse_mail_domain(value: str) -> str:
    """A configured mail domain (MAIL_DOMAIN), checked: a DNS name or a domain literal."""
    value = value.strip()
    if value.startswith("["):
        if not value.endswith("]"):
            raise InvalidMailDomain("a domain literal ends with ']'")
        return address_domain(value)
    ip = _ip_address(value)
    if ip is not None:
        raise InvalidMailDomain(f"an IP address is written as a domain literal: {_format_ip(ip)}")
    name = value.lower() if value.isascii() else _a_labels(value)
    if len(name) > _MAX_NAME_LENGTH:
        raise InvalidMailDomain(f"a domain name has at most {_MAX_NAME_LENGTH} characters")
    labels = name.split(".")
    for label in labels:
        if not label:
            raise InvalidMailDomain("a domain name has no leading, trailing or double dots")
        if not _LABEL.fullmatch(label):
            raise InvalidMailDomain(
                f"{label!r} is not a DNS label (letters, digits and inner hyphens, "
                "1 to 63 characters)"
            )
    if labels[-1].isdigit():
        # RFC 3696 section 2: an all-numeric top-level label would read as an address.
        raise InvalidMailDomain("the last label of a domain name cannot be all digits")
    return name


@lru_cache(maxsize=64)
def mail_domain(public_url: str, configured: str | None = None) -> str:
    """The domain in our Message-IDs and return addresses: `configured` (MAIL_DOMAIN,
    checked by `parse_mail_domain`) when set, else the host of PUBLIC_URL."""
    if configured:
        return configured
    return address_domain(urlsplit(public_url).hostname or "localhost")


def own_mail_domains(public_url: str, configured: str | None = None) -> frozenset[str]:
    """The domains our return addresses may carry in mail that comes back: the mail
    domain, and PUBLIC_URL's host for mail sent before MAIL_DOMAIN was set. Compare
    `canonical_domain` of an address's domain with these; that also matches the bare
    ``@127.0.0.1`` of mail sent before IP addresses were written as domain literals."""
    return frozenset({mail_domain(public_url, configured), mail_domain(public_url)})


def canonical_domain(domain: str) -> str | None:
    """`address_domain` of a domain found in received mail, or None when it is none."""
    try:
        return address_domain(domain)
    except InvalidMailDomain:
        return None


def _ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _format_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if ip.version == 4:
        return f"[{ip}]"
    # A zone (fe80::1%eth0) names an interface of one machine; it has no place in mail.
    return f"[IPv6:{ipaddress.IPv6Address(int(ip)).compressed}]"


def _domain_literal(content: str) -> str:
    tag, colon, rest = content.partition(":")
    try:
        if colon and tag.lower() == "ipv6":
            return _format_ip(ipaddress.IPv6Address(rest))
        return _format_ip(ipaddress.IPv4Address(content))
    except ValueError:
        raise InvalidMailDomain(
            f"[{content}] is not a domain literal: write [192.0.2.1] or [IPv6:2001:db8::1]"
        ) from None


def _a_labels(name: str) -> str:
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise InvalidMailDomain(
            f"{name!r} is not an internationalised domain name: {exc}"
        ) from None
