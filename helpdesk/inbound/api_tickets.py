"""POST /api/v1/tickets: a customer's message handed in by another system is mail coming
in, so it lives with the mail-in pipeline (helpdesk.inbound.contact takes it in like the
contact form) and only adds its route to the API; the API package never imports inbound."""

from __future__ import annotations

from flask import current_app
from pydantic import BaseModel, ConfigDict, Field

from helpdesk.api.problems import FieldError, Problem, invalid_input
from helpdesk.api.routing import api_route
from helpdesk.api.tickets import TAG, TicketDetailOut, queue_after_commit, ticket_detail
from helpdesk.inbound import contact
from helpdesk.input_bounds import MAX_ID
from helpdesk.notifications.jobs import queue_notification_mail
from helpdesk.web import db_session


class NewTicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_email: str = Field(max_length=320, description="Matched or created like mail.")
    customer_name: str = Field("", max_length=200)
    subject: str = Field(max_length=contact.MAX_SUBJECT)
    body: str = Field(max_length=contact.MAX_MESSAGE, description="The customer's message.")
    mailbox_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Default: the first active one."
    )


@api_route(
    "POST",
    "/tickets",
    tag=TAG,
    summary="Open a ticket on behalf of a customer",
    scope="tickets:write",
    body=NewTicketIn,
    response=TicketDetailOut,
    status=201,
    etag=True,
    errors=(200,),
)
def create_ticket(body: NewTicketIn):
    """Taken in like mail from the customer: the customer is matched or created, a
    subject with a ticket reference ([#12]) threads into that ticket (200), and the
    mailbox's acknowledgement is sent. 201 when a ticket was opened."""
    session = db_session()
    request = contact.OnBehalfRequest(
        body.customer_name, body.customer_email, body.subject, body.body, body.mailbox_id
    )
    try:
        result = contact.submit_on_behalf(session, request, config=current_app.config["HELPDESK"])
    except contact.ContactInvalid as exc:
        names = {"name": "customer_name", "email": "customer_email", "message": "body"}
        raise invalid_input(
            [FieldError(field=names.get(k, k), message=str(m)) for k, m in exc.errors.items()]
        ) from None
    except contact.ContactNotAccepted as exc:
        raise Problem(422, "Not accepted", f"The message made no ticket: {exc}.") from None
    if result.notification_mail:
        # Ingest has committed: the worker finds the notifications.
        queue_notification_mail(current_app.config["HELPDESK"])
    if result.acknowledgement_id is not None:
        queue_after_commit(result.acknowledgement_id)
    return ticket_detail(session, result.ticket_id), (201 if result.created_ticket else 200)
