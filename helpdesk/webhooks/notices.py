"""The mail that tells admins an endpoint was paused after a day of failures: one per
pause, to every active admin, through the one outbound path.

A pause is claimed with a conditional UPDATE of `pause_notified_at`, so two runs of the
job never mail it twice; resuming the endpoint clears it, so the next pause is mailed
again. As with notifications, a mail the relay refused is not tried again.
"""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage

from babel.support import Translations
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from helpdesk.auth.models import Role, User
from helpdesk.config import PROJECT_ROOT, Config
from helpdesk.db import utcnow
from helpdesk.mail import outbound
from helpdesk.mail.outbound import LOOP_HEADER
from helpdesk.text import LazyText
from helpdesk.text import lazy_text as _l
from helpdesk.webhooks.models import PauseReason, WebhookAttempt, WebhookDelivery, WebhookEndpoint

SUBJECT = _l("Webhook endpoint paused: %(url)s")
BODY = _l(
    "Hello %(name)s,\n\n"
    "every delivery to the webhook endpoint %(url)s %(description)s has failed for a day, "
    "so it was paused. Its events wait for it and go out when it is resumed.\n\n"
    "Last error: %(error)s\n\n"
    "See its deliveries, and resume it once the receiver works again:\n%(link)s"
)


def unnotified_pauses(session: Session) -> list[int]:
    """Endpoints paused for failing whose admins have not been mailed yet."""
    return list(
        session.scalars(
            select(WebhookEndpoint.id)
            .where(
                WebhookEndpoint.paused_reason == PauseReason.failing,
                WebhookEndpoint.pause_notified_at.is_(None),
            )
            .order_by(WebhookEndpoint.id)
        )
    )


def claim_and_build(session: Session, endpoint_id: int, config: Config) -> list[EmailMessage]:
    """The mails about this endpoint's pause, if this caller is the one to send them."""
    claimed = session.execute(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.paused_reason == PauseReason.failing,
            WebhookEndpoint.pause_notified_at.is_(None),
        )
        .values(pause_notified_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return []
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    error = last_error(session, endpoint_id)
    admins = session.scalars(
        select(User).where(User.role == Role.admin, User.is_active).order_by(User.id)
    )
    return [build_pause_mail(endpoint, error, admin, config) for admin in admins]


def last_error(session: Session, endpoint_id: int) -> str:
    row = session.execute(
        select(WebhookAttempt.status_code, WebhookAttempt.error)
        .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookAttempt.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return "-"
    status_code, error = row
    return error or f"HTTP {status_code}"


def build_pause_mail(
    endpoint: WebhookEndpoint, error: str, admin: User, config: Config
) -> EmailMessage:
    translations = Translations.load(str(PROJECT_ROOT / "translations"), [admin.language or "en"])

    def translate(text: LazyText, **params) -> str:
        return translations.gettext(text.msgid) % params

    domain = config.effective_mail_domain
    sender = Address(display_name="Helpdesk", username="no-reply", domain=domain)
    return outbound.build_message(
        sender,
        Address(display_name=admin.name, addr_spec=admin.email),
        translate(SUBJECT, url=endpoint.url),
        translate(
            BODY,
            name=admin.name,
            url=endpoint.url,
            description=f"({endpoint.description})" if endpoint.description else "",
            error=error,
            link=f"{config.public_url}/admin/webhooks/{endpoint.id}",
        ),
        # RFC 3834: automatic mail, which autoresponders must not answer; the loop
        # header makes ingest drop it should it come back to one of our mailboxes.
        headers={"Auto-Submitted": "auto-generated", LOOP_HEADER: sender.addr_spec},
        domain=domain,
    )
