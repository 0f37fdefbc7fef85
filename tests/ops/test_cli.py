"""The `helpdesk` command's migrate, create-user and demo subcommands, run in-process."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, inspect, select

from helpdesk.auth.models import Role, User
from helpdesk.auth.service import ThrottlePolicy, authenticate
from helpdesk.campaigns.models import Campaign
from helpdesk.cli import main
from helpdesk.customers.models import Customer, CustomField, CustomFieldValue, Purchase
from helpdesk.db import make_engine
from helpdesk.demo_content import FAQ_ARTICLES, HISTORY_TICKETS, MAILS, SENT_CAMPAIGNS
from helpdesk.faq.models import Article, ArticleStatus
from helpdesk.tickets.models import Message, MessageKind, Ticket


@pytest.fixture
def cli_env(database_url, tmp_path):
    return {
        "DATABASE_URL": database_url,
        "HELPDESK_INSTANCE": str(tmp_path / "instance"),
        "SECRET_KEY": "cli-test-secret",
    }


def invoke(env, *args, input=None):
    return CliRunner().invoke(main, list(args), env=env, input=input)


def count(session, model) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def test_migrate_builds_the_schema_in_an_empty_database(empty_database_url, tmp_path):
    env = {"DATABASE_URL": empty_database_url, "HELPDESK_INSTANCE": str(tmp_path)}
    first = invoke(env, "migrate")
    again = invoke(env, "migrate")
    engine = make_engine(empty_database_url)
    tables = inspect(engine).get_table_names()
    engine.dispose()
    assert first.exit_code == 0, first.output
    assert "upgraded from revision none to" in first.output
    assert again.exit_code == 0
    assert "is up to date" in again.output
    assert {"users", "customers"} <= set(tables)


def test_create_user_adds_an_account_that_can_log_in(app, session, cli_env):
    result = invoke(
        cli_env,
        "create-user",
        "--email", "lead@example.com",
        "--name", "박지성",
        "--role", "agent",
        "--manager",
        "--password", "a long enough password",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Created agent lead@example.com" in result.output
    user = authenticate(
        session, "lead@example.com", "a long enough password", "127.0.0.1", ThrottlePolicy()
    )
    assert user is not None
    assert (user.name, user.role, user.is_manager) == ("박지성", Role.agent, True)


def test_create_user_asks_for_the_password_twice_when_not_given(app, session, cli_env):
    result = invoke(
        cli_env,
        "create-user", "--email", "mk@example.com", "--name", "Mia", "--role", "marketer",
        input="typed secret pass\ntyped secret pass\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Repeat for confirmation" in result.output
    assert "typed secret pass" not in result.output
    user = authenticate(session, "mk@example.com", "typed secret pass", "ip", ThrottlePolicy())
    assert user is not None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"--email": "not-an-email"}, "invalid email"),
        ({"--role": "superuser"}, "Invalid value for '--role'"),
        ({"--password": "short"}, "at least 10 characters"),
        ({"--email": "admin@example.com"}, "already exists"),
        ({"--name": "   "}, "name is required"),
    ],
    ids=["bad-email", "unknown-role", "short-password", "duplicate", "blank-name"],
)
def test_create_user_refuses_bad_input_and_writes_nothing(
    app, session, admin, cli_env, overrides, message
):
    options = {
        "--email": "new@example.com",
        "--name": "New Person",
        "--role": "agent",
        "--password": "a long enough password",
    } | overrides
    args = [item for pair in options.items() for item in pair]
    result = invoke(cli_env, "create-user", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert count(session, User) == 1


def test_create_user_on_an_unmigrated_database_says_to_migrate(empty_database_url, tmp_path):
    env = {"DATABASE_URL": empty_database_url, "HELPDESK_INSTANCE": str(tmp_path)}
    result = invoke(
        env, "create-user", "--email", "a@example.com", "--name", "A", "--role", "admin",
        "--password", "a long enough password",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "run `helpdesk migrate` first" in result.output


def test_demo_loads_staff_customers_fields_and_purchases(app, session, cli_env):
    result = invoke(cli_env, "demo")
    assert result.exit_code == 0, result.output
    roles = sorted(role.value for role in session.scalars(select(User.role)))
    assert roles == ["admin", "agent", "agent", "agent", "marketer"]
    assert count(session, Customer) == 200
    assert sorted(session.scalars(select(CustomField.key))) == ["plan", "signup_date"]
    assert count(session, CustomFieldValue) > 200
    assert 200 < count(session, Purchase) < 1000
    names = list(session.scalars(select(Customer.name)))
    assert any(not name.isascii() for name in names) and any(name.isascii() for name in names)


def test_demo_brings_tickets_faq_and_a_campaign_draft(app, session, cli_env):
    result = invoke(cli_env, "demo")
    assert result.exit_code == 0, result.output
    subjects = set(session.scalars(select(Ticket.subject)))
    assert {mail.subject for mail in MAILS} <= subjects
    assert count(session, Ticket) == len(MAILS) + HISTORY_TICKETS
    # Follow-up mails are threaded into their tickets, not tickets of their own.
    follow_ups = select(Message).where(
        Message.kind == MessageKind.customer, Message.subject.startswith("Re: ")
    )
    assert session.scalars(follow_ups).all()
    assert not [subject for subject in subjects if subject.startswith("Re: ")]
    published = select(Article).where(Article.status == ArticleStatus.published)
    assert len(session.scalars(published).all()) == len(FAQ_ARTICLES)
    statuses = sorted(c.status.value for c in session.scalars(select(Campaign)))
    assert statuses == ["draft"] + ["sent"] * len(SENT_CAMPAIGNS)


def test_demo_prints_a_working_admin_login(app, session, cli_env):
    result = invoke(cli_env, "demo")
    email, password = result.output.split("Admin login: ")[1].split()[0::2]
    user = authenticate(session, email, password, "127.0.0.1", ThrottlePolicy())
    assert user is not None and user.role == Role.admin


def test_demo_refuses_a_database_that_already_has_users(app, session, admin, cli_env):
    result = invoke(cli_env, "demo")
    assert result.exit_code == 2
    assert "already has users" in result.output
    assert count(session, Customer) == 0
    assert count(session, User) == 1
