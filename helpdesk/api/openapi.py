"""The OpenAPI 3.1 document, built from the routes as registered (helpdesk.api.routing)
and the JSON Schemas of their pydantic models: the document describes exactly the
validation the code does, with nothing maintained by hand."""

from __future__ import annotations

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from helpdesk.api.problems import PROBLEM_TYPE, ProblemBody
from helpdesk.api.routing import JSON_TYPE, Route
from helpdesk.input_bounds import MAX_ID

REF = "#/components/schemas/{model}"
# Answers every authenticated route may give.
COMMON_ERRORS = (400, 401, 403, 405, 414, 429)
_STATUS_TEXT = {
    400: "Bad request",
    401: "Missing, unknown, revoked or expired token",
    403: "The token lacks the scope",
    404: "Not found",
    405: "Method not allowed (a malformed path can match another route)",
    414: "The request line is longer than the server takes (4,094 bytes); no body",
    409: "Conflict",
    412: "The record changed since it was read (If-Match)",
    415: "The body is not JSON",
    422: "Invalid input; `errors` names each field",
    428: "If-Match is required",
    429: "Rate limit exceeded; see Retry-After",
}
_RATE_HEADERS = {
    name: {"description": text, "schema": {"type": "integer"}}
    for name, text in (
        ("RateLimit-Limit", "Requests allowed per window."),
        ("RateLimit-Remaining", "Requests left in this window."),
        ("RateLimit-Reset", "Seconds until the window resets."),
    )
}


def build_document(routes: list[Route], *, server_url: str) -> dict:
    models = _models(routes)
    keys, schemas = models_json_schema(
        [(model, "validation") for model in models], ref_template=REF
    )
    paths: dict[str, dict] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(
            route, {model: keys[(model, "validation")] for model in models}
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Helpdesk API",
            "version": "1",
            "description": (
                "Authenticate with `Authorization: Bearer <token>`. Errors are "
                "application/problem+json (RFC 9457). Times are UTC, ISO 8601."
            ),
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _models(routes: list[Route]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = [ProblemBody]
    for route in routes:
        for model in (route.body, route.response):
            if model is not None and model not in found:
                found.append(model)
    return found


def _operation(route: Route, refs: dict[type[BaseModel], dict]) -> dict:
    operation: dict = {
        "operationId": route.endpoint,
        "tags": [route.tag],
        "summary": route.summary,
        "description": route.description + f"\n\nScope: `{route.scope}`.",
        "parameters": _parameters(route),
        "responses": _responses(route, refs),
    }
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {JSON_TYPE: {"schema": refs[route.body]}},
        }
    return operation


def _parameters(route: Route) -> list[dict]:
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _path_schema(route, name, converter),
        }
        for name, converter in route.path_params
    ]
    if route.query is not None:
        schema = route.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            description = prop.pop("description", None)
            prop.pop("title", None)
            parameter = {"name": name, "in": "query", "required": name in required}
            if description:
                parameter["description"] = description
            parameters.append(parameter | {"schema": prop})
    if route.if_match:
        parameters.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": True,
                "description": "The ETag of the record as you read it.",
                "schema": {"type": "string"},
            }
        )
    if route.etag and route.method == "GET":
        parameters.append(
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "description": "The ETag of your copy: 304 with no body while it is current.",
                "schema": {"type": "string"},
            }
        )
    if route.method == "POST":
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Repeat a POST safely: the same key and body get the first "
                "response again; the same key with another body gets 422; while the first "
                "request with the key still runs, 409 with Retry-After. Keys are kept for "
                "24 hours unless configured otherwise.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
    return parameters


def _path_schema(route: Route, name: str, converter: str) -> dict:
    if converter == "int":
        return {"type": "integer", "minimum": 0, "maximum": MAX_ID}
    schema = {"type": "string", "minLength": 1}
    if name in route.path_lengths:
        schema["maxLength"] = route.path_lengths[name]
    return schema


def _responses(route: Route, refs: dict[type[BaseModel], dict]) -> dict:
    success: dict = {"description": "OK", "headers": dict(_RATE_HEADERS)}
    if route.response is not None:
        success["content"] = {JSON_TYPE: {"schema": refs[route.response]}}
    if route.etag:
        success["headers"]["ETag"] = {
            "description": "Send it back in If-Match to change this record.",
            "schema": {"type": "string"},
        }
    responses = {str(route.status): success}
    if route.etag and route.method == "GET":
        success["headers"]["Cache-Control"] = {
            "description": "`private, no-cache`: keep it, but revalidate with If-None-Match.",
            "schema": {"type": "string"},
        }
        responses["304"] = {
            "description": "Not modified: If-None-Match holds the current ETag; no body.",
            "headers": {
                "ETag": success["headers"]["ETag"],
                "Cache-Control": success["headers"]["Cache-Control"],
            },
        }
    codes = set(COMMON_ERRORS) | set(route.errors)
    if route.query is not None or route.body is not None or route.path_lengths:
        codes.add(422)
    if route.body is not None:
        codes.add(415)
    if route.if_match:
        codes |= {412, 428}
    if route.method == "POST":
        codes |= {409, 422}
    if route.path_params:
        codes.add(404)
    for code in sorted(codes):
        if code < 400:  # another success, like 201 from an upsert that created
            responses[str(code)] = success
            continue
        if code == 414:  # answered by gunicorn before the app sees the request
            responses[str(code)] = {"description": _STATUS_TEXT[code]}
            continue
        responses[str(code)] = {
            "description": _STATUS_TEXT[code],
            "content": {PROBLEM_TYPE: {"schema": refs[ProblemBody]}},
        }
    return responses
