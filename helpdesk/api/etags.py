"""Entity tags for single resources: the hash of the representation a GET returns, so any
change a client could see changes it. A PATCH must send it back in If-Match: 412 when the
record changed since the client read it, 428 when it sent none. A GET that sends it in
If-None-Match gets 304 and no body while the record is unchanged."""

from __future__ import annotations

import hashlib

from flask import request
from pydantic import BaseModel

from helpdesk.api.problems import Problem


def etag_of_json(body: str) -> str:
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def etag_of(representation: BaseModel) -> str:
    return etag_of_json(representation.model_dump_json())


def _tags(header: str) -> set[str]:
    # RFC 9110 8.8.3.2: the weak comparison, which ignores the W/ prefix.
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}


def not_modified(etag: str) -> bool:
    """Whether the request's If-None-Match holds this ETag (or "*"): RFC 9110 13.1.2."""
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    sent = _tags(header)
    return "*" in sent or etag in sent


def check_if_match(current: BaseModel) -> None:
    header = request.headers.get("If-Match")
    if not header:
        raise Problem(
            428,
            "Precondition required",
            "Send the ETag of your copy in If-Match, so a change made since you read the "
            "record is not overwritten.",
        )
    sent = _tags(header)
    if "*" not in sent and etag_of(current) not in sent:
        raise Problem(
            412,
            "Precondition failed",
            "The record changed since you read it. Read it again and repeat your change.",
            headers={"ETag": etag_of(current)},
        )
