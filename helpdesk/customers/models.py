"""Customer records and what hangs off them: tags, custom fields, purchases, notes, imports."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    case,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.auth.models import User
from helpdesk.customers.names import split_name
from helpdesk.db import Base, UTCDateTime, utcnow


class SubscriptionStatus(enum.StrEnum):
    subscribed = "subscribed"
    unsubscribed = "unsubscribed"
    not_subscribed = "not_subscribed"


class FieldType(enum.StrEnum):
    text = "text"
    number = "number"
    date = "date"
    boolean = "boolean"
    choice = "choice"


class PurchaseStatus(enum.StrEnum):
    """A cancelled purchase counts for nothing; a refunded one less its refunded amount."""

    paid = "paid"
    refunded = "refunded"
    cancelled = "cancelled"


class NoteKind(enum.StrEnum):
    call = "call"
    meeting = "meeting"
    chat = "chat"
    other = "other"


class ImportKind(enum.StrEnum):
    customers = "customers"
    purchases = "purchases"


class ImportStatus(enum.StrEnum):
    """pending (uploaded, awaiting confirmation) -> queued -> running -> done | failed;
    a failed import can be queued again and resumes where it stopped."""

    pending = "pending"
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, validate_strings=True)


def _derived_part(part: str):
    def default(context) -> str:
        return getattr(split_name(context.get_current_parameters().get("name") or ""), part)

    return default


customer_tags = Table(
    "customer_tags",
    Base.metadata,
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No plain unique index on email and no indexes on name or company: the unique index
    # on lower(email) below already makes addresses unique, the list sorts by a collated
    # lower(name) and searches with ILIKE '%term%', which no plain index serves, and every
    # index costs time on each of the 100,000 rows of a large import.
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    # The parts of `name` for greetings, segments and exports. Derived from the name
    # (helpdesk.customers.names.split_name) and derived again when it changes, unless
    # `name_parts_entered`: then a person or an import gave them and they stay as given.
    # A row inserted without them (a customer first met by mail) gets the derived ones.
    given_name: Mapped[str] = mapped_column(String(200), default=_derived_part("given"))
    family_name: Mapped[str] = mapped_column(String(200), default=_derived_part("family"))
    name_parts_entered: Mapped[bool] = mapped_column(Boolean, default=False)
    phone: Mapped[str] = mapped_column(String(50), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    # The customer's id in another system (the shop), for integrations that upsert by it.
    # A unique index, not a constraint: SQLite adds an index without rebuilding the table.
    external_id: Mapped[str | None] = mapped_column(String(100), index=True, unique=True)
    subscription_status: Mapped[SubscriptionStatus] = mapped_column(
        _enum(SubscriptionStatus), default=SubscriptionStatus.not_subscribed, index=True
    )
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_source: Mapped[str] = mapped_column(String(100), default="")
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Korean law asks for a separate consent to advertising sent between 21:00 and 08:00.
    night_ad_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # IANA zone and language code ("ko", "en") that campaign dates and money are written
    # in; empty: the organisation's default.
    timezone: Mapped[str] = mapped_column(String(64), default="")
    language: Mapped[str] = mapped_column(String(10), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    tags: Mapped[list[Tag]] = relationship(secondary=customer_tags, order_by=Tag.name)
    field_values: Mapped[list[CustomFieldValue]] = relationship(
        back_populates="customer", cascade="all, delete-orphan"
    )

    # Mail clients and people vary the case of the local part; one person must still map
    # to one record, and ingest looks customers up by lower(email) on every message.
    __table_args__ = (Index("uq_customers_email_lower", func.lower(email), unique=True),)


class CustomField(Base):
    __tablename__ = "custom_fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    field_type: Mapped[FieldType] = mapped_column(_enum(FieldType))
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomFieldValue(Base):
    """One typed column per field type, so segments can compare numbers and dates in SQL."""

    __tablename__ = "custom_field_values"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    field_id: Mapped[int] = mapped_column(
        ForeignKey("custom_fields.id", ondelete="CASCADE"), primary_key=True
    )
    text_value: Mapped[str | None] = mapped_column(Text)
    number_value: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    date_value: Mapped[date | None] = mapped_column(Date)
    bool_value: Mapped[bool | None] = mapped_column(Boolean)

    customer: Mapped[Customer] = relationship(back_populates="field_values")
    field: Mapped[CustomField] = relationship()

    # A row fills exactly one value column, so each index covers only the rows that use
    # its column; comparisons such as number_value > 5 imply IS NOT NULL, and both
    # databases then use the partial index.
    __table_args__ = tuple(
        Index(
            f"ix_custom_field_values_field_{column.removesuffix('_value')}",
            "field_id",
            column,
            postgresql_where=text(f"{column} IS NOT NULL"),
            sqlite_where=text(f"{column} IS NOT NULL"),
        )
        for column in ("number_value", "date_value", "text_value")
    )


class Purchase(Base):
    __tablename__ = "purchases"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    order_ref: Mapped[str | None] = mapped_column(String(100))
    product: Mapped[str] = mapped_column(String(200), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    purchased_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Defaults in the database only: the CSV import's bulk INSERT names just its own
    # columns (helpdesk.customers.importer.bulk).
    status: Mapped[PurchaseStatus] = mapped_column(_enum(PurchaseStatus), server_default="paid")
    refunded_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), server_default="0")
    # An order from another system (the shop) by that system's name and order id: sent
    # again, it updates this row instead of adding one.
    source: Mapped[str | None] = mapped_column(String(50))
    order_id: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("customer_id", "order_ref", "product"),
        Index("uq_purchases_source_order_id", "source", "order_id", unique=True),
    )


def counted_amount():
    """What a purchase adds to a customer's spend (lifetime value, segments, sorting):
    nothing when cancelled, the amount less what was refunded otherwise."""
    return case(
        (Purchase.status == PurchaseStatus.cancelled, 0),
        else_=Purchase.amount - Purchase.refunded_amount,
    )


class ContactNote(Base):
    __tablename__ = "contact_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[NoteKind] = mapped_column(_enum(NoteKind))
    happened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship()


class ImportJob(Base):
    """A CSV upload and its outcome; the RQ job updates progress here for the page to poll."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ImportKind] = mapped_column(_enum(ImportKind))
    status: Mapped[ImportStatus] = mapped_column(_enum(ImportStatus), default=ImportStatus.pending)
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict]] = mapped_column(JSON, default=list)
    failure: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
