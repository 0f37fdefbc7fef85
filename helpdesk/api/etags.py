"""Entity tags for single resources: the hash of the representation a GET returns, so any
change a client could see changes it. A PATCH must send it back in If-Match: 412 when the
record changed since the client read it, 428 when it sent none."""

from __future__ import annotations

import hashlib

from flask import request
from pydantic import BaseModel

from helpdesk.api.problems import Problem


def etag_of_json(body: str) -> str:
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def etag_of(representation: BaseModel) -> str:
    return etag_of_json(representation.model_dump_json())


def check_if_match(current: BaseModel) -> None:
    header = request.headers.get("If-Match")
    if not header:
        raise Problem(
            428,
            "Precondition required",
            "Send the ETag of your copy in If-Match, so a change made since you read the "
            "record is not overwritten.",
        )
    sent = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if "*" not in sent and etag_of(current) not in sent:
        raise Problem(
            412,
            "Precondition failed",
            "The record changed since you read it. Read it again and repeat your change.",
            headers={"ETag": etag_of(current)},
        )
