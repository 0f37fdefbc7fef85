"""An upload is seen and acted on only by the person who uploaded it and by admins: its
preview shows every row of customer data, and starting or discarding it is theirs."""

import io

import pytest
from sqlalchemy import func, select

from helpdesk.customers.models import ImportJob
from tests.factories import make_user
from tests.helpers import login, post_form

GOOD = b"email,name\nkim@example.com,Kim\nlee@example.com,Lee\n"


def upload_as(client, email: str) -> int:
    login(client, email)
    response = post_form(
        client,
        "/customers/import",
        {"kind": "customers", "file": (io.BytesIO(GOOD), "customers.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    return int(response.headers["Location"].split("/")[-2])


@pytest.fixture
def others_import(app, session):
    """An agent's pending upload; the test's client is then logged in as nobody."""
    uploader = make_user(session, role="agent", email="uploader@example.com")
    client = app.test_client()
    return upload_as(client, uploader.email)


def imports_left(session) -> int:
    session.commit()
    return session.scalar(select(func.count()).select_from(ImportJob))


READ_PAGES = ["{id}/preview", "{id}", "{id}/progress", "{id}/errors.csv"]


@pytest.mark.parametrize("role", ["agent", "marketer"])
@pytest.mark.parametrize("page", READ_PAGES)
def test_another_staff_member_cannot_view_someone_elses_import(
    client, session, others_import, role, page
):
    other = make_user(session, role=role, email=f"other-{role}@example.com")
    login(client, other.email)
    response = client.get("/customers/import/" + page.format(id=others_import))
    assert response.status_code == 404


@pytest.mark.parametrize("action", ["discard", "start"])
def test_another_staff_member_cannot_discard_or_start_someone_elses_import(
    client, session, others_import, action
):
    other = make_user(session, role="marketer", email="other@example.com")
    login(client, other.email)
    response = post_form(client, f"/customers/import/{others_import}/{action}")
    assert response.status_code == 404
    assert imports_left(session) == 1
    assert session.get(ImportJob, others_import).status.value == "pending"


def test_another_staff_member_does_not_see_the_import_in_recent_imports(
    client, session, others_import
):
    other = make_user(session, role="agent", email="other@example.com")
    login(client, other.email)
    page = client.get("/customers/import").get_data(as_text=True)
    assert f"/customers/import/{others_import}" not in page


@pytest.mark.parametrize("page", READ_PAGES)
def test_the_uploader_views_their_own_import(app, session, page):
    uploader = make_user(session, role="marketer", email="uploader@example.com")
    client = app.test_client()
    import_id = upload_as(client, uploader.email)
    response = client.get("/customers/import/" + page.format(id=import_id))
    assert response.status_code in (200, 302)
    assert "/login" not in response.headers.get("Location", "")


def test_the_uploader_discards_their_own_import(app, session):
    uploader = make_user(session, role="marketer", email="uploader@example.com")
    client = app.test_client()
    import_id = upload_as(client, uploader.email)
    assert post_form(client, f"/customers/import/{import_id}/discard").status_code == 302
    assert imports_left(session) == 0


def test_an_admin_sees_and_discards_anyones_import(admin_client, session, others_import):
    assert admin_client.get(f"/customers/import/{others_import}/preview").status_code == 200
    page = admin_client.get("/customers/import").get_data(as_text=True)
    assert f"/customers/import/{others_import}" in page
    response = post_form(admin_client, f"/customers/import/{others_import}/discard")
    assert response.status_code == 302
    assert imports_left(session) == 0
