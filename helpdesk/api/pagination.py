"""Cursor pagination: a page holds `limit` items in a stable order (by id) and an opaque,
signed cursor to the next page, so pages neither skip nor repeat rows when rows are added
meanwhile, and a cursor cannot be edited into a different query."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel, Field, create_model

from helpdesk.api.problems import FieldError, invalid_input

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageQuery(BaseModel):
    """Query parameters every list takes; a list's own filters extend this."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page.")
    cursor: str | None = Field(
        None, max_length=500, description="`next_cursor` of the previous page."
    )


def page_model(item: type[BaseModel]) -> type[BaseModel]:
    """The response of a list of `item`s, named for the OpenAPI document (`CustomerPage`)."""
    return create_model(
        f"{item.__name__.removesuffix('Out')}Page",
        data=(list[item], ...),
        next_cursor=(str | None, Field(None, description="Pass as `cursor` for the next page.")),
    )


class Cursors:
    def __init__(self, secret_key: str, list_name: str) -> None:
        self._serializer = URLSafeSerializer(secret_key, salt=f"api-cursor:{list_name}")

    def encode(self, last_id: int) -> str:
        return self._serializer.dumps(last_id)

    def decode(self, cursor: str | None) -> int:
        """The id after which the page starts (0: the first page)."""
        if not cursor:
            return 0
        try:
            last_id = self._serializer.loads(cursor)
        except BadSignature:
            last_id = None
        if not isinstance(last_id, int) or last_id < 0:
            raise invalid_input([FieldError(field="cursor", message="Not a cursor of this list.")])
        return last_id
