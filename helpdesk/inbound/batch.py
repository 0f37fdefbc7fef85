"""One batch of committed raw messages taken through ingest in a single transaction:
what every message needs, read once per batch, and the rows the batch adds, written
together at the end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from helpdesk.customers.models import Customer
from helpdesk.db import assign_ids, chunks, insert_returning_ids, utcnow
from helpdesk.events.service import Subject, record_events
from helpdesk.inbound.delivery_problems import find_customer
from helpdesk.inbound.incoming import (
    IngestResult,
    IngestSettings,
    KnownCustomer,
    _NewMessage,
    _Outcome,
    _own,
    _Stored,
    dedupe_key,
    mail_identity,
    parse_incoming,
    same_mail_key,
)
from helpdesk.inbound.rules import _Context
from helpdesk.mail.bounces.ids import is_our_message_id
from helpdesk.mail.models import Mailbox, RawMessage, RawStatus, SeenMessage
from helpdesk.mail.parse import ParsedMail
from helpdesk.normalize import EmailNormalizer, InvalidEmail, normalize_email, normalize_text
from helpdesk.notifications import service as notifications
from helpdesk.notifications.models import NotificationKind
from helpdesk.tickets.models import (
    Attachment,
    AttachmentBlob,
    Message,
    MessageKind,
    Participant,
    Priority,
    Ticket,
)
from helpdesk.tickets.sla import (
    Targets,
    add_working_minutes,
    business_hours_of,
    targets_for,
    unanswered_since,
    unanswered_since_by_ticket,
)


@dataclass(frozen=True)
class _Claim:
    """What the ledger says of one message of the batch: its key, the raw message it is
    a copy of (None: it is taken in), and the first holder of its Message-ID when that
    was a different mail."""

    key: str
    duplicate_of: int | None = None
    reused_from: int | None = None


def _dialect_insert(session: Session):
    """The INSERT that can say ON CONFLICT DO NOTHING (same syntax on both our databases)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert
    return sqlite_insert


_RAW_OUTCOME = (
    update(RawMessage.__table__)
    .where(RawMessage.__table__.c.id == bindparam("raw_id"))
    .values(
        {
            name: bindparam(name)
            for name in (
                "status",
                "status_reason",
                "ticket_id",
                "message_id",
                "duplicate_of_id",
                "processed_at",
            )
        }
    )
)


class _Batch:
    """What every message of one batch needs, read once per batch instead of per message:
    mailboxes and our own addresses, dedupe claims, the customers who wrote (new ones
    created together), the tickets of the Message-IDs the batch refers to and when their
    customers began waiting, response targets. Kept up to date as the batch adds rows, so
    a reply threads to a ticket opened earlier in the same batch.

    New tickets are only added to the session, new messages, blobs and version bumps
    collected; `write` at the end stores them all (one executemany per table, see
    `insert_returning_ids`), so a batch costs the same number of statements whatever its
    size.
    """

    def __init__(self, session: Session, settings: IngestSettings):
        self.session = session
        self.settings = settings
        self.mailboxes = {m.id: m for m in session.scalars(select(Mailbox))}
        self.own = _own([m.address for m in self.mailboxes.values()], settings)
        self.customers: dict[str, KnownCustomer] = {}  # by lower-cased address
        # Message-ID -> (ticket or its id, kind); None for Message-IDs no message has.
        self.messages: dict[str, tuple[Ticket | int, MessageKind] | None] = {}
        # Message-ID -> (ticket or its id, its customer's lower-cased address) of the later
        # mails that reused it, oldest first (the first one's is in `messages`).
        self.reusers: dict[str, list[tuple[Ticket | int, str]]] = {}
        self.claims: dict[int, _Claim] = {}  # by raw message id, this batch's
        self.outcomes: dict[int, _Outcome] = {}  # this batch's, by raw message id
        self.raw_tickets: dict[int, int | None] = {}  # earlier raw messages' tickets
        self.acks_sent: dict[int, int] = {}  # customer id -> acknowledgements in the window
        self.blobs: set[str] = set()
        self.pending_blobs: list[dict] = []
        self.new_tickets: list[Ticket] = []  # added to the session, in order
        self.replied: set[Ticket] = set()  # customer replies bump their version at write
        # Ticket -> its first customer message not answered yet, stored or in this batch.
        self.waiting: dict[Ticket, datetime | None] = {}
        self.pending: list[_NewMessage] = []
        self.targets: dict[tuple[int | None, Priority], Targets] = {}
        self._normalized: dict[str, str | None] = {}
        # Full validation costs ~0.3 ms an address; most senders share a few domains.
        self._normalize = EmailNormalizer()
        insert_ = _dialect_insert(session)
        self._insert_customer = (
            insert_(Customer)
            .on_conflict_do_nothing()
            .returning(Customer.id, Customer.email, Customer.name)
        )
        self._insert_blob = insert_(AttachmentBlob).on_conflict_do_nothing()
        self._insert_participant = insert_(Participant).on_conflict_do_nothing()
        self._claim = (
            insert_(SeenMessage).on_conflict_do_nothing().returning(SeenMessage.dedupe_key)
        )

    def run(self, stored: list[_Stored]) -> list[IngestResult]:
        parsed = [
            item.parsed or parse_incoming(item.content, self.settings, self.own) for item in stored
        ]
        for item, mail in zip(stored, parsed, strict=True):
            item.message_id = mail.message_id[:998] if mail.message_id else None
        self.claim(stored, parsed)
        self.prefetch(parsed)
        contexts = [_Context(self, item, mail) for item, mail in zip(stored, parsed, strict=True)]
        self.create_customers(contexts)
        for context in contexts:
            self.outcomes[context.raw.id] = context.run()
        self.write()
        # Receipts quote the ticket number, which the write has just assigned.
        for item, mail in zip(stored, parsed, strict=True):
            outcome = self.outcomes[item.id]
            if outcome.acknowledge is not None:
                outcome.acknowledgement = _Context(self, item, mail).acknowledgement(outcome)
        self.write()
        notified = self.notify_agents([self.outcomes[item.id] for item in stored])
        self.record_events(stored)
        mail = notified.to_mail > 0
        results = [self.outcomes[item.id].result(item.id, mail) for item in stored]
        now = utcnow()
        # Core rather than the ORM's bulk UPDATE by primary key, whose bookkeeping per row
        # costs more than the statement.
        self.session.execute(
            _RAW_OUTCOME,
            [
                {
                    "raw_id": item.id,
                    "status": result.status,
                    "status_reason": result.reason,
                    "ticket_id": result.ticket_id,
                    "message_id": item.message_id,
                    "duplicate_of_id": self.outcomes[item.id].duplicate_of_id,
                    "processed_at": now,
                }
                for item, result in zip(stored, results, strict=True)
            ],
        )
        return results

    def record_events(self, stored: list[_Stored]) -> None:
        """ticket.created / ticket.message_received for each customer message taken in,
        one INSERT per type, in the batch's transaction."""
        by_type: dict[str, list] = {"ticket.created": [], "ticket.message_received": []}
        for item in stored:
            outcome = self.outcomes[item.id]
            message, ticket = outcome.message, outcome.ticket
            if message is None or ticket is None:
                continue
            if message.values.get("kind") != MessageKind.customer:
                continue
            payload = {
                "ticket_id": ticket.id,
                "customer_id": ticket.customer_id,
                "message_id": message.id,
                "subject": ticket.subject,
            }
            type_ = "ticket.created" if outcome.created_ticket else "ticket.message_received"
            by_type[type_].append((Subject("ticket", ticket.id), payload))
        for type_, items in by_type.items():
            record_events(self.session, type_, items)

    def flush(self) -> None:
        """The session's flush, with the new tickets' ids assigned first (`assign_ids`)."""
        new, self.new_tickets = [t for t in self.new_tickets if t.id is None], []
        assign_ids(self.session, new)
        self.session.flush()

    def write(self) -> None:
        """Store what the batch has added so far: tickets and their changes, then messages."""
        self.flush()
        if self.replied:
            # Atomic in SQL, so an agent's concurrent change is never undone; one
            # statement for the batch, as the ORM would write one UPDATE per ticket.
            self.session.execute(
                update(Ticket)
                .where(Ticket.id.in_(sorted(t.id for t in self.replied)))
                .values(version=Ticket.version + 1)
            )
            self.replied.clear()
        if self.pending_blobs:
            blobs, self.pending_blobs = self.pending_blobs, []
            self.session.execute(self._insert_blob, blobs)
        pending, self.pending = self.pending, []
        if not pending:
            return
        ids = insert_returning_ids(
            self.session,
            Message,
            [message.values | {"ticket_id": message.ticket.id} for message in pending],
        )
        for message, id_ in zip(pending, ids, strict=True):
            message.id = id_
        attachments = [a | {"message_id": m.id} for m in pending for a in m.attachments]
        if attachments:
            self.session.execute(insert(Attachment), attachments)

    def notify_agents(self, outcomes: list[_Outcome]) -> notifications.Notified:
        """Tell agents of the batch's customer mail, all in one INSERT: a reply goes to
        the ticket's assignee, a new ticket to its mailbox's watchers (and to the agent
        the rotation gave it to)."""
        taken = [
            o
            for o in outcomes
            if o.status == RawStatus.ingested and o.ticket is not None and o.message is not None
        ]
        watchers = notifications.watchers_by_mailbox(
            self.session, {o.ticket.mailbox_id for o in taken if o.created_ticket} - {None}
        )
        events = []
        for outcome in taken:
            ticket = outcome.ticket
            if not outcome.created_ticket:
                if ticket.assignee_id is not None:
                    kind, users = NotificationKind.customer_replied, [ticket.assignee_id]
                    events.append(notifications.Event(kind, ticket.id, ticket.subject, users))
                continue
            users = watchers.get(ticket.mailbox_id, [])
            events.append(
                notifications.Event(NotificationKind.new_ticket, ticket.id, ticket.subject, users)
            )
            if ticket.assignee_id is not None:
                events.append(
                    notifications.Event(
                        NotificationKind.assigned, ticket.id, ticket.subject, [ticket.assignee_id]
                    )
                )
        return notifications.notify_many(self.session, events)

    def claim(self, stored: list[_Stored], parsed: list[ParsedMail]) -> None:
        """Enter the batch's dedupe keys in the ledger and decide, per message, whether
        it is a copy of a mail taken in before (`claims`).

        The database decides, so of two processes taking in the same mail at once only
        one gets the key; the first of two copies within the batch holds it for both. A
        Message-ID held by a different mail (`mail_identity` differs) is no reason to
        drop this one: it claims a key of its own (`same_mail_key`), which its copies
        then find, and is taken in with the reuse noted.
        """
        items = [
            (item.id, dedupe_key(mail), mail_identity(mail))
            for item, mail in zip(stored, parsed, strict=True)
        ]
        holders = self.take_keys([(key, raw_id, identity) for raw_id, key, identity in items])
        reusing = []
        for raw_id, key, identity in items:
            holder, holder_identity = holders[key]
            if holder == raw_id:
                self.claims[raw_id] = _Claim(key)
                continue
            if identity is not None:
                holder_identity = self.identity_of(key, holder, holder_identity)
                holders[key] = (holder, holder_identity)
            if identity is None or holder_identity == identity:
                self.claims[raw_id] = _Claim(key, duplicate_of=holder)
            else:
                reusing.append((raw_id, holder, identity))
        if reusing:
            own_keys = self.take_keys(
                [(same_mail_key(identity), raw_id, identity) for raw_id, _, identity in reusing]
            )
            for raw_id, first, identity in reusing:
                key = same_mail_key(identity)
                holder = own_keys[key][0]
                if holder == raw_id:
                    self.claims[raw_id] = _Claim(key, reused_from=first)
                else:
                    self.claims[raw_id] = _Claim(key, duplicate_of=holder)
        referred = {c.duplicate_of or c.reused_from for c in self.claims.values()} - {None}
        earlier = sorted(referred - {raw_id for raw_id, _, _ in items})
        for chunk in chunks(earlier):
            rows = self.session.execute(
                select(RawMessage.id, RawMessage.ticket_id).where(RawMessage.id.in_(chunk))
            )
            self.raw_tickets.update((raw_id, ticket_id) for raw_id, ticket_id in rows)

    def take_keys(
        self, keys: list[tuple[str, int, str | None]]
    ) -> dict[str, tuple[int, str | None]]:
        """Claim (key, raw message id, identity) in the ledger; returns who holds each key
        (this batch's first claimant or an earlier mail) and the holder's identity."""
        now = utcnow()
        first: dict[str, tuple[int, str | None]] = {}
        for key, raw_id, identity in keys:
            first.setdefault(key, (raw_id, identity))
        # In key order, so that concurrent batches take the keys' locks in the same order.
        rows = [
            {"dedupe_key": key, "raw_message_id": raw_id, "identity": identity, "seen_at": now}
            for key, (raw_id, identity) in sorted(first.items())
        ]
        claimed = set(self.session.scalars(self._claim, rows))
        holders = {key: first[key] for key in claimed}
        taken = [key for key in first if key not in claimed]
        for chunk in chunks(taken):
            rows = self.session.execute(
                select(
                    SeenMessage.dedupe_key, SeenMessage.raw_message_id, SeenMessage.identity
                ).where(SeenMessage.dedupe_key.in_(chunk))
            )
            holders.update((key, (raw_id, identity)) for key, raw_id, identity in rows)
        if missing := [key for key in taken if key not in holders]:
            raise LookupError(f"dedupe keys neither claimed nor found: {missing}")
        return holders

    def identity_of(self, key: str, holder: int, identity: str | None) -> str | None:
        """The holder's `mail_identity`; ledger rows from before it was kept get it from
        the holder's stored bytes, once."""
        if identity is None:
            content = self.session.scalar(select(RawMessage.content).where(RawMessage.id == holder))
            identity = mail_identity(parse_incoming(content, self.settings, self.own))
            self.session.execute(
                update(SeenMessage)
                .where(SeenMessage.dedupe_key == key)
                .values(identity=identity)
                .execution_options(synchronize_session=False)
            )
        return identity

    def prefetch(self, parsed: list[ParsedMail]) -> None:
        referenced = {
            mid[:998]
            for mail in parsed
            for mid in (mail.message_id, *mail.in_reply_to, *mail.references)
            if mid
        }
        self.messages.update(dict.fromkeys(referenced))
        for chunk in chunks(sorted(referenced)):
            # The tickets come along: most replies in a batch go to tickets not loaded yet.
            for mid, kind, ticket in self.session.execute(
                select(Message.message_id, Message.kind, Ticket)
                .join(Ticket, Ticket.id == Message.ticket_id)
                .where(Message.message_id.in_(chunk))
            ):
                self.messages[mid] = (ticket, kind)
        # Replies mostly answer our own mail, whose Message-IDs no customer mail holds.
        replied_to = {
            mid[:998]
            for mail in parsed
            for mid in (*mail.in_reply_to, *mail.references)
            if mid and not is_our_message_id(mid)
        }
        for chunk in chunks(sorted(replied_to)):
            self.prefetch_reusers(chunk)
        tickets = {known[0] for known in self.messages.values() if known is not None}
        waiting = unanswered_since_by_ticket(self.session, [ticket.id for ticket in tickets])
        self.waiting.update((ticket, waiting[ticket.id]) for ticket in tickets)
        senders = {
            email.lower()
            for mail in parsed
            if mail.from_
            and mail.from_.email
            and (email := self.normalize(mail.from_.email.strip())) is not None
        }
        for chunk in chunks(sorted(senders)):
            for row in self.session.execute(
                select(Customer.id, Customer.email, Customer.name).where(
                    func.lower(Customer.email).in_(chunk)
                )
            ):
                self.customers[row.email.lower()] = KnownCustomer(*row)

    def prefetch_reusers(self, message_ids: list[str]) -> None:
        """The mails that reused these Message-IDs: taken in, but not the ledger's holder
        of the Message-ID. Almost always none."""
        rows = self.session.execute(
            select(RawMessage.message_id, RawMessage.ticket_id, RawMessage.status, Customer.email)
            .join(SeenMessage, SeenMessage.dedupe_key == RawMessage.message_id)
            .join(Ticket, Ticket.id == RawMessage.ticket_id)
            .join(Customer, Customer.id == Ticket.customer_id)
            .where(
                RawMessage.message_id.in_(message_ids),
                RawMessage.id != SeenMessage.raw_message_id,
            )
            .order_by(RawMessage.id)
        )
        # The status is checked here, not in the WHERE: given `status = 'ingested'` there,
        # SQLite's planner walks the status index, every raw message ever taken in, on
        # each batch instead of looking up the few Message-IDs.
        for mid, ticket_id, status, email in rows:
            if status == RawStatus.ingested:
                self.reusers.setdefault(mid, []).append((ticket_id, email.lower()))

    def reuser_ticket(self, message_id: str, sender: str) -> Ticket | int | None:
        """The ticket of the latest mail that reused this Message-ID and whose ticket is
        the sender's: their follow-up to it, not to the Message-ID's first mail."""
        for ticket, customer_email in reversed(self.reusers.get(message_id, [])):
            if customer_email == sender.lower():
                return ticket
        return None

    def normalize(self, email: str) -> str | None:
        """The normalized address, or None when it is not one; remembered per batch."""
        if email not in self._normalized:
            try:
                self._normalized[email] = self._normalize(email)
            except InvalidEmail:
                self._normalized[email] = None
        return self._normalized[email]

    def message(self, message_id: str) -> tuple[Ticket | int, MessageKind] | None:
        """The ticket (or its id) and kind of the message with this Message-ID, if any."""
        if message_id not in self.messages:
            self.messages[message_id] = self.session.execute(
                select(Message.ticket_id, Message.kind).where(Message.message_id == message_id)
            ).first()
        return self.messages[message_id]

    def add_message(self, ticket: Ticket, values: dict, attachments: list[dict]) -> _NewMessage:
        message = _NewMessage(ticket, values, attachments)
        self.pending.append(message)
        if values["message_id"]:
            self.messages[values["message_id"]] = (ticket, values["kind"])
        return message

    def customer(self, email: str, name: str) -> KnownCustomer:
        """The customer with this address, created with the display name when new.

        Raises InvalidEmail for an address that cannot be a customer's.
        """
        # Not an address when the batch's look-up found none: normalize_email says why.
        normalized = self.normalize(email) or normalize_email(email)
        key = normalized.lower()
        customer = self.customers.get(key)
        if customer is None:
            # The INSERT needs nothing the batch has pending, so it does not flush it.
            with self.session.no_autoflush:
                row = self.session.execute(
                    self._insert_customer,
                    [{"email": normalized, "name": normalize_text(name)[:200]}],
                ).first()
            # Nothing inserted: another process created them since the batch looked.
            row = row or find_customer(self.session, normalized)
            if row is None:
                raise LookupError(f"customer {normalized} neither created nor found")
            customer = KnownCustomer(row.id, row.email, row.name)
            self.customers[key] = customer
        return customer

    def original_ticket(self, raw_message_id: int) -> tuple[Ticket | None, int | None]:
        """The ticket a raw message went to: (ticket, None) from this batch, else (None, id)."""
        outcome = self.outcomes.get(raw_message_id)
        if outcome is not None:
            return outcome.ticket, outcome.ticket_id
        return None, self.raw_tickets.get(raw_message_id)

    def add_blob(self, sha256: str, size: int, content: bytes) -> None:
        """Attachment bytes once by content hash; a blob stored before (or by a concurrent
        ingest) is the same bytes under the same key."""
        if sha256 not in self.blobs:
            self.pending_blobs.append({"sha256": sha256, "size": size, "content": content})
            self.blobs.add(sha256)

    def add_participant(self, ticket_id: int, email: str, name: str) -> None:
        # A concurrent message on the same ticket may add them first.
        self.session.execute(
            self._insert_participant, [{"ticket_id": ticket_id, "email": email, "name": name}]
        )

    def waiting_since(self, ticket: Ticket) -> datetime | None:
        """When the customer's wait for our answer on this ticket began, if it has."""
        if ticket not in self.waiting:
            # Not loaded by the prefetch: found by a signed Message-ID, the body marker or
            # the subject token.
            self.waiting[ticket] = unanswered_since(self.session, ticket)
        return self.waiting[ticket]

    def customer_wrote(self, ticket: Ticket, at: datetime) -> None:
        """Customer mail added to the ticket: it starts the wait unless one runs already
        (a ticket opened in this batch has nothing stored to ask about)."""
        if ticket.id is None or self.waiting_since(ticket) is None:
            self.waiting[ticket] = at

    def create_customers(self, contexts: list[_Context]) -> None:
        """Create the customers that the batch's customer mail needs in one INSERT.

        A guess made before the rules run, from what the mail is; `customer` still
        creates (one at a time) anyone it missed, for instance after a concurrent insert.
        """
        new: dict[str, dict] = {}
        for context in contexts:
            email = self.normalize(context.sender) if context.is_customer_mail() else None
            if email is None or email.lower() in self.customers:
                continue
            name = normalize_text(context.parsed.from_.name or "")[:200]
            new.setdefault(email.lower(), {"email": email, "name": name})
        if not new:
            return
        created = []
        with self.session.no_autoflush:
            for row in self.session.execute(self._insert_customer, list(new.values())):
                customer = KnownCustomer(*row)
                self.customers[customer.email.lower()] = customer
                created.append(customer)
            record_events(
                self.session,
                "customer.created",
                [
                    (
                        Subject("customer", c.id),
                        {"customer_id": c.id, "email": c.email, "name": c.name, "source": "mail"},
                    )
                    for c in created
                ],
            )

    def first_response_due(self, ticket: Ticket, now: datetime) -> datetime:
        """`sla.due_at` of a ticket whose only message arrived `now`, from the policies
        read once per batch instead of twice per message."""
        mailbox = self.mailboxes.get(ticket.mailbox_id) if ticket.mailbox_id else None
        return add_working_minutes(
            now, self.targets_of(ticket).first_response_minutes, business_hours_of(mailbox)
        )

    def targets_of(self, ticket: Ticket) -> Targets:
        key = (ticket.mailbox_id, ticket.priority)
        if key not in self.targets:
            self.targets[key] = targets_for(self.session, ticket.mailbox_id, ticket.priority)
        return self.targets[key]

    def acknowledgements_sent(self, customer: KnownCustomer, since: datetime) -> int:
        """Receipts to this customer since `since`, counting the ones this batch adds."""
        if customer.id not in self.acks_sent:
            self.acks_sent[customer.id] = self.session.scalar(
                select(func.count(Message.id))
                .join(Ticket, Ticket.id == Message.ticket_id)
                .where(
                    Ticket.customer_id == customer.id,
                    Message.kind == MessageKind.acknowledgement,
                    Message.created_at >= since,
                )
            )
        return self.acks_sent[customer.id]
