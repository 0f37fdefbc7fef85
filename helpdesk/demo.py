"""The demo dataset `make run` loads on first start: staff accounts, ~200 customers, and
(helpdesk.demo_content) tickets, FAQ articles and a draft campaign.

Customer data comes from a seeded random generator, so every first start looks the same;
passwords come from `secrets`, because the admin login printed at start-up is a real one.
Addresses use the reserved example.com/.net/.org domains so no demo mail reaches anyone.
"""

from __future__ import annotations

import itertools
import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from helpdesk.auth.models import Role
from helpdesk.auth.service import create_user
from helpdesk.customers.models import (
    Customer,
    CustomField,
    CustomFieldValue,
    FieldType,
    Purchase,
    SubscriptionStatus,
    Tag,
)
from helpdesk.db import utcnow
from helpdesk.demo_content import load_demo_content
from helpdesk.inbound.incoming import IngestSettings

SEED = 20240501
CUSTOMER_COUNT = 200
ADMIN_EMAIL = "admin@example.com"

STAFF = [
    ("agent", "김민지", "minji.kim@example.com", True),
    ("agent", "Daniel Park", "daniel.park@example.com", False),
    ("agent", "이서준", "seojun.lee@example.com", False),
    ("marketer", "Emma Choi", "emma.choi@example.com", False),
]

KOREAN_SURNAMES = [
    ("김", "kim"),
    ("이", "lee"),
    ("박", "park"),
    ("최", "choi"),
    ("정", "jung"),
    ("강", "kang"),
    ("조", "cho"),
    ("윤", "yoon"),
    ("장", "jang"),
    ("한", "han"),
]
KOREAN_GIVEN = [
    ("민준", "minjun"),
    ("서연", "seoyeon"),
    ("지호", "jiho"),
    ("하은", "haeun"),
    ("도윤", "doyoon"),
    ("수아", "sua"),
    ("예준", "yejun"),
    ("지우", "jiwoo"),
    ("시우", "siwoo"),
    ("서윤", "seoyun"),
    ("주원", "juwon"),
    ("채원", "chaewon"),
    ("현우", "hyunwoo"),
    ("다은", "daeun"),
    ("건우", "gunwoo"),
    ("유진", "yujin"),
]
ENGLISH_FIRST = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "James",
    "Sophia",
    "Lucas",
    "Mia",
    "Ethan",
    "Grace",
    "Henry",
    "Chloe",
    "Samuel",
    "Zoe",
    "Owen",
]
ENGLISH_LAST = [
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Wilson",
    "Davies",
    "Evans",
    "Walker",
    "Wright",
    "Thompson",
    "Martin",
    "Clarke",
    "Hughes",
    "Moore",
]
COMPANIES = [
    ("하늘상사", "haneul"),
    ("푸른바다물산", "purunbada"),
    ("새봄출판", "saebom"),
    ("다온스튜디오", "daon"),
    ("누리테크", "nuri"),
    ("Northwind Traders", "northwind"),
    ("Contoso", "contoso"),
    ("Fabrikam", "fabrikam"),
    ("Bluebird Labs", "bluebird"),
    ("Maple & Oak", "mapleoak"),
]
PERSONAL_DOMAINS = ["example.com", "example.net", "example.org"]
TAGS = ["vip", "newsletter", "beta-tester", "wholesale", "partner", "churn-risk", "event-2024"]
PLANS = ["free", "standard", "premium", "enterprise"]
PRODUCTS = [
    ("Standard plan (1 year)", Decimal("120000"), "KRW"),
    ("Premium plan (1 year)", Decimal("360000"), "KRW"),
    ("추가 사용자 5명", Decimal("50000"), "KRW"),
    ("교육 패키지", Decimal("200000"), "KRW"),
    ("Onboarding workshop", Decimal("450.00"), "USD"),
    ("Priority support add-on", Decimal("99.00"), "USD"),
    ("Data migration service", Decimal("800.00"), "USD"),
]
CONSENT_SOURCES = ["signup form", "event booth", "checkout", "import"]


@dataclass(frozen=True)
class DemoResult:
    admin_email: str
    admin_password: str
    customer_count: int


def load_demo(
    session: Session, ingest_settings: IngestSettings, now: datetime | None = None
) -> DemoResult:
    """Adds the demo data to an empty database and commits; returns the admin's login."""
    now = now or utcnow()
    rng = random.Random(SEED)
    admin_password = _new_password()
    admin = create_user(
        session, email=ADMIN_EMAIL, name="Admin", password=admin_password, role="admin"
    )
    staff = [
        create_user(
            session,
            email=email,
            name=name,
            password=_new_password(),
            role=role,
            is_manager=is_manager,
        )
        for role, name, email, is_manager in STAFF
    ]
    tags = [Tag(name=name) for name in TAGS]
    plan = CustomField(
        key="plan", label="Plan", field_type=FieldType.choice, choices=PLANS, position=0
    )
    signup = CustomField(
        key="signup_date", label="Signup date", field_type=FieldType.date, position=1
    )
    session.add_all([*tags, plan, signup])
    session.flush()
    customers = [_customer(rng, index, now, tags) for index in range(CUSTOMER_COUNT)]
    session.add_all(customers)
    session.flush()
    order_numbers = itertools.count(10001)
    for customer in customers:
        _add_field_values(session, rng, customer, plan, signup)
        _add_purchases(session, rng, customer, now, order_numbers)
    session.commit()
    agents = [user for user in staff if user.role == Role.agent]
    load_demo_content(session, customers, agents, admin, ingest_settings, now)
    return DemoResult(ADMIN_EMAIL, admin_password, len(customers))


def _new_password() -> str:
    return secrets.token_urlsafe(15)


def _customer(rng: random.Random, index: int, now: datetime, tags: list[Tag]) -> Customer:
    name, local = _person(rng)
    if rng.random() < 0.6:
        company, slug = rng.choice(COMPANIES)
        email = f"{local}{index}@{slug}.example.com"
    else:
        company = ""
        email = f"{local}{index}@{rng.choice(PERSONAL_DOMAINS)}"
    created_at = now - timedelta(days=rng.randint(30, 720), minutes=rng.randint(0, 1439))
    status = rng.choices(list(SubscriptionStatus), weights=[6, 2, 2])[0]
    customer = Customer(
        email=email,
        name=name,
        phone=_phone(rng, name),
        company=company,
        subscription_status=status,
        created_at=created_at,
        updated_at=created_at,
        tags=rng.sample(tags, k=rng.choices([0, 1, 2, 3], weights=[4, 4, 2, 1])[0]),
    )
    if status != SubscriptionStatus.not_subscribed:
        customer.consent_at = created_at + timedelta(hours=rng.randint(0, 48))
        customer.consent_source = rng.choice(CONSENT_SOURCES)
    if status == SubscriptionStatus.unsubscribed:
        customer.unsubscribed_at = customer.consent_at + timedelta(days=rng.randint(1, 25))
    return customer


def _person(rng: random.Random) -> tuple[str, str]:
    """A display name and the matching romanized mailbox name."""
    if rng.random() < 0.6:
        (surname, surname_latin), (given, given_latin) = (
            rng.choice(KOREAN_SURNAMES),
            rng.choice(KOREAN_GIVEN),
        )
        return surname + given, f"{given_latin}.{surname_latin}"
    first, last = rng.choice(ENGLISH_FIRST), rng.choice(ENGLISH_LAST)
    return f"{first} {last}", f"{first}.{last}".lower()


def _phone(rng: random.Random, name: str) -> str:
    if rng.random() < 0.25:
        return ""
    if name.isascii():
        return f"+1 555-01{rng.randint(0, 99):02d}"
    return f"010-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"


def _add_field_values(
    session: Session,
    rng: random.Random,
    customer: Customer,
    plan: CustomField,
    signup: CustomField,
) -> None:
    if rng.random() < 0.9:
        session.add(
            CustomFieldValue(
                customer_id=customer.id,
                field_id=plan.id,
                text_value=rng.choices(PLANS, weights=[5, 4, 2, 1])[0],
            )
        )
    if rng.random() < 0.8:
        signup_date: date = customer.created_at.date() - timedelta(days=rng.randint(0, 60))
        session.add(
            CustomFieldValue(customer_id=customer.id, field_id=signup.id, date_value=signup_date)
        )


def _add_purchases(
    session: Session,
    rng: random.Random,
    customer: Customer,
    now: datetime,
    order_numbers: itertools.count,
) -> None:
    age_minutes = int((now - customer.created_at).total_seconds() // 60)
    for _ in range(rng.choices(range(6), weights=[3, 4, 3, 2, 1, 1])[0]):
        product, unit_price, currency = rng.choice(PRODUCTS)
        quantity = rng.choices([1, 2, 3], weights=[8, 2, 1])[0]
        session.add(
            Purchase(
                customer_id=customer.id,
                order_ref=f"D-{next(order_numbers)}",
                product=product,
                quantity=quantity,
                amount=unit_price * quantity,
                currency=currency,
                purchased_at=customer.created_at + timedelta(minutes=rng.randint(1, age_minutes)),
            )
        )
