"""The REST API under /api/v1: tokens and scopes, the shared conventions (problem
details, cursors, ETags, idempotency keys, rate limits), the OpenAPI document built from
the registered routes, and one module per resource."""
