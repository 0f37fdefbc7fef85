"""helpdesk.api.idempotency on both databases: the first response stored for a key wins,
a later one for the same key is refused without failing the transaction."""

from __future__ import annotations

from helpdesk.api import idempotency, tokens
from tests.factories import make_api_token, make_user


def _token_id(session, user) -> int:
    return tokens.authenticate(session, make_api_token(session, user)).token_id


def _response(body: str) -> idempotency.StoredResponse:
    return idempotency.StoredResponse("hash-" + body, 201, body)


def test_the_first_response_stored_for_a_key_is_kept(session):
    token_id = _token_id(session, make_user(session))

    first = idempotency.store_response(session, token_id, "k1", _response("first"))
    second = idempotency.store_response(session, token_id, "k1", _response("second"))
    session.commit()

    assert (first, second) == (True, False)
    assert idempotency.stored_response(session, token_id, "k1").body == "first"


def test_the_same_key_of_another_token_is_stored_apart(session):
    user = make_user(session)
    one, other = _token_id(session, user), _token_id(session, user)

    idempotency.store_response(session, one, "k1", _response("one"))
    stored = idempotency.store_response(session, other, "k1", _response("other"))
    session.commit()

    assert stored is True
    assert idempotency.stored_response(session, other, "k1").body == "other"
