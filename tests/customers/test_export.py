"""CSV export of the filtered customer list: Excel-friendly UTF-8, tags, custom fields,
and a file the importer reads back unchanged."""

import csv
import io

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from helpdesk.customers import importer, service
from helpdesk.customers.export import safe_cell, unguard_cell
from helpdesk.customers.models import Customer, ImportKind
from tests.factories import make_custom_field, make_customer


def read_csv(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_export_starts_with_a_bom_and_keeps_korean_text(marketer_client, session):
    make_customer(session, email="minji@example.com", name="김민지", company="서울상사")
    response = marketer_client.get("/customers/export")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    (row,) = read_csv(response)
    assert (row["name"], row["company"]) == ("김민지", "서울상사")


def test_export_has_tags_and_custom_field_columns(admin_client, session):
    make_custom_field(session, key="plan", label="Plan", field_type="choice", choices="Gold")
    make_custom_field(session, key="orders", label="Orders", field_type="number")
    make_custom_field(session, key="vip", label="VIP", field_type="boolean")
    make_customer(session, tags="vip, seoul", fields={"plan": "Gold", "orders": "3", "vip": "y"})
    (row,) = read_csv(admin_client.get("/customers/export"))
    assert row["tags"] == "seoul, vip"
    assert (row["plan"], row["orders"], row["vip"]) == ("Gold", "3", "yes")


def test_export_follows_the_list_filters_and_sort(agent_client, session):
    make_customer(session, email="b@example.com", name="나은", tags="vip")
    make_customer(session, email="a@example.com", name="가은", tags="vip")
    make_customer(session, email="c@example.com", name="다은")
    rows = read_csv(agent_client.get("/customers/export?tag=vip&sort=name"))
    assert [r["email"] for r in rows] == ["a@example.com", "b@example.com"]


def test_export_of_many_customers_streams_every_row(admin_client, session):
    for n in range(450):
        make_customer(session, email=f"c{n:03}@example.com", name=f"Customer {n:03}")
    response = admin_client.get("/customers/export")
    assert response.is_streamed
    rows = read_csv(response)
    assert len(rows) == 450 and rows[-1]["email"] == "c449@example.com"


def test_export_with_a_bad_filter_answers_400(admin_client, session):
    make_custom_field(session, key="orders", label="Orders", field_type="number")
    response = admin_client.get("/customers/export?field=orders&value=lots")
    assert response.status_code == 400
    assert "Orders must be a number" in response.text


def test_cells_that_spreadsheets_would_run_as_formulas_are_made_text():
    assert safe_cell('=HYPERLINK("http://evil")') == '\'=HYPERLINK("http://evil")'
    assert safe_cell("+82 10-1234-5678") == "'+82 10-1234-5678"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("-5") == "-5"
    assert safe_cell("김민지") == "김민지"


def test_a_formula_in_a_name_is_exported_as_text(admin_client, session):
    make_customer(session, name="=1+2")
    (row,) = read_csv(admin_client.get("/customers/export"))
    assert row["name"] == "'=1+2"


@given(st.text(alphabet="=+-@'\t\r 0123456789.abc김", max_size=8))
def test_the_importer_reads_every_guarded_cell_back_unchanged(value):
    assert unguard_cell(safe_cell(value)) == value


def test_an_export_imports_back_without_changing_anything(admin_client, session):
    make_custom_field(session, key="plan", label="Plan", field_type="choice", choices="Gold")
    make_custom_field(session, key="orders", label="Orders", field_type="number")
    make_custom_field(session, key="since", label="Since", field_type="date")
    make_custom_field(session, key="vip", label="VIP", field_type="boolean")
    make_custom_field(session, key="note", label="Note", field_type="text")
    make_customer(
        session,
        email="Minji.Kim@example.com",
        name="김민지",
        phone="+82 10-1234-5678",
        company="=Formula Ltd",
        tags="vip, 서울",
        subscription_status="subscribed",
        consent_source="signup form",
        fields={"plan": "Gold", "orders": "-2.5", "since": "2020-01-31", "vip": "no"},
    )
    make_customer(
        session,
        email="lee@example.com",
        name="'Quoted' Lee",
        phone="010-9876-5432",
        subscription_status="unsubscribed",
        fields={"note": "@mention and +1"},
    )
    before = snapshot(session)
    exported = admin_client.get("/customers/export").data

    plan = importer.plan_import(session, ImportKind.customers, exported)
    assert plan.errors == []
    assert (plan.new_count, plan.updated_count) == (0, 2)
    importer.apply_plan(session, plan)
    session.commit()
    session.expire_all()
    assert snapshot(session) == before


def snapshot(session):
    """Everything a customer record shows, the last-changed time included."""
    customers = session.scalars(select(Customer).order_by(Customer.id)).all()
    return [
        (
            c.email,
            c.name,
            c.phone,
            c.company,
            c.subscription_status,
            c.consent_at,
            c.consent_source,
            c.unsubscribed_at,
            c.updated_at,
            sorted(tag.name for tag in c.tags),
            service.field_values_by_key(c),
        )
        for c in customers
    ]
