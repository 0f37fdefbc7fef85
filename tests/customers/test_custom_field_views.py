"""The admin's custom field settings pages."""

from sqlalchemy import func, select

from helpdesk.customers.models import CustomField, CustomFieldValue
from tests.factories import make_custom_field, make_customer
from tests.helpers import post_form

FIELD_FORM = {
    "label": "Plan",
    "key": "plan",
    "field_type": "choice",
    "choices": "Gold\nSilver",
    "position": "1",
}


def done_reading(session) -> None:
    """SQLite lets one transaction hold the write lock; end ours before the app needs it."""
    session.commit()


def count(session, model) -> int:
    session.commit()
    result = session.scalar(select(func.count()).select_from(model))
    done_reading(session)
    return result


def test_admin_creates_a_choice_field(admin_client, session):
    response = post_form(admin_client, "/admin/custom-fields/new", FIELD_FORM)
    assert response.status_code == 302
    field = session.scalars(select(CustomField)).one()
    assert (field.key, field.choices, field.position) == ("plan", ["Gold", "Silver"], 1)
    done_reading(session)
    assert "Plan" in admin_client.get("/admin/custom-fields").text


def test_settings_page_links_to_custom_fields(admin_client):
    assert "/admin/custom-fields" in admin_client.get("/admin").text


def test_bad_key_answers_400_with_the_reason(admin_client, session):
    response = post_form(admin_client, "/admin/custom-fields/new", FIELD_FORM | {"key": "Plan!"})
    assert response.status_code == 400
    assert "lower-case letters, digits and underscores" in response.text
    assert count(session, CustomField) == 0


def test_duplicate_key_answers_400(admin_client, session):
    make_custom_field(session, key="plan")
    response = post_form(admin_client, "/admin/custom-fields/new", FIELD_FORM)
    assert response.status_code == 400
    assert "already exists" in response.text
    assert count(session, CustomField) == 1


def test_choice_field_without_choices_answers_400(admin_client, session):
    response = post_form(admin_client, "/admin/custom-fields/new", FIELD_FORM | {"choices": ""})
    assert response.status_code == 400
    assert "at least one choice" in response.text


def test_admin_renames_a_field(admin_client, session):
    field = make_custom_field(session)
    response = post_form(
        admin_client,
        f"/admin/custom-fields/{field.id}",
        {
            "label": "Subscription plan",
            "key": "plan",
            "field_type": "text",
            "choices": "",
            "position": "0",
        },
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(CustomField, field.id).label == "Subscription plan"


def test_admin_deletes_a_field_with_its_values(admin_client, session):
    field = make_custom_field(session)
    make_customer(session, fields={"plan": "Gold"})
    response = post_form(admin_client, f"/admin/custom-fields/{field.id}/delete")
    assert response.status_code == 302
    assert count(session, CustomField) == 0
    assert count(session, CustomFieldValue) == 0


def test_marketer_cannot_define_custom_fields(marketer_client, session):
    assert marketer_client.get("/admin/custom-fields").status_code == 403
    response = post_form(marketer_client, "/admin/custom-fields/new", FIELD_FORM)
    assert response.status_code == 403
    assert count(session, CustomField) == 0


def test_agent_cannot_delete_custom_fields(agent_client, session):
    field = make_custom_field(session)
    response = post_form(agent_client, f"/admin/custom-fields/{field.id}/delete")
    assert response.status_code == 403
    assert count(session, CustomField) == 1
