"""Every view checks the role: the full role x view matrix, logged out included.

ACCESS is written out by hand (not read from the code) so a view that forgets its check,
or grants too much, fails here. A new view must be added to ACCESS before the suite passes.
"""

import re

import pytest

from tests.helpers import csrf_token, login

PUBLIC = "public"
ADMIN = {"admin"}
SUPPORT = {"admin", "agent"}
MARKETING = {"admin", "marketer"}
STAFF = {"admin", "agent", "marketer"}

ACCESS: dict[str, set[str] | str] = {
    "static": PUBLIC,
    "i18n.switch_language": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": STAFF,
    "auth.preferences": STAFF,
    "auth.users": ADMIN,
    "auth.new_user": ADMIN,
    "auth.edit_user": ADMIN,
    "admin.home": STAFF,
    "admin.settings": ADMIN,
}

ROLES = ("admin", "agent", "marketer")


def _routes(app):
    for rule in app.url_map.iter_rules():
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        method = "GET" if "GET" in methods else methods[0]
        values = {arg: _sample(arg) for arg in rule.arguments}
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(values[m.group(1)]), rule.rule)
        yield rule.endpoint, method, path


def _sample(argument: str):
    return "x.css" if argument == "filename" else ("en" if argument == "code" else 1)


def _request(client, method: str, path: str):
    if method == "GET":
        return client.get(path)
    return client.open(path, method=method, data={"csrf_token": csrf_token(client)})


def test_every_view_is_in_the_access_table(app):
    endpoints = {endpoint for endpoint, _, _ in _routes(app)}
    assert endpoints - set(ACCESS) == set(), "add new views to ACCESS"


def test_every_view_declares_its_roles(app):
    undeclared = [
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint != "static" and not hasattr(view, "allowed_roles")
    ]
    assert undeclared == []


def test_logged_out_users_are_sent_to_login_for_every_staff_view(app, client):
    for endpoint, method, path in _routes(app):
        if ACCESS.get(endpoint) == PUBLIC:
            continue
        response = _request(client, method, path)
        assert response.status_code == 302, (endpoint, response.status_code)
        assert response.headers["Location"].startswith("/login"), endpoint


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_403_exactly_where_it_has_no_access(app, client, session, role):
    from tests.factories import make_user

    user = make_user(session, role=role, email=f"{role}@matrix.example")
    login(client, user.email)
    for endpoint, method, path in _routes(app):
        allowed = ACCESS.get(endpoint)
        if allowed == PUBLIC or endpoint == "auth.logout":
            continue
        response = _request(client, method, path)
        if role in allowed:
            assert response.status_code != 403, (endpoint, path)
            assert not response.headers.get("Location", "").startswith("/login"), endpoint
        else:
            assert response.status_code == 403, (endpoint, path, response.status_code)
