"""Address headers (From, To, Cc, Reply-To) written from structured addresses, and proven.

The email package refolds every header it writes, and a long quoted display name loses
its quotes when folded: `"xxxx..., Bcc: x@evil" <a@b>` comes out as two addresses.
So a display name is written here either as plain words (short, letters and digits
only) or as RFC 2047 encoded words, which hold any character and fold safely, and the
value is stored as written (`set_raw`). Parsing the result must give back exactly the
addresses that went in; anything else is refused with `UnsafeAddress`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as _default_policy

MAX_LINE = 76
# RFC 5322 atext words separated by single spaces: written as they are.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+( [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
# An encoded word is at most 75 characters: 45 bytes of UTF-8 make 60 in base64.
_WORD_BYTES = 45


class UnsafeAddress(ValueError):
    """An address that cannot be written so that it reads back as the same address."""


def display_name(name: str) -> str:
    """A display name as it will be written: whitespace runs (line breaks too) as one space."""
    return " ".join((name or "").split())


def _name_tokens(name: str) -> list[str]:
    if not name:
        return []
    if _PLAIN_NAME.fullmatch(name) and "=?" not in name and len(name) <= 40:
        return name.split(" ")
    # Chunks end after a space where they can: a reader that keeps the whitespace between
    # encoded words then shows one more space, not a space inside a word.
    chunks, chunk = [], ""
    for char in name:
        if len((chunk + char).encode()) > _WORD_BYTES:
            cut = chunk.rfind(" ") + 1 or len(chunk)
            chunks.append(chunk[:cut])
            chunk = chunk[cut:]
        chunk += char
    chunks.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(c.encode()).decode('ascii')}?=" for c in chunks]


def _same(read_back: Sequence[Address], written: Sequence[Address]) -> bool:
    """Exactly the same addresses, and the same names but for whitespace: RFC 2047 (6.2)
    drops the whitespace between encoded words, Python's parser keeps it."""
    return len(read_back) == len(written) and all(
        a.addr_spec == b.addr_spec
        and "".join(a.display_name.split()) == "".join(b.display_name.split())
        for a, b in zip(read_back, written, strict=True)
    )


def _fold(header: str, tokens: list[str]) -> str:
    lines = [f"{header}:"]
    for token in tokens:
        if len(lines[-1]) + 1 + len(token) > MAX_LINE and lines[-1] != f"{header}:":
            lines.append(token)
        else:
            lines[-1] += f" {token}"
    return "\n ".join(lines)[len(header) + 2 :]


def _as_address(value: Address | str) -> Address:
    if isinstance(value, Address):
        return Address(display_name=display_name(value.display_name), addr_spec=value.addr_spec)
    if "\r" in value or "\n" in value:
        raise UnsafeAddress(f"a line break in an address: {value!r}")
    parsed = _default_policy.header_factory("To", value).addresses
    if len(parsed) != 1:
        raise UnsafeAddress(f"not one address: {value!r}")
    return _as_address(parsed[0])


def address_header_value(header: str, values: Sequence[Address | str]) -> str:
    """The folded value of an address header; raises UnsafeAddress when it would not
    read back as exactly these addresses."""
    addresses = [_as_address(value) for value in values]
    tokens: list[str] = []
    for index, address in enumerate(addresses):
        spec = address.addr_spec
        if not spec or any(char.isspace() or not char.isprintable() for char in spec):
            raise UnsafeAddress(f"not an email address: {spec!r}")
        comma = "," if index < len(addresses) - 1 else ""
        name_tokens = _name_tokens(address.display_name)
        tokens += [*name_tokens, f"<{spec}>{comma}"] if name_tokens else [f"{spec}{comma}"]
    value = _fold(header, tokens)
    read_back = _default_policy.header_factory(header, value.replace("\n ", " ")).addresses
    if not _same(read_back, addresses):
        raise UnsafeAddress(f"{header} would not read back as {', '.join(map(str, addresses))}")
    return value


def set_address_header(
    message: EmailMessage, header: str, values: Address | str | Sequence[Address | str]
) -> None:
    """Replace `header` in `message` with these addresses, written and proven here."""
    values = [values] if isinstance(values, Address | str) else list(values)
    value = address_header_value(header, values)
    del message[header]
    message.set_raw(header, value)


def writable_sender(name: str, email: str) -> bool:
    """Whether a From header with this name and address reads back as exactly them: a
    form's check before anything is sent (a name must never smuggle in an address)."""
    try:
        address_header_value("From", [Address(display_name=name, addr_spec=email)])
    except (UnsafeAddress, ValueError):
        return False
    return True
