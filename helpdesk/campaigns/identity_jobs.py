"""The RQ job that mails a sending identity its confirmation link, through the one
outbound path (the web request only queues the identity's id)."""

from __future__ import annotations

from email.headerregistry import Address

from helpdesk.campaigns.identities import confirmation_token
from helpdesk.campaigns.models import SendingIdentity
from helpdesk.config import Config
from helpdesk.db import session_scope
from helpdesk.mail import outbound
from helpdesk.queue import MAIL_QUEUE, enqueue

CONFIRM_PATH = "/campaigns/identities/confirm/"

# Both languages in one mail: the address belongs to the organisation, not to a user
# whose language is known.
BODY = (
    "발신 주소 확인 / Confirm a sending address\n\n"
    "이 주소({email})를 캠페인 발신 주소로 쓰려면 3일 안에 아래 링크를 여세요.\n"
    "To let campaigns be sent from {email}, open this link within 3 days:\n\n"
    "{link}\n\n"
    "요청하지 않았다면 이 메일을 무시하세요. / If you did not ask for this, ignore this mail."
)


def enqueue_confirmation(config: Config, identity_id: int):
    return enqueue(config, MAIL_QUEUE, send_confirmation, identity_id)


def send_confirmation(identity_id: int) -> bool:
    """Mail the link; False when the identity was removed meanwhile."""
    config = Config.from_env()
    domain = config.effective_mail_domain
    with session_scope() as session:
        identity = session.get(SendingIdentity, identity_id)
        if identity is None:
            return False
        link = f"{config.public_url}{CONFIRM_PATH}{confirmation_token(identity, config.secret_key)}"
        message = outbound.build_message(
            Address(display_name="Helpdesk", username="no-reply", domain=domain),
            Address(display_name=identity.name, addr_spec=identity.email),
            "발신 주소 확인 / Confirm a sending address",
            BODY.format(email=identity.email, link=link),
            headers={"Auto-Submitted": "auto-generated"},
            domain=domain,
        )
    with outbound.SMTPSender(config.effective_smtp_url) as sender:
        sender.send(message)
    return True
