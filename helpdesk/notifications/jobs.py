"""The RQ job that mails notifications through the one outbound path.

A notification to mail is claimed with a conditional UPDATE of `send_email`, so two runs
of the job never mail it twice; one the relay refused is not tried again (a missed
notice mail is better than a flood). Every notification mail says it is automatic
(`Auto-Submitted: auto-generated`) and carries our loop header, so when one comes back
to a mailbox, ingest drops it instead of opening a ticket.
"""

from __future__ import annotations

import contextlib
import logging
from email.headerregistry import Address
from email.message import EmailMessage

from babel.support import Translations
from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from helpdesk.auth.models import User
from helpdesk.config import PROJECT_ROOT, Config
from helpdesk.db import session_scope, utcnow
from helpdesk.mail import outbound
from helpdesk.mail.outbound import LOOP_HEADER
from helpdesk.notifications.models import Notification, NotificationKind
from helpdesk.queue import MAIL_QUEUE, enqueue, redis_connection
from helpdesk.text import LazyText
from helpdesk.text import lazy_text as _l

log = logging.getLogger(__name__)

MAIL_QUEUED_KEY = "helpdesk:notifications:mail-queued"
BATCH = 200

SUBJECTS = {
    NotificationKind.assigned: _l("Ticket #%(id)d was assigned to you"),
    NotificationKind.mentioned: _l("You were mentioned on ticket #%(id)d"),
    NotificationKind.customer_replied: _l("The customer replied on ticket #%(id)d"),
    NotificationKind.overdue: _l("Ticket #%(id)d is overdue"),
    NotificationKind.new_ticket: _l("New ticket #%(id)d in a mailbox you watch"),
    NotificationKind.bad_rating: _l("The customer gave ticket #%(id)d a bad rating"),
}
BODY = _l(
    "Hello %(name)s,\n\n%(what)s\n%(title)s\n\n%(link)s\n\n"
    "You get this mail because of your notification settings: %(settings)s"
)


def queue_notification_mail(config: Config) -> bool:
    """Queue `send_pending_notification_mail` unless one is waiting already. Called after
    a commit that added notifications to mail; never raises for Redis."""
    try:
        if not redis_connection(config).set(MAIL_QUEUED_KEY, "1", nx=True, ex=300):
            return False
        enqueue(config, MAIL_QUEUE, send_pending_notification_mail)
        return True
    except RedisError as exc:
        log.warning("notification mail not queued: %s", exc)
        return False


def send_pending_notification_mail(smtp_url: str | None = None) -> int:
    """Mail every notification waiting for it; returns how many were sent."""
    config = Config.from_env()
    with contextlib.suppress(RedisError):
        redis_connection(config).delete(MAIL_QUEUED_KEY)
    sent = 0
    while True:
        with session_scope() as session:
            ids = list(
                session.scalars(
                    select(Notification.id)
                    .where(Notification.send_email)
                    .order_by(Notification.id)
                    .limit(BATCH)
                )
            )
        if not ids:
            return sent
        with outbound.SMTPSender(smtp_url or config.effective_smtp_url) as sender:
            for notification_id in ids:
                with session_scope() as session:
                    message = claim_and_build(session, notification_id, config)
                if message is None:
                    continue
                try:
                    sender.send(message)
                    sent += 1
                except Exception as exc:
                    log.warning("notification %s not mailed: %s", notification_id, exc)


def claim_and_build(session: Session, notification_id: int, config: Config) -> EmailMessage | None:
    """The mail for one notification, if this caller is the one to send it."""
    claimed = session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.send_email)
        .values(send_email=False, emailed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return None
    notification = session.get(Notification, notification_id)
    user = session.get(User, notification.user_id)
    if user is None or not user.is_active:
        return None
    return build_notification_mail(notification, user, config)


def build_notification_mail(notification: Notification, user: User, config: Config) -> EmailMessage:
    translations = Translations.load(str(PROJECT_ROOT / "translations"), [user.language or "en"])

    def translate(text: LazyText, **params) -> str:
        return translations.gettext(text.msgid) % params

    subject = translate(SUBJECTS[notification.kind], id=notification.ticket_id or 0)
    body = translate(
        BODY,
        name=user.name,
        what=subject,
        title=notification.title,
        link=f"{config.public_url}/tickets/{notification.ticket_id}",
        settings=f"{config.public_url}/preferences#notifications",
    )
    domain = config.effective_mail_domain
    sender = Address(display_name="Helpdesk", username="no-reply", domain=domain)
    return outbound.build_message(
        sender,
        Address(display_name=user.name, addr_spec=user.email),
        subject,
        body,
        # RFC 3834: automatic mail, which autoresponders must not answer; the loop
        # header makes ingest drop it should it come back to one of our mailboxes.
        headers={"Auto-Submitted": "auto-generated", LOOP_HEADER: sender.addr_spec},
        domain=domain,
    )
