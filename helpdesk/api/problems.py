"""RFC 9457 problem details: every API error is application/problem+json naming what is
wrong, and for bad input each offending field with its message."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from flask import Response
from pydantic import BaseModel, ValidationError

PROBLEM_TYPE = "application/problem+json"


class FieldError(BaseModel):
    field: str
    message: str


class ProblemBody(BaseModel):
    """The problem document (RFC 9457), with `errors` for input that was refused."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None


class Problem(Exception):
    """Raised anywhere in an API view; becomes the problem response."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        errors: Iterable[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(title)
        self.body = ProblemBody(
            title=title,
            status=status,
            detail=detail,
            errors=list(errors) if errors is not None else None,
        )
        self.headers = dict(headers or {})


def invalid_input(errors: Iterable[FieldError], detail: str | None = None) -> Problem:
    return Problem(422, "Invalid input", detail or "Some fields are not valid.", errors=errors)


def field_errors(errors: Mapping[str, object], prefix: str = "") -> list[FieldError]:
    """A service's refusal ({field: message}) as field errors, under `prefix` (the place of
    the item in a batch, like "purchases[3].")."""
    return [
        FieldError(field=f"{prefix}{key}", message=str(message)) for key, message in errors.items()
    ]


def from_validation_error(exc: ValidationError, prefix: str = "") -> Problem:
    """Pydantic's errors with their location as a dotted path (`orders[2].amount`)."""
    errors = []
    for error in exc.errors(include_url=False, include_input=False):
        path = ""
        for part in error["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        errors.append(FieldError(field=prefix + (path or "body"), message=error["msg"]))
    return invalid_input(errors)


def problem_response(problem: Problem) -> Response:
    body = problem.body.model_dump(exclude_none=True)
    response = Response(json.dumps(body), status=problem.body.status, mimetype=PROBLEM_TYPE)
    response.headers.update(problem.headers)
    return response
