"""The survey mail: the question in English and Korean and one signed link per rating,
built by the one outbound message builder."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from html import escape

from sqlalchemy.orm import Session

from helpdesk.customers.models import Customer
from helpdesk.mail import outbound
from helpdesk.mail.models import Mailbox
from helpdesk.surveys.models import Rating, Survey
from helpdesk.surveys.service import questions_of, sign_link
from helpdesk.tickets.models import Ticket

# The mail goes to a customer whose language we do not know, so it speaks both.
RATING_LABELS = {
    Rating.good: "😀 Good · 좋아요",
    Rating.ok: "😐 OK · 보통이에요",
    Rating.bad: "🙁 Bad · 별로예요",
}


def rating_url(public_url: str, signed: str, rating: Rating) -> str:
    return f"{public_url.rstrip('/')}/s/{signed}?rating={rating.value}"


def survey_email(
    session: Session, survey_id: int, *, secret_key: str, public_url: str, domain: str
) -> EmailMessage:
    survey = session.get(Survey, survey_id)
    ticket = session.get(Ticket, survey.ticket_id)
    customer = session.get(Customer, survey.customer_id)
    mailbox = session.get(Mailbox, survey.mailbox_id)
    questions = questions_of(session, survey)
    signed = sign_link(secret_key, survey.token)
    links = [(RATING_LABELS[r], rating_url(public_url, signed, r)) for r in Rating]
    subject = f"[#{ticket.id}] {questions['en']} / {questions['ko']}"
    text = "\n".join(
        [
            questions["en"],
            questions["ko"],
            "",
            f"#{ticket.id} {ticket.subject}",
            "",
            *(f"{label}: {url}" for label, url in links),
            "",
        ]
    )
    html = "".join(
        [
            f"<p>{escape(questions['en'])}<br>{escape(questions['ko'])}</p>",
            f"<p>#{ticket.id} {escape(ticket.subject)}</p><p>",
            " ".join(
                f'<a href="{escape(url)}" style="margin-right:1em">{escape(label)}</a>'
                for label, url in links
            ),
            "</p>",
        ]
    )
    return outbound.build_message(
        Address(display_name=mailbox.name, addr_spec=mailbox.address),
        Address(display_name=customer.name, addr_spec=customer.email),
        subject,
        text,
        html=html,
        # RFC 3834: an automatic message, so autoresponders do not answer it; the loop
        # header makes ingest drop it should it come back to our own mailbox.
        headers={"Auto-Submitted": "auto-generated", outbound.LOOP_HEADER: mailbox.address},
        domain=domain,
    )
