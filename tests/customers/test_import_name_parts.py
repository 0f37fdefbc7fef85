"""Given and family names in CSV files: import (with the usual other headers), bad input
with its line number, export, and an export that imports back unchanged."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from helpdesk.customers import importer
from helpdesk.customers.models import Customer, ImportKind
from tests.factories import make_custom_field, make_customer


def run_import(session, text: str):
    plan = importer.plan_import(session, ImportKind.customers, text.encode())
    importer.apply_plan(session, plan)
    session.commit()
    session.expire_all()
    return plan


def parts_by_email(session) -> dict[str, tuple[str, str, str, bool]]:
    rows = session.execute(
        select(
            Customer.email,
            Customer.name,
            Customer.given_name,
            Customer.family_name,
            Customer.name_parts_entered,
        )
    )
    return {email: tuple(rest) for email, *rest in rows}


def test_new_customers_take_given_and_family_name_columns(session):
    run_import(
        session,
        "email,name,given_name,family_name\n"
        "minjun@example.com,Kim Minjun,민준,김\n"
        "mary@example.com,Mary Ann Smith,,\n"
        "seoyeon@example.com,이 서연,,\n",
    )
    assert parts_by_email(session) == {
        "minjun@example.com": ("Kim Minjun", "민준", "김", True),
        "mary@example.com": ("Mary Ann Smith", "Mary Ann", "Smith", False),
        "seoyeon@example.com": ("이 서연", "서연", "이", False),
    }


def test_one_part_given_takes_the_other_from_the_name(session):
    run_import(session, "email,name,given_name\nmary@example.com,Mary Ann Smith,Mary\n")
    assert parts_by_email(session)["mary@example.com"] == ("Mary Ann Smith", "Mary", "Smith", True)


@pytest.mark.parametrize(
    "header",
    [
        "email,name,First Name,Last Name",
        "email,name,first_name,last_name",
        "email,name,Given-Name,Surname",
        "Email,Name,이름,성",
    ],
)
def test_usual_other_headers_name_the_part_columns(session, header):
    run_import(session, f"{header}\nminjun@example.com,Kim Minjun,민준,김\n")
    assert parts_by_email(session)["minjun@example.com"] == ("Kim Minjun", "민준", "김", True)


def test_korean_order_of_columns_works_too(session):
    run_import(session, "email,성,이름\nminjun@example.com,김,민준\n")
    assert parts_by_email(session)["minjun@example.com"] == ("", "민준", "김", True)


def test_이름_without_성_is_refused_as_unknown(session):
    # On its own 이름 usually means the whole name; it is not taken for the given name.
    with pytest.raises(importer.ImportFileError) as refused:
        importer.plan_import(
            session, ImportKind.customers, "email,이름\nkim@example.com,김민준\n".encode()
        )
    assert (refused.value.code, refused.value.line) == ("unknown_columns", 1)
    assert refused.value.params["columns"] == "이름"


def test_a_part_column_given_twice_under_two_headers_is_refused(session):
    content = "email,given_name,First name\nkim@example.com,민준,민준\n".encode()
    with pytest.raises(importer.ImportFileError) as refused:
        importer.plan_import(session, ImportKind.customers, content)
    assert (refused.value.code, refused.value.line) == ("duplicate_columns", 1)
    assert refused.value.params["columns"] == "given_name, first name"


def test_a_custom_field_keeps_a_header_that_looks_like_a_part(session):
    make_custom_field(session, key="first_name", label="Nickname", field_type="text")
    run_import(session, "email,name,first_name\nmary@example.com,Mary Smith,Molly\n")
    customer = session.scalars(select(Customer)).one()
    assert (customer.given_name, customer.family_name) == ("Mary", "Smith")
    assert customer.field_values[0].text_value == "Molly"


def test_a_part_too_long_skips_the_row_with_its_line_and_the_files_header(session):
    long_name = "가" * 201
    plan = run_import(
        session,
        "email,name,First name,last name\n"
        "ok@example.com,김민준,,\n"
        f"long@example.com,김민수,{long_name},\n"
        f"\nlonger@example.com,김서연,,{long_name}\n",
    )
    assert [(e.line, e.column, e.code, e.params) for e in plan.errors] == [
        (3, "first name", "too_long", {"max": 200}),
        (5, "last name", "too_long", {"max": 200}),
    ]
    assert set(parts_by_email(session)) == {"ok@example.com"}


def test_empty_cells_keep_entered_parts_and_a_new_name_re_derives_the_others(session):
    make_customer(session, email="entered@example.com", name="Kim Minjun", given_name="민준")
    make_customer(session, email="derived@example.com", name="김민준")
    run_import(
        session,
        "email,name,given_name,family_name\n"
        "entered@example.com,Minjun Kim,,\n"
        "derived@example.com,남궁민수,,\n",
    )
    assert parts_by_email(session) == {
        "entered@example.com": ("Minjun Kim", "민준", "", True),
        "derived@example.com": ("남궁민수", "민수", "남궁", False),
    }


def test_a_cell_replaces_a_derived_part_and_marks_the_parts_entered(session):
    make_customer(session, email="minjun@example.com", name="김민준")
    plan = run_import(session, "email,given_name\nminjun@example.com,Minjun\n")
    assert plan.updated_count == 1
    assert parts_by_email(session)["minjun@example.com"] == ("김민준", "Minjun", "김", True)


def test_the_preview_shows_the_parts_the_import_will_store(admin_client, session):
    from tests.customers.test_import_views import upload

    response = upload(admin_client, "email,name\nminjun@example.com,김 민준\n".encode())
    preview = admin_client.get(response.headers["Location"]).text
    assert '<td data-name-part="given">민준</td><td data-name-part="family">김</td>' in preview


def read_export(client) -> list[dict[str, str]]:
    response = client.get("/customers/export")
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_export_has_the_part_columns_after_the_name(admin_client, session):
    make_customer(session, email="minjun@example.com", name="김 민준")
    make_customer(
        session,
        email="mary@example.com",
        name="Mary Smith",
        given_name="Molly",
        family_name="Smith",
    )
    rows = read_export(admin_client)
    assert list(rows[0])[:4] == ["email", "name", "given_name", "family_name"]
    assert {r["email"]: (r["given_name"], r["family_name"]) for r in rows} == {
        "minjun@example.com": ("민준", "김"),
        "mary@example.com": ("Molly", "Smith"),
    }


def test_an_export_with_parts_imports_back_without_changing_anything(admin_client, session):
    make_customer(session, email="minjun@example.com", name="김 민준")
    make_customer(
        session,
        email="mary@example.com",
        name="Mary Smith",
        given_name="Molly",
        family_name="Smith",
    )
    session.commit()
    before = parts_by_email(session)
    changed_at = dict(session.execute(select(Customer.email, Customer.updated_at)).all())
    exported = admin_client.get("/customers/export").data

    plan = run_import(session, exported.decode("utf-8-sig"))

    assert plan.errors == []
    assert parts_by_email(session) == before
    # Derived parts in the file equal what the name gives: they still follow the name.
    assert before["minjun@example.com"][3] is False
    assert dict(session.execute(select(Customer.email, Customer.updated_at)).all()) == changed_at
    assert session.scalar(select(func.count()).select_from(Customer)) == 2
