"""Importing customers from CSV: validation with line numbers, upserts, tags, custom fields."""

from decimal import Decimal

from sqlalchemy import func, select

from helpdesk.customers import importer
from helpdesk.customers.models import (
    Customer,
    CustomField,
    CustomFieldValue,
    ImportKind,
    SubscriptionStatus,
    Tag,
)
from tests.factories import make_custom_field, make_customer


def run_import(session, text: str | bytes, kind=ImportKind.customers):
    content = text.encode() if isinstance(text, str) else text
    plan = importer.plan_import(session, kind, content)
    importer.apply_plan(session, plan)
    session.commit()
    return plan


def errors_of(plan):
    return [(error.line, error.column, error.code) for error in plan.errors]


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_new_customers_are_created_with_all_columns(session):
    run_import(
        session,
        "email,name,phone,company,subscription_status\n"
        "kim@example.com,김민지,010-1234-5678,예시 주식회사,subscribed\n",
    )
    customer = session.scalars(select(Customer)).one()
    assert (customer.email, customer.name, customer.phone, customer.company) == (
        "kim@example.com",
        "김민지",
        "010-1234-5678",
        "예시 주식회사",
    )
    assert customer.subscription_status is SubscriptionStatus.subscribed
    assert customer.consent_at is not None
    assert customer.consent_source == importer.CONSENT_SOURCE


def test_existing_customer_is_updated_by_email_regardless_of_case(session):
    make_customer(session, email="kim@example.com", name="Old Name", company="Keep Ltd")
    plan = run_import(session, "email,name,company\nKIM@Example.com,New Name,\n")
    assert (plan.new_count, plan.updated_count) == (0, 1)
    session.expire_all()
    customer = session.scalars(select(Customer)).one()
    assert customer.name == "New Name"
    assert customer.company == "Keep Ltd", "an empty cell keeps the stored value"
    assert customer.email == "kim@example.com"


def test_tags_in_one_cell_are_split_and_added(session):
    make_customer(session, email="kim@example.com", tags=["existing"])
    run_import(session, 'email,tags\nkim@example.com,"VIP,  서울 ,vip"\nlee@example.com,vip\n')
    session.expire_all()
    kim = session.scalars(select(Customer).where(Customer.email == "kim@example.com")).one()
    assert [tag.name for tag in kim.tags] == ["existing", "vip", "서울"]
    assert count(session, Tag) == 3


def test_custom_field_columns_are_stored_typed(session):
    make_custom_field(session, key="points", label="Points", field_type="number")
    make_custom_field(session, key="birthday", label="Birthday", field_type="date")
    make_custom_field(session, key="vip", label="VIP", field_type="boolean")
    make_custom_field(
        session, key="plan", label="Plan", field_type="choice", choices=["Basic", "Pro"]
    )
    run_import(session, "email,points,birthday,vip,plan\nkim@example.com,12.5,1990-02-03,예,pro\n")
    values = {value.field.key: value for value in session.scalars(select(CustomFieldValue)).all()}
    assert values["points"].number_value == Decimal("12.5")
    assert values["birthday"].date_value.isoformat() == "1990-02-03"
    assert values["vip"].bool_value is True
    assert values["plan"].text_value == "Pro"


def test_each_bad_value_is_reported_with_its_line_and_column(session):
    make_custom_field(session, key="points", label="Points", field_type="number")
    plan = importer.plan_import(
        session,
        ImportKind.customers,
        (
            "email,name,phone,subscription_status,points\n"
            "ok@example.com,Ok,,,\n"
            ",No Email,,,\n"
            "not-an-email,Bad,,,\n"
            "phone@example.com,Bad Phone,call me,,\n"
            "status@example.com,Bad Status,,maybe,\n"
            "points@example.com,Bad Points,,,lots\n"
            f"long@example.com,{'x' * 201},,,\n"
            "extra@example.com,Extra,,,,surplus\n"
        ).encode(),
    )
    assert errors_of(plan) == [
        (3, "email", "required"),
        (4, "email", "invalid_email"),
        (5, "phone", "invalid_phone"),
        (6, "subscription_status", "invalid_status"),
        (7, "points", "invalid_number"),
        (8, "name", "too_long"),
        (9, "", "too_many_values"),
    ]
    assert [row.email for row in plan.rows] == ["ok@example.com"]


def test_duplicate_email_is_an_error_on_the_later_line(session):
    plan = importer.plan_import(
        session,
        ImportKind.customers,
        b"email,name\nkim@example.com,First\nlee@example.com,Lee\nKim@example.com,Second\n",
    )
    assert errors_of(plan) == [(4, "email", "duplicate_email")]
    assert plan.errors[0].params == {"first_line": 2}
    assert plan.new_count == 2


def test_line_numbers_count_blank_lines_and_quoted_line_breaks(session):
    plan = importer.plan_import(
        session,
        ImportKind.customers,
        b'email,company\n\nkim@example.com,"Two\nLines"\nbad,x\n',
    )
    assert errors_of(plan) == [(5, "email", "invalid_email")]


def test_bad_row_is_skipped_whole_while_good_rows_land(session):
    make_custom_field(session, key="points", label="Points", field_type="number")
    plan = run_import(
        session,
        "email,name,tags,points\n"
        "good@example.com,Good,vip,1\n"
        "bad@example.com,Bad,bad-tag,not a number\n",
    )
    assert plan.error_rows == 1
    assert session.scalars(select(Customer.email)).all() == ["good@example.com"]
    assert session.scalars(select(Tag.name)).all() == ["vip"]
    assert count(session, CustomFieldValue) == 1


def test_dry_run_writes_nothing(session):
    make_customer(session, email="kim@example.com", name="Kim")
    plan = importer.plan_import(
        session,
        ImportKind.customers,
        b"email,name,tags\nkim@example.com,Changed,vip\nnew@example.com,New,vip\n",
    )
    session.commit()
    assert (plan.new_count, plan.updated_count) == (1, 1)
    assert [row.email for row in plan.preview()] == ["kim@example.com", "new@example.com"]
    session.expire_all()
    assert session.scalars(select(Customer.name)).all() == ["Kim"]
    assert count(session, Tag) == 0


def test_unsubscribed_customer_cannot_be_resubscribed_by_import(session):
    make_customer(session, email="kim@example.com", subscription_status="unsubscribed")
    plan = run_import(session, "email,subscription_status\nkim@example.com,subscribed\n")
    assert errors_of(plan) == [(2, "subscription_status", "resubscribe")]
    session.expire_all()
    status = session.scalars(select(Customer.subscription_status)).one()
    assert status is SubscriptionStatus.unsubscribed


def test_reimporting_the_same_file_changes_nothing(session):
    text = "email,name,tags\nkim@example.com,Kim,vip\n"
    run_import(session, text)
    plan = run_import(session, text)
    assert (plan.new_count, plan.updated_count) == (0, 1)
    assert count(session, Customer) == 1
    assert session.scalars(select(Tag.name)).all() == ["vip"]


def test_batches_report_progress_in_file_positions(session):
    rows = "".join(f"user{i}@example.com,User {i}\n" for i in range(5))
    plan = importer.plan_import(session, ImportKind.customers, f"email,name\n{rows}".encode())
    progress = []
    importer.apply_plan(
        session, plan, batch_size=2, after_batch=lambda batch: progress.append(batch.processed)
    )
    assert progress == [2, 4, 5]
    assert count(session, Customer) == 5


def test_resuming_after_a_committed_batch_writes_only_the_rest(session):
    rows = "".join(f"user{i}@example.com,User {i}\n" for i in range(4))
    plan = importer.plan_import(session, ImportKind.customers, f"email,name\n{rows}".encode())
    result = importer.apply_plan(session, plan, start=2)
    session.commit()
    assert result.created == 2
    assert session.scalars(select(Customer.email).order_by(Customer.email)).all() == [
        "user2@example.com",
        "user3@example.com",
    ]


def test_cells_follow_the_same_rules_as_the_customer_form(session):
    make_custom_field(session, key="plan", label="Plan", field_type="choice", choices="Gold")
    plan = importer.plan_import(
        session,
        ImportKind.customers,
        (
            "email,phone,plan\n"
            f"long@example.com,{'1' * 51},\n"
            "wide@example.com,０１０-１２３４-５６７８,gold\n"
            "bad@example.com,,Silver\n"
        ).encode(),
    )
    assert errors_of(plan) == [(2, "phone", "too_long"), (4, "plan", "invalid_choice")]
    assert plan.errors[1].params["choices"] == "Gold"
    [row] = plan.rows
    assert row.phone == "010-1234-5678"
    assert row.field_values == {
        session.scalars(select(CustomField.id)).one(): ("Gold",) + (None,) * 3
    }
