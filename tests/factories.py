"""Plain factory functions: each makes one committed row with sensible defaults."""

from __future__ import annotations

from datetime import timedelta

from helpdesk.auth import service as auth_service

DEFAULT_PASSWORD = "correct horse battery"


def make_user(session, **overrides):
    values = {
        "email": "user@example.com",
        "name": "Test User",
        "password": DEFAULT_PASSWORD,
        "role": "agent",
    } | overrides
    user = auth_service.create_user(session, **values)
    session.commit()
    return user


def make_mailbox(session, **overrides):
    from helpdesk.mail.models import Mailbox

    values = {"name": "Support", "address": "support@helpdesk.test"} | overrides
    mailbox = Mailbox(**values)
    session.add(mailbox)
    session.commit()
    return mailbox


def make_ticket(session, *, customer_email="customer@example.com", **overrides):
    """A ticket of the customer with that address (created when missing)."""
    from sqlalchemy import select

    from helpdesk.customers.models import Customer
    from helpdesk.tickets.models import Ticket

    customer = session.scalars(select(Customer).where(Customer.email == customer_email)).first()
    if customer is None:
        customer = Customer(email=customer_email, name="")
        session.add(customer)
        session.flush()
    values = {"subject": "Question", "customer_id": customer.id} | overrides
    ticket = Ticket(**values)
    session.add(ticket)
    session.commit()
    return ticket


def make_customer(session, **overrides):
    """A customer through the service, so the row holds normalized values."""
    from helpdesk.customers import service

    now = overrides.pop("now", None)
    values = {"email": "kim@example.com", "name": "Kim Minji"} | overrides
    customer = service.create_customer(session, service.CustomerData(**values), now=now)
    session.commit()
    return customer


def make_custom_field(session, **overrides):
    from helpdesk.customers import service

    values = {"key": "plan", "label": "Plan", "field_type": "text"} | overrides
    custom_field = service.create_custom_field(session, service.CustomFieldData(**values))
    session.commit()
    return custom_field


def make_purchase(session, customer, **overrides):
    from datetime import UTC, datetime
    from decimal import Decimal

    from helpdesk.customers import service

    values = {
        "product": "Starter plan",
        "quantity": 1,
        "amount": Decimal("10000"),
        "currency": "KRW",
        "purchased_at": datetime(2024, 3, 1, 9, 0, tzinfo=UTC),
    } | overrides
    purchase = service.add_purchase(session, customer, **values)
    session.commit()
    return purchase


def make_message(session, ticket, **overrides):
    """A message on the ticket (a customer's mail unless `kind` says otherwise)."""
    from helpdesk.tickets.models import Message, MessageKind

    values = {"kind": MessageKind.customer, "body_text": "Hello", "from_email": ""} | overrides
    message = Message(ticket_id=ticket.id, **values)
    session.add(message)
    session.commit()
    return message


def make_faq_category(session, **overrides):
    from helpdesk.faq import service

    values = {"name": "Orders", "position": 0} | overrides
    category = service.save_category(session, **values)
    session.commit()
    return category


def make_article(session, *, author=None, **overrides):
    """A published FAQ article through the service, so it is rendered and indexed."""
    from helpdesk.faq import service

    values = {
        "title": "How to request a refund",
        "body": "You can get your money back within 30 days.",
        "language": "en",
        "status": "published",
    } | overrides
    article = service.create_article(
        session, service.ArticleData(**values), author.id if author else None
    )
    session.commit()
    return article


def make_subscribers(session, count: int, *, domain: str = "example.com", start: int = 0):
    """`count` subscribed customers (sub0@..., named "Reader N"), inserted in one go."""
    from sqlalchemy import insert, select

    from helpdesk.customers.models import Customer, SubscriptionStatus

    rows = [
        {
            "email": f"sub{n}@{domain}",
            "name": f"Reader {n}",
            "subscription_status": SubscriptionStatus.subscribed,
        }
        for n in range(start, start + count)
    ]
    session.execute(insert(Customer), rows)
    session.commit()
    emails = [row["email"] for row in rows]
    return list(session.scalars(select(Customer).where(Customer.email.in_(emails))))


def make_sending_campaign(session, **overrides):
    """A draft campaign to every subscribed customer, with one tracked link."""
    from helpdesk.campaigns.models import Campaign, Segment

    segment = overrides.pop("segment", None)
    if segment is None:
        segment = Segment(name="Everyone subscribed", rules={})
        session.add(segment)
        session.flush()
    values = {
        "name": "Spring news",
        "subject": "News for {{ customer.first_name }}",
        "from_name": "Shop News",
        "from_email": "news@helpdesk.test",
        "html_body": (
            "<html><body><p>Hello {{ customer.name }},</p>"
            '<p><a href="https://shop.example/spring">See the spring range</a></p>'
            '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>'
        ),
        "segment_id": segment.id,
    } | overrides
    campaign = Campaign(**values)
    session.add(campaign)
    session.commit()
    return campaign


def make_delivery(session, campaign, customer, **overrides):
    """A delivery row as the sender leaves it (sent an hour ago unless overridden)."""
    import secrets
    from datetime import timedelta

    from helpdesk.campaigns.models import Delivery, DeliveryState
    from helpdesk.db import utcnow

    values = {
        "campaign_id": campaign.id,
        "customer_id": customer.id,
        "email": customer.email,
        "token": secrets.token_hex(16),
        "state": DeliveryState.sent,
        "sent_at": utcnow() - timedelta(hours=1),
    } | overrides
    delivery = Delivery(**values)
    session.add(delivery)
    session.commit()
    return delivery


def make_segment(session, rules=None, **overrides):
    """A segment through the editor service, so its rules are validated."""
    from helpdesk.campaigns import service

    values = {"name": "Pro customers", "rules": rules if rules is not None else {}} | overrides
    segment = service.create_segment(session, service.SegmentData(**values), user_id=None)
    session.commit()
    return segment


def make_campaign(session, **overrides):
    """A draft campaign through the editor service (templates checked)."""
    from helpdesk.campaigns import service

    values = {
        "name": "Autumn news",
        "subject": "Hello {{ customer.name }}",
        "from_name": "Shop",
        "from_email": "news@shop.example",
        "html_body": "<p>Hello {{ customer.name }}</p>",
    } | overrides
    campaign = service.create_campaign(session, service.CampaignData(**values), user_id=None)
    session.commit()
    return campaign


def make_saved_reply(session, *, owner=None, **overrides):
    """A saved reply: personal to `owner`, or shared when there is none."""
    from helpdesk.saved_replies.models import SavedReply

    values = {"title": "Thanks", "folder": "", "body": "Thank you!", "used_in_replies": 0}
    reply = SavedReply(**(values | overrides), owner_id=owner.id if owner else None)
    session.add(reply)
    session.commit()
    return reply


def make_api_token(session, user, scopes=("customers:read",), **overrides):
    """A token of `user` (personal) or, with kind="service", made by `user`; returns the
    secret to send as the bearer token."""
    from helpdesk.api import tokens
    from helpdesk.api.models import TokenKind

    values = {"kind": TokenKind.personal, "name": "test token", "expires_in_days": None}
    new = tokens.create_token(session, scopes=scopes, created_by=user, **(values | overrides))
    session.commit()
    return new.secret


def make_idempotency_key(session, key, request_hash, *, status_code=None, age=None, body=""):
    """A stored Idempotency-Key of the only API token: reserved (no status code) or done,
    made `age` ago (a timedelta; default now)."""
    from sqlalchemy import select

    from helpdesk.api.models import ApiToken, IdempotentResponse
    from helpdesk.db import utcnow

    row = IdempotentResponse(
        token_id=session.scalar(select(ApiToken.id)),
        key=key,
        request_hash=request_hash,
        status_code=status_code,
        body=body,
        created_at=utcnow() - (age or timedelta()),
    )
    session.add(row)
    session.commit()
    return row


def set_customer_language(session, customer_id: int, value: str):
    """The customer's `language` custom field (made on first use) set to `value`."""
    from sqlalchemy import select

    from helpdesk.customers import service
    from helpdesk.customers.models import Customer, CustomField

    custom_field = session.scalars(
        select(CustomField).where(CustomField.key == service.LANGUAGE_FIELD_KEY)
    ).first() or make_custom_field(session, key=service.LANGUAGE_FIELD_KEY, label="Language")
    service.set_field_value(session, session.get(Customer, customer_id), custom_field, value)
    session.commit()


def make_marketing_rules(session, **overrides):
    """The organisation's marketing rules through the service (values as the page sends)."""
    from helpdesk.campaigns import marketing_rules

    rules = marketing_rules.save_rules(session, marketing_rules.RulesData(**overrides))
    session.commit()
    return rules


def make_campaign_in_sending(session, customers, **overrides):
    """A campaign already `sending`, with one pending delivery per customer (no jobs)."""
    import secrets

    from helpdesk.campaigns.models import CampaignStatus, Delivery

    campaign = make_sending_campaign(session, status=CampaignStatus.sending, **overrides)
    session.add_all(
        Delivery(
            campaign_id=campaign.id,
            customer_id=customer.id,
            email=customer.email,
            token=secrets.token_hex(16),
        )
        for customer in customers
    )
    session.commit()
    return campaign


def make_identity(session, *, verified: bool = True, default: bool = False, **overrides):
    """A sending identity through the service, confirmed unless `verified=False`."""
    from helpdesk.campaigns import identities
    from helpdesk.db import utcnow

    values = {"email": "news@shop.example", "name": "Shop News", "reply_to": ""} | overrides
    identity = identities.add_identity(session, **values)
    if verified:
        identity.verified_at = utcnow()
    session.flush()
    if default:
        identities.set_default(session, identity.id)
    session.commit()
    return identity
