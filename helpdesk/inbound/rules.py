"""The rules one message goes through, in order: a duplicate, quarantine, our own mail
coming back, a bounce or complaint, an unsubscribe request, an auto-reply, and customer
mail, which threads into its ticket or opens one; then the receipt for a new ticket."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from helpdesk.campaigns.suppression import apply_delivery_problem
from helpdesk.campaigns.tracking import is_unsubscribe_address, unsubscribe_by_address
from helpdesk.customers.models import Customer
from helpdesk.db import utcnow
from helpdesk.inbound.delivery_problems import record_delivery_problem
from helpdesk.inbound.incoming import KnownCustomer, _NewMessage, _Outcome, _Stored, header
from helpdesk.mail.models import ClosedReplyPolicy, DeliveryProblem, DeliveryProblemKind, RawStatus
from helpdesk.mail.outbound import LOOP_HEADER
from helpdesk.mail.parse import Kind, ParsedMail
from helpdesk.normalize import InvalidEmail, normalize_text
from helpdesk.tickets.assignment import auto_assign
from helpdesk.tickets.models import (
    Message,
    MessageKind,
    Participant,
    Priority,
    SendStatus,
    Ticket,
    TicketStatus,
)
from helpdesk.tickets.sla import apply_sla
from helpdesk.tickets.threading import (
    MAX_TICKET_ID,
    make_body_marker,
    make_message_id,
    ticket_id_from_body,
    ticket_id_from_message_id,
)

if TYPE_CHECKING:
    from helpdesk.inbound.batch import _Batch

_SUBJECT_TOKEN = re.compile(r"\[#([0-9]{1,10})\]")
# Addresses that never read what they receive; an acknowledgement to them is noise at
# best and a mail loop at worst (RFC 3834 section 2).
_UNATTENDED_LOCAL_PART = re.compile(
    r"^(no-?reply|do-?not-?reply|mailer-daemon|postmaster|bounces?)([+._-].*)?$", re.IGNORECASE
)
_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})
# Longest merge chain followed; merges never form cycles, but a bad manual edit must not
# hang ingest.
_MAX_MERGE_HOPS = 50


class _Context:
    """One message's way through the rules; each step returns a result or None."""

    def __init__(self, batch: _Batch, raw: _Stored, parsed: ParsedMail):
        self.batch = batch
        self.session = batch.session
        self.raw = raw
        self.parsed = parsed
        self.settings = batch.settings
        self.own = batch.own
        self.now = utcnow()
        self.mailbox = batch.mailboxes.get(raw.mailbox_id) if raw.mailbox_id else None
        self.sender = parsed.from_.email.strip() if parsed.from_ and parsed.from_.email else ""

    def run(self) -> _Outcome:
        outcome = (
            self.claim()
            or self.quarantine()
            or self.drop_own_mail()
            or self.delivery_problem()
            or self.unsubscribe_request()
            or self.auto_reply()
            or self.customer_mail()
        )
        first = self.batch.claims[self.raw.id].reused_from
        if first is not None and outcome.status != RawStatus.duplicate:
            self.note_reused_message_id(outcome, first)
        return outcome

    def is_customer_mail(self) -> bool:
        """Whether `run` will reach `customer_mail`, judged without changing anything."""
        return (
            self.parsed.kind == Kind.normal
            and self.claim() is None
            and self.quarantine() is None
            and self.drop_own_mail() is None
            and not any(is_unsubscribe_address(a) for a in self.recipient_addresses())
        )

    def claim(self) -> _Outcome | None:
        claim = self.batch.claims[self.raw.id]
        holder = claim.duplicate_of
        if holder is None:
            # Ours: just claimed, or a quarantined message being processed again.
            return None
        ticket, ticket_id = self.batch.original_ticket(holder)
        return _Outcome(
            RawStatus.duplicate,
            f"already received as raw message {holder} ({claim.key})",
            ticket=ticket,
            ticket_id=ticket_id,
            duplicate_of_id=holder,
        )

    def quarantine(self) -> _Outcome | None:
        reason = self.parsed.quarantine_reason
        if reason:
            return _Outcome(RawStatus.quarantined, reason)
        if self.parsed.kind == Kind.normal and not self.sender:
            return _Outcome(RawStatus.quarantined, "no sender address (From) to answer")
        return None

    def drop_own_mail(self) -> _Outcome | None:
        if self.sender.lower() in self.own:
            return _Outcome(RawStatus.dropped, f"sent from our own address {self.sender}")
        if header(self.parsed, LOOP_HEADER) is not None:
            return _Outcome(RawStatus.dropped, f"carries our {LOOP_HEADER} header")
        known = self.batch.message(self.raw.message_id) if self.raw.message_id else None
        if known is not None and known[1] in (MessageKind.reply, MessageKind.acknowledgement):
            return _Outcome(RawStatus.dropped, "one of our own outgoing messages came back")
        return None

    def delivery_problem(self) -> _Outcome | None:
        parsed = self.parsed
        if parsed.kind == Kind.delivery_receipt:
            # "Delivered", "relayed", "expanded": news that all went well, not a ticket.
            recipients = ", ".join(parsed.bounce.recipients) if parsed.bounce else ""
            return _Outcome(RawStatus.dropped, f"delivery receipt for {recipients or 'unknown'}")
        if parsed.kind == Kind.bounce:
            bounce = parsed.bounce
            kind = (
                DeliveryProblemKind.hard_bounce
                if bounce is not None and bounce.hard
                else DeliveryProblemKind.soft_bounce
            )
            problems = self.record_problems(kind, bounce)
            names = problems[0].recipient or "unknown recipient"
            if len(problems) > 1:
                names += f" and {len(problems) - 1} more"
            return _Outcome(RawStatus.bounce, f"{kind} for {names}")
        if parsed.kind == Kind.complaint:
            problem = record_delivery_problem(
                self.session,
                raw_message_id=self.raw.id,
                kind=DeliveryProblemKind.complaint,
                recipient=parsed.complaint_recipient or "",
                original_message_id=parsed.bounce.original_message_id if parsed.bounce else None,
            )
            self.suppress_if_campaign_mail(problem, self.recipient_addresses())
            return _Outcome(
                RawStatus.complaint, f"complaint by {problem.recipient or 'unknown recipient'}"
            )
        return None

    def record_problems(self, kind: DeliveryProblemKind, bounce) -> list[DeliveryProblem]:
        """One problem per failed recipient. Only the first is matched to a campaign
        delivery (a campaign message has one recipient; matching the others by the same
        Message-ID would count one bounce several times)."""
        recipients = (bounce.recipients or ("",)) if bounce is not None else ("",)
        problems = []
        for position, recipient in enumerate(recipients):
            first = position == 0
            problem = record_delivery_problem(
                self.session,
                raw_message_id=self.raw.id,
                kind=kind,
                recipient=recipient or "",
                status_code=(bounce.status or "") if bounce else "",
                diagnostic=(bounce.diagnostic or "") if bounce else "",
                original_message_id=bounce.original_message_id if bounce and first else None,
            )
            self.suppress_if_campaign_mail(problem, self.recipient_addresses() if first else ())
            problems.append(problem)
        return problems

    def recipient_addresses(self) -> list[str]:
        """Where this mail was addressed: a VERP bounce or an unsubscribe mailto carries
        its campaign delivery's token in the address."""
        addresses = [a.email for a in self.parsed.to if a.email]
        for name in ("Delivered-To", "X-Original-To"):
            value = header(self.parsed, name)
            if value:
                addresses.append(value.strip().strip("<>"))
        return addresses

    def suppress_if_campaign_mail(self, problem: DeliveryProblem, addresses) -> None:
        """Mark the campaign delivery bounced (or complained about) and suppress the
        address when the rules say so; mail that was not a campaign's changes nothing."""
        apply_delivery_problem(
            self.session,
            problem,
            addresses=addresses,
            soft_bounce_limit=self.settings.soft_bounce_limit,
            now=self.now,
        )

    def unsubscribe_request(self) -> _Outcome | None:
        """Mail to a campaign's List-Unsubscribe mailto address unsubscribes its recipient."""
        for address in self.recipient_addresses():
            delivery_id = unsubscribe_by_address(self.session, address, now=self.now)
            if delivery_id is not None:
                return _Outcome(
                    RawStatus.dropped, f"unsubscribe request for campaign delivery {delivery_id}"
                )
        return None

    def auto_reply(self) -> _Outcome | None:
        if self.parsed.kind != Kind.auto_reply:
            return None
        found = self.find_ticket()
        what = self.parsed.auto_reply_reason or "automatic reply"
        if found is None:
            return _Outcome(RawStatus.auto_reply, f"{what}; no ticket to attach it to")
        ticket, how = found
        # Shown collapsed; it neither reopens the ticket nor counts as the customer's turn.
        message = self.add_message(ticket, MessageKind.auto_reply)
        return _Outcome(
            RawStatus.auto_reply,
            f"{what}; attached to ticket {ticket.id} by {how}",
            ticket=ticket,
            message=message,
        )

    def customer_mail(self) -> _Outcome:
        try:
            customer = self.batch.customer(self.sender, self.parsed.from_.name or "")
        except InvalidEmail as exc:
            return _Outcome(RawStatus.quarantined, f"sender address is not usable: {exc}")
        found = self.find_ticket(customer)
        created = True
        if found is None:
            ticket, reason = self.open_ticket(customer), "new ticket"
        else:
            ticket, how = found
            if ticket.status == TicketStatus.closed and self.closed_policy(ticket) == (
                ClosedReplyPolicy.follow_up
            ):
                ticket = self.open_ticket(customer, follow_up_of=ticket)
                reason = f"follow-up of closed ticket {ticket.follow_up_of_id} (by {how})"
            else:
                reason = f"reply to ticket {ticket.id} by {how}"
                self.take_customer_reply(ticket)
                created = False
        if not created:
            self.reply_sla(ticket)
        message = self.add_message(ticket, MessageKind.customer)
        if self.reuses_message_id:
            owner = customer if ticket.customer_id == customer.id else None
            owner = owner or self.session.get(Customer, ticket.customer_id)
            self.batch.reusers.setdefault(self.raw.message_id, []).append(
                (ticket, owner.email.lower())
            )
        self.add_participants(ticket, customer)
        acknowledge = created and self.ack_refusal(customer) is None
        if acknowledge:
            self.batch.acks_sent[customer.id] += 1
        return _Outcome(
            RawStatus.ingested,
            reason,
            ticket=ticket,
            message=message,
            created_ticket=created,
            acknowledge=customer if acknowledge else None,
        )

    # -- threading -------------------------------------------------------------------

    def find_ticket(self, customer: KnownCustomer | None = None) -> tuple[Ticket, str] | None:
        """The ticket this mail belongs to and how it was found, or None for a new one."""
        parsed = self.parsed
        candidates = [*parsed.in_reply_to, *reversed(parsed.references)]
        for header_name, mid in _labelled(parsed, candidates):
            known = self.batch.message(mid)
            target = known[0] if known else None
            how = f"{header_name} {mid}"
            # A Message-ID that a later, different mail reused names two mails; a
            # follow-up by that mail's customer is theirs, anyone else's the first's.
            reuser = self.batch.reuser_ticket(mid, self.sender)
            if reuser is not None:
                target, how = reuser, f"{header_name} {mid} (reused; the sender's mail)"
            if target is None:
                target = ticket_id_from_message_id(mid, self.settings.secret_key)
                how = f"signed {header_name} {mid}"
            ticket = self.surviving_ticket(target)
            if ticket is not None:
                return self.persisted(ticket), how
        for body in (parsed.text, parsed.html):
            ticket = self.surviving_ticket(
                ticket_id_from_body(body or "", self.settings.secret_key)
            )
            if ticket is not None:
                return ticket, "reference marker in the body"
        sender = self.sender.lower()
        for match in _SUBJECT_TOKEN.finditer(parsed.subject or ""):
            ticket_id = int(match[1])
            ticket = self.session.get(Ticket, ticket_id) if ticket_id <= MAX_TICKET_ID else None
            # A number in a subject is trivial to guess, so it only counts for people
            # already on that conversation.
            if ticket is not None and self.on_ticket(ticket, sender, customer):
                survivor = self.surviving_ticket(ticket.id)
                if survivor is not None:
                    return survivor, f"subject token [#{ticket_id}]"
        return None

    def on_ticket(self, ticket: Ticket, sender: str, customer: KnownCustomer | None) -> bool:
        if customer is not None and ticket.customer_id == customer.id:
            return True
        owner = self.session.get(Customer, ticket.customer_id)
        if owner is not None and owner.email.lower() == sender:
            return True
        return (
            self.session.scalars(
                select(Participant.id).where(
                    Participant.ticket_id == ticket.id, func.lower(Participant.email) == sender
                )
            ).first()
            is not None
        )

    def surviving_ticket(self, ticket: Ticket | int | None) -> Ticket | None:
        """Follow merges to the ticket that lives on."""
        if not isinstance(ticket, Ticket):
            ticket = self.session.get(Ticket, ticket) if ticket else None
        hops = 0
        while ticket is not None and ticket.merged_into_id is not None and hops < _MAX_MERGE_HOPS:
            ticket = self.session.get(Ticket, ticket.merged_into_id)
            hops += 1
        return ticket

    def persisted(self, ticket: Ticket) -> Ticket:
        """The ticket with its id; one opened earlier in this batch may not have it yet."""
        if ticket.id is None:
            self.batch.flush()
        return ticket

    def closed_policy(self, ticket: Ticket) -> ClosedReplyPolicy:
        mailbox = self.batch.mailboxes.get(ticket.mailbox_id) if ticket.mailbox_id else None
        mailbox = mailbox or self.mailbox
        return mailbox.closed_reply_policy if mailbox else ClosedReplyPolicy.reopen

    # -- changes ---------------------------------------------------------------------

    def open_ticket(self, customer: KnownCustomer, follow_up_of: Ticket | None = None) -> Ticket:
        mailbox_id = self.raw.mailbox_id or (follow_up_of.mailbox_id if follow_up_of else None)
        ticket = Ticket(
            subject=(self.parsed.subject or "")[:998],
            status=TicketStatus.new,
            priority=Priority.normal,
            mailbox_id=mailbox_id,
            customer_id=customer.id,
            follow_up_of_id=follow_up_of.id if follow_up_of else None,
            created_at=self.now,
            updated_at=self.now,
            last_customer_message_at=self.now,
            customer_replied_last=True,
        )
        # Set before the INSERT rather than updated after it; apply_sla would query the
        # ticket's messages and policies to find what is known here already.
        ticket.response_due_at = self.batch.first_response_due(ticket, self.now)
        ticket.first_response_due_at = ticket.response_due_at
        self.session.add(ticket)
        self.batch.new_tickets.append(ticket)
        mailbox = self.batch.mailboxes.get(mailbox_id) if mailbox_id else None
        if mailbox is not None and mailbox.auto_assign:
            auto_assign(self.session, ticket)
        return ticket

    def take_customer_reply(self, ticket: Ticket) -> None:
        if ticket.status in (TicketStatus.resolved, TicketStatus.closed, TicketStatus.waiting):
            # The customer wrote again, so it is our turn; the assignee stays.
            previous = ticket.status
            ticket.status = TicketStatus.open
            ticket.resolved_at = None
            ticket.closed_at = None
            if previous != TicketStatus.waiting:
                self.session.add(
                    Message(
                        ticket_id=ticket.id,
                        kind=MessageKind.event,
                        body_text=f"Reopened by a customer reply (was {previous}).",
                        created_at=self.now,
                    )
                )
        ticket.last_customer_message_at = self.now
        ticket.customer_replied_last = True
        ticket.updated_at = self.now
        self.batch.replied.add(ticket)

    def reply_sla(self, ticket: Ticket) -> None:
        """The due time after a customer's reply: from the first customer message not
        answered yet, stored or earlier in this batch, else this one."""
        waiting_since = self.batch.waiting_since(ticket) or self.now
        with self.session.no_autoflush:
            apply_sla(self.session, ticket, self.now, self.batch.targets_of(ticket), waiting_since)

    def add_message(self, ticket: Ticket, kind: MessageKind) -> _NewMessage:
        parsed = self.parsed
        # Blobs first: their rows must exist before the attachments that point at them.
        for part in parsed.attachments:
            if not part.too_large:
                self.batch.add_blob(part.sha256, part.size, part.content)
        if kind == MessageKind.customer:
            self.batch.customer_wrote(ticket, self.now)
        return self.batch.add_message(
            ticket,
            {
                "kind": kind,
                "raw_message_id": self.raw.id,
                # The first mail with a reused Message-ID keeps it for threading (and the
                # column is unique); this one's stays on its raw message.
                "message_id": None if self.reuses_message_id else self.raw.message_id,
                "in_reply_to": parsed.in_reply_to[0][:998] if parsed.in_reply_to else None,
                "references": list(parsed.references),
                "from_email": self.sender[:320],
                "from_name": normalize_text(parsed.from_.name if parsed.from_ else "")[:200],
                "to": [a.email for a in parsed.to],
                "cc": [a.email for a in parsed.cc],
                "subject": (parsed.subject or "")[:998],
                "body_text": parsed.text or "",
                "body_reply": parsed.text_reply or "",
                "body_html_safe": parsed.html_safe,
                "send_status": None,
                "created_at": self.now,
            },
            [_attachment(part) for part in parsed.attachments],
        )

    @property
    def reuses_message_id(self) -> bool:
        return self.batch.claims[self.raw.id].reused_from is not None

    def note_reused_message_id(self, outcome: _Outcome, first: int) -> None:
        """Say on the raw message, and on the ticket it went to, that this mail reused the
        Message-ID of a different one, so an agent can tell the two apart."""
        first_ticket, first_ticket_id = self.batch.original_ticket(first)
        if first_ticket is not None:
            first_ticket_id = self.persisted(first_ticket).id
        where = f"raw message {first}" + (
            f", ticket #{first_ticket_id}" if first_ticket_id is not None else ""
        )
        outcome.reason += f"; reused the Message-ID of a different mail ({where})"
        if outcome.message is None or outcome.ticket is None:
            return
        text = (
            f"This mail reused the Message-ID <{self.raw.message_id[:200]}> of a different"
            f" mail received earlier ({where}). It was taken in as a message of its own."
        )
        self.batch.add_message(
            outcome.ticket,
            {
                "kind": MessageKind.event,
                "raw_message_id": None,
                "message_id": None,
                "in_reply_to": None,
                "references": [],
                "from_email": "",
                "from_name": "",
                "to": [],
                "cc": [],
                "subject": "",
                "body_text": text,
                "body_reply": "",
                "body_html_safe": None,
                "send_status": None,
                "created_at": self.now,
            },
            [],
        )

    def add_participants(self, ticket: Ticket, customer: KnownCustomer) -> None:
        """The sender (when not the ticket's customer) and Cc'd people join the conversation.

        Not To: it holds our own aliases, which forwarding setups make unknowable.
        """
        people = [(self.sender, self.parsed.from_.name or "")]
        people += [(a.email, a.name or "") for a in self.parsed.cc]
        owner = customer if ticket.customer_id == customer.id else None
        owner = owner or self.session.get(Customer, ticket.customer_id)
        known = {*self.own, owner.email.lower()}
        new = []
        for email, name in people:
            email = self.batch.normalize(email)
            if email is None or email.lower() in known:
                continue
            known.add(email.lower())
            new.append((email, name))
        if not new:
            # The common case, the customer writing alone, costs no query.
            return
        self.persisted(ticket)
        existing = {
            email.lower()
            for email in self.session.scalars(
                select(Participant.email).where(Participant.ticket_id == ticket.id)
            )
        }
        for email, name in new:
            if email.lower() not in existing:
                self.batch.add_participant(ticket.id, email, normalize_text(name)[:200])

    # -- acknowledgement -------------------------------------------------------------

    def acknowledgement(self, outcome: _Outcome) -> _NewMessage:
        """The receipt for a new ticket, once the batch's write has given it its number."""
        ticket, customer, message = outcome.ticket, outcome.acknowledge, outcome.message
        mailbox = self.mailbox
        secret = self.settings.secret_key
        subject = f"Re: {ticket.subject or '(no subject)'} [#{ticket.id}]"
        text = (
            f"Hello{' ' + customer.name if customer.name else ''},\n\n"
            f"we received your message and opened ticket #{ticket.id} for it."
            " We will answer as soon as we can.\n\n"
            f"To add to this request, reply to this email and keep [#{ticket.id}]"
            " in the subject.\n\n"
            f"{make_body_marker(ticket.id, secret)}\n"
        )
        references = [*self.parsed.references, self.raw.message_id] if self.raw.message_id else []
        return self.batch.add_message(
            ticket,
            {
                "kind": MessageKind.acknowledgement,
                "raw_message_id": None,
                "message_id": make_message_id(ticket.id, secret, self.settings.domain),
                "in_reply_to": message.values["message_id"],
                "references": [r[:998] for r in references],
                "from_email": mailbox.address,
                "from_name": mailbox.name[:200],
                "to": [customer.email],
                "cc": [],
                "subject": subject[:998],
                "body_text": text,
                "body_reply": text,
                "body_html_safe": None,
                "send_status": SendStatus.queued,
                "created_at": self.now,
            },
            [],
        )

    def ack_refusal(self, customer: KnownCustomer) -> str | None:
        """Why no acknowledgement goes out, or None when one should."""
        mailbox = self.mailbox
        if mailbox is None or not mailbox.send_acknowledgement:
            return "mailbox does not acknowledge"
        if self.parsed.kind != Kind.normal:
            return "automatic mail"
        if header(self.parsed, "List-Id") is not None:
            return "mailing list"
        if (header(self.parsed, "Precedence") or "").strip().lower() in _BULK_PRECEDENCE:
            return "bulk mail"
        local_part = self.sender.rpartition("@")[0]
        if _UNATTENDED_LOCAL_PART.match(local_part) or self.sender.lower() in self.own:
            return "unattended address"
        date, start = self.parsed.date, mailbox.start_date
        if start is not None and date is not None and date < start:
            return "mail from before the mailbox start date"
        sent = self.batch.acknowledgements_sent(customer, self.now - self.settings.ack_window)
        if sent >= self.settings.ack_limit:
            return "acknowledgement rate limit reached"
        return None


def _attachment(part) -> dict:
    return {
        "blob_sha256": None if part.too_large else part.sha256,
        "filename": (part.filename or "attachment")[:255],
        "content_type": (part.content_type or "application/octet-stream")[:255],
        "size": part.size,
        "content_id": part.content_id[:255] if part.content_id else None,
        "inline": bool(part.inline),
        "too_large": bool(part.too_large),
    }


def _labelled(parsed: ParsedMail, candidates: list[str]):
    in_reply_to = set(parsed.in_reply_to)
    seen: set[str] = set()
    for mid in candidates:
        if mid and mid not in seen:
            seen.add(mid)
            yield ("In-Reply-To" if mid in in_reply_to else "References"), mid[:998]
