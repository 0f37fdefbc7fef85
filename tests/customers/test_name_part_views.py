"""The customer form and page with given and family names."""

from __future__ import annotations

import re

from sqlalchemy import select

from helpdesk.customers.models import Customer
from tests.customers.test_customer_views import CUSTOMER_FORM, done_reading
from tests.factories import make_customer
from tests.helpers import post_form


def input_tag(page: str, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)


def test_new_customer_without_parts_gets_them_from_the_name(admin_client, session):
    response = post_form(admin_client, "/customers/new", CUSTOMER_FORM | {"name": "김 민준"})
    assert response.status_code == 302
    page = admin_client.get(response.headers["Location"]).text
    assert '<dd data-name-part="given">민준</dd>' in page
    assert '<dd data-name-part="family">김' in page
    assert "Taken from the name" in page


def test_new_customer_with_typed_parts_keeps_them(admin_client, session):
    form = CUSTOMER_FORM | {"name": "Kim Minjun", "given_name": "민준", "family_name": "김"}
    response = post_form(admin_client, "/customers/new", form)
    assert response.status_code == 302
    customer = session.scalars(select(Customer)).one()
    assert (customer.given_name, customer.family_name, customer.name_parts_entered) == (
        "민준",
        "김",
        True,
    )
    done_reading(session)
    page = admin_client.get(response.headers["Location"]).text
    assert "Taken from the name" not in page


def test_edit_form_shows_derived_parts_as_placeholders_only(admin_client, session):
    customer = make_customer(session, name="김민준")
    done_reading(session)
    page = admin_client.get(f"/customers/{customer.id}/edit").text
    given_input = input_tag(page, "given_name")
    assert 'placeholder="민준"' in given_input
    assert 'value=""' in given_input
    assert 'placeholder="김"' in input_tag(page, "family_name")


def test_edit_form_shows_entered_parts_as_values(admin_client, session):
    customer = make_customer(session, name="Kim Minjun", given_name="민준", family_name="김")
    done_reading(session)
    page = admin_client.get(f"/customers/{customer.id}/edit").text
    assert 'value="민준"' in input_tag(page, "given_name")
    assert 'value="김"' in input_tag(page, "family_name")


def test_saving_the_form_unchanged_keeps_derived_parts_following_the_name(admin_client, session):
    customer = make_customer(session, email="minjun@example.com", name="김민준")
    done_reading(session)
    form = CUSTOMER_FORM | {"email": "minjun@example.com", "name": "남궁민수"}
    response = post_form(admin_client, f"/customers/{customer.id}/edit", form)
    assert response.status_code == 302
    session.expire_all()
    stored = session.get(Customer, customer.id)
    assert (stored.given_name, stored.family_name, stored.name_parts_entered) == (
        "민수",
        "남궁",
        False,
    )


def test_a_too_long_part_is_shown_on_the_form_and_nothing_changes(admin_client, session):
    customer = make_customer(session, email="minjun@example.com", name="김민준")
    done_reading(session)
    form = CUSTOMER_FORM | {
        "email": "minjun@example.com",
        "name": "김민수",
        "family_name": "김" * 201,
    }
    response = post_form(admin_client, f"/customers/{customer.id}/edit", form)
    assert response.status_code == 400
    assert "Field cannot be longer than 200 characters." in response.text
    session.expire_all()
    stored = session.get(Customer, customer.id)
    assert (stored.name, stored.given_name, stored.family_name) == ("김민준", "민준", "김")


def test_the_page_in_korean_names_the_parts(admin_client, session, admin):
    from helpdesk.auth import service as auth_service

    auth_service.update_preferences(session, admin, language="ko", timezone="Asia/Seoul")
    customer = make_customer(session, name="김민준")
    done_reading(session)
    page = admin_client.get(f"/customers/{customer.id}").text
    assert "<dt>이름(성 제외)</dt>" in page
    assert "<dt>성</dt>" in page
