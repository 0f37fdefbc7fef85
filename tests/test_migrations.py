"""The Alembic revisions build exactly the schema the models describe, on both databases."""

from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import column, inspect, select, table

from helpdesk.campaigns.models import Campaign
from helpdesk.customers.models import Customer
from helpdesk.db import UTCDateTime, make_engine
from helpdesk.mail.models import RawMessage
from helpdesk.migrate import alembic_config, include_object, upgrade
from helpdesk.models import metadata
from helpdesk.tickets.models import Message, SLAPolicy, Ticket

# The customers table of revisions 0001 to 0003, before the name parts.
old_customers = table(
    "customers",
    *(column(name) for name in ("id", "email", "name", "phone", "company")),
    *(column(name) for name in ("subscription_status", "consent_source")),
    column("created_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
)


# The tickets table of revisions 0001 to 0007, before the channel.
old_tickets = table(
    "tickets",
    *(column(name) for name in ("id", "subject", "status", "priority", "customer_id")),
    *(column(name) for name in ("version", "customer_replied_last")),
    *(column(name, UTCDateTime()) for name in ("created_at", "updated_at")),
    *(column(name, UTCDateTime()) for name in ("first_response_at", "response_due_at")),
)


def _old_ticket(ticket_id: int, *, now: datetime, **values) -> dict:
    return {
        "id": ticket_id,
        "subject": "",
        "status": "open",
        "priority": "normal",
        "customer_id": 1,
        "version": 1,
        "customer_replied_last": True,
        "created_at": now,
        "updated_at": now,
    } | values


def _old_customer(customer_id: int, email: str, name: str, *, now: datetime) -> dict:
    return {
        "id": customer_id,
        "email": email,
        "name": name,
        "phone": "",
        "company": "",
        "subscription_status": "not_subscribed",
        "consent_source": "",
        "created_at": now,
        "updated_at": now,
    }


def test_migrations_produce_the_models_schema(empty_database_url):
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_object}
        )
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []


def test_migrations_create_the_ticket_search_structures(empty_database_url):
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            assert "ticket_search" in inspect(conn).get_table_names()
        else:
            indexes = {index["name"] for index in inspect(conn).get_indexes("messages")}
            assert "ix_messages_body_text_trgm" in indexes
    engine.dispose()


def test_revision_0002_gives_existing_tickets_their_first_response_due_time(empty_database_url):
    config = alembic_config(empty_database_url)
    command.upgrade(config, "0001")
    engine = make_engine(empty_database_url)
    created = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    due_now = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            old_customers.insert().values(_old_customer(1, "c@example.com", "", now=created))
        )
        conn.execute(
            SLAPolicy.__table__.insert().values(
                priority="normal", first_response_minutes=30, next_response_minutes=600
            )
        )
        conn.execute(
            old_tickets.insert(),
            [
                _old_ticket(
                    1,
                    now=created,
                    first_response_at=created + timedelta(hours=1),
                    response_due_at=None,
                ),
                _old_ticket(2, now=created, first_response_at=None, response_due_at=due_now),
            ],
        )

    command.upgrade(config, "head")

    with engine.connect() as conn:
        rows = conn.execute(select(Ticket.id, Ticket.first_response_due_at))
        due = {ticket_id: at for ticket_id, at in rows}
    engine.dispose()
    # Answered: created + the default policy's 30 minutes. Unanswered: its due time.
    assert due == {1: created + timedelta(minutes=30), 2: due_now}


def test_revision_0003_takes_the_old_pause_sentences_apart(empty_database_url):
    config = alembic_config(empty_database_url)
    command.upgrade(config, "0002")
    engine = make_engine(empty_database_url)
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    old_campaigns = table(
        "campaigns",
        *(column(name) for name in ("id", "name", "subject", "from_name", "from_email")),
        *(column(name) for name in ("reply_to", "html_body", "text_body", "text_edited")),
        *(column(name) for name in ("status", "pause_reason", "consecutive_failures")),
        column("total_recipients"),
        column("created_at", UTCDateTime()),
        column("updated_at", UTCDateTime()),
    )
    blank = dict.fromkeys(("name", "subject", "from_name", "from_email", "reply_to"), "x")
    blank |= {"html_body": "", "text_body": "", "text_edited": False, "status": "paused"}
    blank |= {"consecutive_failures": 0, "total_recipients": 0, "created_at": now}
    reasons = [
        "paused after 20 failed deliveries in a row; the last one: 554 Relay access denied",
        "Paused by Ana Agent.",
        "Mia 님이 일시 중지했습니다.",
        "something else",
    ]
    with engine.begin() as conn:
        conn.execute(
            old_campaigns.insert(),
            [
                blank | {"id": n, "pause_reason": reason, "updated_at": now}
                for n, reason in enumerate(reasons, start=1)
            ],
        )

    command.upgrade(config, "head")

    with engine.connect() as conn:
        rows = conn.execute(
            select(Campaign.id, Campaign.paused_by, Campaign.pause_reason).order_by(Campaign.id)
        )
        taken_apart = [(by, reason) for _, by, reason in rows]
    engine.dispose()
    assert taken_apart == [
        ("", "554 Relay access denied"),
        ("Ana Agent", ""),
        ("Mia", ""),
        ("", "something else"),
    ]


def test_revision_0004_gives_existing_customers_given_and_family_names(empty_database_url):
    config = alembic_config(empty_database_url)
    command.upgrade(config, "0003")
    engine = make_engine(empty_database_url)
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    names = ["김민준", "김 민준", "남궁민수", "Mary Ann Smith", "Cher", ""]
    with engine.begin() as conn:
        conn.execute(
            old_customers.insert(),
            [
                _old_customer(n, f"c{n}@example.com", name, now=now)
                for n, name in enumerate(names, start=1)
            ],
        )

    command.upgrade(config, "head")

    with engine.connect() as conn:
        rows = conn.execute(
            select(Customer.given_name, Customer.family_name, Customer.name_parts_entered).order_by(
                Customer.id
            )
        )
        parts = [tuple(row) for row in rows]
    engine.dispose()
    assert parts == [
        ("민준", "김", False),
        ("민준", "김", False),
        ("민수", "남궁", False),
        ("Mary Ann", "Smith", False),
        ("Cher", "", False),
        ("", "", False),
    ]


def test_revision_0010_finds_the_tickets_that_came_from_the_contact_form(empty_database_url):
    config = alembic_config(empty_database_url)
    command.upgrade(config, "0007")
    engine = make_engine(empty_database_url)
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    raw = {"sha256": "0" * 64, "size": 1, "content": b"x", "received_at": now}
    with engine.begin() as conn:
        conn.execute(old_customers.insert().values(_old_customer(1, "c@example.com", "", now=now)))
        conn.execute(old_tickets.insert(), [_old_ticket(1, now=now), _old_ticket(2, now=now)])
        conn.execute(
            RawMessage.__table__.insert(),
            [
                raw | {"id": 1, "source": "imap"},
                raw | {"id": 2, "source": "form", "sha256": "1" * 64},
            ],
        )
        conn.execute(
            Message.__table__.insert(),
            [
                {"ticket_id": 1, "kind": "customer", "raw_message_id": 1, "created_at": now},
                {"ticket_id": 2, "kind": "customer", "raw_message_id": 2, "created_at": now},
            ],
        )

    command.upgrade(config, "head")

    with engine.connect() as conn:
        channels = dict(conn.execute(select(Ticket.id, Ticket.channel)).all())
    engine.dispose()
    assert channels == {1: "email", 2: "web_form"}
