"""Customer pages through the Flask client: forms, inline errors, roles."""

from sqlalchemy import func, select

from helpdesk.customers.models import (
    ContactNote,
    Customer,
    CustomFieldValue,
    Purchase,
)
from tests.factories import make_custom_field, make_customer, make_purchase
from tests.helpers import post_form

CUSTOMER_FORM = {
    "email": "minji@example.com",
    "name": "김민지",
    "phone": "010-1234-5678",
    "company": "서울상사",
    "tags": "vip, seoul",
    "subscription_status": "not_subscribed",
    "consent_source": "",
}


def count(session, model) -> int:
    session.commit()
    result = session.scalar(select(func.count()).select_from(model))
    done_reading(session)
    return result


def done_reading(session) -> None:
    """SQLite lets one transaction hold the write lock; end ours before the app needs it.

    Committing (the sessions do not expire on commit) keeps loaded objects readable
    without starting a new transaction.
    """
    session.commit()


def test_list_page_shows_customers_for_every_staff_role(client, session, admin, agent, marketer):
    from tests.helpers import login

    make_customer(session, name="김민지")
    for user in (admin, agent, marketer):
        login(client, user.email)
        response = client.get("/customers")
        assert response.status_code == 200
        assert "김민지" in response.text
        client.delete_cookie("session")


def test_list_page_without_customers_shows_the_empty_state(admin_client):
    response = admin_client.get("/customers")
    assert "No customers yet" in response.text


def test_list_page_search_without_match_says_so(admin_client, session):
    make_customer(session)
    response = admin_client.get("/customers?q=nobody")
    assert "No customers match" in response.text


def test_list_page_with_a_bad_filter_value_answers_400_with_the_reason(admin_client, session):
    make_custom_field(session, key="orders", label="Orders", field_type="number")
    response = admin_client.get("/customers?field=orders&value=many")
    assert response.status_code == 400
    assert "Orders must be a number" in response.text


def test_list_page_paginates(admin_client, session):
    for n in range(30):
        make_customer(session, email=f"c{n:02}@example.com", name=f"Customer {n:02}")
    first = admin_client.get("/customers")
    second = admin_client.get("/customers?page=2")
    assert "Customer 24" in first.text and "Customer 25" not in first.text
    assert "Customer 25" in second.text and "Page 2 of 2" in second.text


def test_list_page_shows_lifetime_value_per_currency(admin_client, session):
    customer = make_customer(session)
    make_purchase(session, customer, amount="12000", currency="KRW")
    make_purchase(session, customer, amount="5", currency="USD", product="Other")
    response = admin_client.get("/customers")
    assert "₩12,000" in response.text and "$5.00" in response.text


def test_create_customer_with_a_custom_field(marketer_client, session):
    make_custom_field(
        session, key="plan", label="Plan", field_type="choice", choices="Gold\nSilver"
    )
    response = post_form(marketer_client, "/customers/new", CUSTOMER_FORM | {"cf_plan": "Gold"})
    assert response.status_code == 302
    customer = session.scalars(select(Customer)).one()
    assert (customer.name, customer.company) == ("김민지", "서울상사")
    assert [t.name for t in customer.tags] == ["seoul", "vip"]
    assert customer.field_values[0].text_value == "Gold"
    done_reading(session)
    page = marketer_client.get(response.headers["Location"])
    assert "Gold" in page.text and "김민지" in page.text


def test_create_with_a_bad_custom_field_value_answers_400_and_writes_nothing(admin_client, session):
    make_custom_field(session, key="birthday", label="Birthday", field_type="date")
    response = post_form(
        admin_client, "/customers/new", CUSTOMER_FORM | {"cf_birthday": "July 1st"}
    )
    assert response.status_code == 400
    assert "Birthday must be a date written as YYYY-MM-DD." in response.text
    assert count(session, Customer) == 0
    assert count(session, CustomFieldValue) == 0


def test_create_with_a_duplicate_email_shows_the_error_inline(admin_client, session):
    make_customer(session, email="minji@example.com", name="First")
    response = post_form(admin_client, "/customers/new", CUSTOMER_FORM)
    assert response.status_code == 400
    assert "A customer with the email minji@example.com already exists." in response.text
    assert count(session, Customer) == 1


def test_create_with_a_bad_email_and_phone_shows_both_errors(admin_client, session):
    response = post_form(
        admin_client, "/customers/new", CUSTOMER_FORM | {"email": "nope", "phone": "call me"}
    )
    assert response.status_code == 400
    assert "nope is not a valid email address." in response.text
    assert "Use digits, spaces" in response.text
    assert count(session, Customer) == 0


def test_create_without_csrf_token_is_refused(admin_client, session):
    response = admin_client.post("/customers/new", data=CUSTOMER_FORM)
    assert response.status_code == 400
    assert count(session, Customer) == 0


def test_edit_form_is_prefilled_with_the_custom_field_value(agent_client, session):
    make_custom_field(session, key="orders", label="Orders", field_type="number")
    customer = make_customer(session, fields={"orders": "12.50"})
    response = agent_client.get(f"/customers/{customer.id}/edit")
    assert 'value="12.5"' in response.text


def test_edit_changes_the_custom_field_value(agent_client, session):
    make_custom_field(session, key="orders", label="Orders", field_type="number")
    customer = make_customer(session, fields={"orders": "1"})
    response = post_form(
        agent_client,
        f"/customers/{customer.id}/edit",
        CUSTOMER_FORM | {"email": customer.email, "cf_orders": "1,500"},
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Customer, customer.id).field_values[0].number_value == 1500
    done_reading(session)
    assert "1,500" in agent_client.get(f"/customers/{customer.id}").text


def test_edit_with_bad_input_answers_400_and_changes_nothing(agent_client, session):
    make_custom_field(session, key="orders", label="Orders", field_type="number")
    customer = make_customer(session, name="Before", fields={"orders": "1"})
    response = post_form(
        agent_client,
        f"/customers/{customer.id}/edit",
        CUSTOMER_FORM | {"email": customer.email, "name": "After", "cf_orders": "abc"},
    )
    assert response.status_code == 400
    assert "Orders must be a number" in response.text
    session.expire_all()
    stored = session.get(Customer, customer.id)
    assert stored.name == "Before"
    assert stored.field_values[0].number_value == 1


def test_subscribing_in_the_form_records_who_did_it(admin_client, session, admin):
    customer = make_customer(session)
    post_form(
        admin_client,
        f"/customers/{customer.id}/edit",
        CUSTOMER_FORM | {"email": customer.email, "subscription_status": "subscribed"},
    )
    session.expire_all()
    stored = session.get(Customer, customer.id)
    assert stored.consent_at is not None
    assert stored.consent_source == f"manual by {admin.email}"


def test_record_page_shows_purchases_notes_and_timeline(admin_client, session, admin):
    from helpdesk.customers import service

    customer = make_customer(session)
    make_purchase(session, customer, product="Starter plan", amount="9900", currency="KRW")
    service.add_note(
        session,
        customer,
        author_id=admin.id,
        kind="chat",
        happened_at="2024-01-01T10:00",
        body="Asked about <script>invoices</script>",
    )
    session.commit()
    response = admin_client.get(f"/customers/{customer.id}")
    assert response.status_code == 200
    assert "Starter plan" in response.text and "₩9,900" in response.text
    assert "Bought Starter plan" in response.text
    assert "&lt;script&gt;invoices" in response.text
    assert "Customer record created" in response.text


def test_add_purchase_on_the_record_page(marketer_client, session):
    customer = make_customer(session)
    response = post_form(
        marketer_client,
        f"/customers/{customer.id}/purchases",
        {
            "product": "Pro",
            "quantity": "2",
            "amount": "49.90",
            "currency": "usd",
            "purchased_at": "2024-02-01",
            "order_ref": "",
        },
    )
    assert response.status_code == 302
    purchase = session.scalars(select(Purchase)).one()
    assert (purchase.currency, str(purchase.amount), purchase.order_ref) == ("USD", "49.90", None)


def test_add_purchase_with_bad_currency_answers_400_and_writes_nothing(agent_client, session):
    customer = make_customer(session)
    response = post_form(
        agent_client,
        f"/customers/{customer.id}/purchases",
        {
            "product": "Pro",
            "quantity": "1",
            "amount": "10",
            "currency": "WON",
            "purchased_at": "2024-02-01",
        },
    )
    assert response.status_code == 400
    assert "three-letter ISO 4217 code" in response.text
    assert count(session, Purchase) == 0


def test_agent_logs_a_contact_note(agent_client, session, agent):
    customer = make_customer(session)
    response = post_form(
        agent_client,
        f"/customers/{customer.id}/notes",
        {"kind": "call", "happened_at": "2024-02-01T09:30", "body": "통화: 환불 요청"},
    )
    assert response.status_code == 302
    note = session.scalars(select(ContactNote)).one()
    assert (note.author_id, note.body) == (agent.id, "통화: 환불 요청")


def test_empty_note_answers_400_and_writes_nothing(agent_client, session):
    customer = make_customer(session)
    response = post_form(
        agent_client,
        f"/customers/{customer.id}/notes",
        {"kind": "call", "happened_at": "2024-02-01T09:30", "body": "  "},
    )
    assert response.status_code == 400
    assert "Write what was discussed." in response.text
    assert count(session, ContactNote) == 0


def test_marketer_reads_the_record_but_cannot_log_notes(marketer_client, session):
    customer = make_customer(session)
    page = marketer_client.get(f"/customers/{customer.id}")
    assert page.status_code == 200 and "Log a contact" not in page.text
    response = post_form(
        marketer_client,
        f"/customers/{customer.id}/notes",
        {"kind": "call", "happened_at": "2024-02-01T09:30", "body": "hello"},
    )
    assert response.status_code == 403
    assert count(session, ContactNote) == 0


def test_admin_deletes_a_customer_after_confirming(admin_client, session):
    customer = make_customer(session)
    confirm = admin_client.get(f"/customers/{customer.id}/delete")
    assert "cannot be undone" in confirm.text
    response = post_form(admin_client, f"/customers/{customer.id}/delete")
    assert response.status_code == 302
    assert count(session, Customer) == 0


def test_agent_cannot_delete_a_customer(agent_client, session):
    customer = make_customer(session)
    assert agent_client.get(f"/customers/{customer.id}/delete").status_code == 403
    assert post_form(agent_client, f"/customers/{customer.id}/delete").status_code == 403
    assert count(session, Customer) == 1


def test_unknown_customer_is_404(admin_client):
    assert admin_client.get("/customers/999").status_code == 404


def test_service_messages_show_in_the_viewers_language(admin_client, session, admin):
    admin.language = "ko"
    session.merge(admin)
    make_custom_field(session, key="orders", label="Orders", field_type="number")
    customer = make_customer(session)
    make_purchase(session, customer, product="Starter plan")
    session.commit()
    refused = admin_client.get("/customers?field=orders&value=many")
    assert "Orders은(는) 42나 3.5 같은 숫자여야 합니다." in refused.text
    record = admin_client.get(f"/customers/{customer.id}")
    assert "Starter plan 구매" in record.text


def test_list_page_links_to_the_customer_and_purchase_imports(agent_client):
    response = agent_client.get("/customers")
    assert 'href="/customers/import"' in response.text
    assert 'href="/customers/import?kind=purchases"' in response.text


def test_deleting_a_customer_with_tickets_is_refused_on_the_form(admin_client, session):
    from helpdesk.customers.models import Customer
    from tests.factories import make_ticket

    customer = make_customer(session)
    make_ticket(session, customer_email=customer.email)

    response = post_form(admin_client, f"/customers/{customer.id}/delete")

    assert response.status_code == 400
    assert b"has tickets" in response.data
    session.expire_all()
    assert session.get(Customer, customer.id) is not None
