"""The RQ job that mails a password-reset link, through the one outbound path.

The request only queues the address; the job looks the account up and makes the link,
so the web answer is the same whether or not the address has an account, and no link
waits in Redis.
"""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage

from babel.support import Translations
from sqlalchemy import func, select

from helpdesk.auth.models import User
from helpdesk.auth.password_reset import make_token
from helpdesk.config import PROJECT_ROOT, Config
from helpdesk.db import session_scope
from helpdesk.mail import outbound
from helpdesk.queue import MAIL_QUEUE, enqueue
from helpdesk.text import LazyText
from helpdesk.text import lazy_text as _l

RESET_PATH = "/password/reset/"

SUBJECT = _l("Reset your helpdesk password")
BODY = _l(
    "Hello %(name)s,\n\n"
    "someone (hopefully you) asked to reset the password of your helpdesk account.\n"
    "Open this link within %(minutes)d minutes to choose a new one:\n\n"
    "%(link)s\n\n"
    "The link works once. Setting a new password logs your account out everywhere.\n"
    "If you did not ask for this, ignore this message: your password stays as it is."
)


def enqueue_password_reset(config: Config, email: str):
    return enqueue(config, MAIL_QUEUE, send_password_reset, email)


def send_password_reset(email: str) -> bool:
    """Mail a reset link to the active account with this address; False when there is none."""
    config = Config.from_env()
    with session_scope() as session:
        user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
        if user is None or not user.is_active:
            return False
        link = f"{config.public_url}{RESET_PATH}{make_token(user, config.secret_key)}"
        message = build_reset_mail(
            user, link, config.password_reset_minutes, config.effective_mail_domain
        )
    with outbound.SMTPSender(config.effective_smtp_url) as sender:
        sender.send(message)
    return True


def build_reset_mail(user: User, link: str, minutes: int, domain: str) -> EmailMessage:
    translations = Translations.load(str(PROJECT_ROOT / "translations"), [user.language or "en"])

    def translate(text: LazyText, **params) -> str:
        return translations.gettext(text.msgid) % params

    body = translate(BODY, name=user.name, minutes=minutes, link=link)
    return outbound.build_message(
        Address(display_name="Helpdesk", username="no-reply", domain=domain),
        Address(display_name=user.name, addr_spec=user.email),
        translate(SUBJECT),
        body,
        # RFC 3834: automatic mail; autoresponders should not answer it.
        headers={"Auto-Submitted": "auto-generated"},
        domain=domain,
    )
