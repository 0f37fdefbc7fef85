"""The English and Korean signatures on the preferences page and the mailbox settings,
the mailbox's language of replies, and the composer labelling the signature's language."""

from __future__ import annotations

from helpdesk.auth.models import User
from helpdesk.mail.models import Mailbox
from helpdesk.tickets.models import Ticket
from tests.factories import make_mailbox, set_customer_language
from tests.helpers import post_form
from tests.inbound.test_mailbox_views import VALID
from tests.tickets.mails import ingest, mail

PREFERENCES = {"language": "", "timezone": "UTC"}


def _fresh(session, model, key):
    session.expire_all()
    row = session.get(model, key)
    session.commit()
    return row


def test_agent_saves_english_and_korean_signatures(agent_client, session, agent):
    form = PREFERENCES | {"signature": "Alex", "signature_ko": "알렉스 드림"}

    response = post_form(agent_client, "/preferences", form)

    assert response.status_code == 302
    saved = _fresh(session, User, agent.id)
    assert (saved.signature, saved.signature_ko) == ("Alex", "알렉스 드림")


def test_too_long_korean_signature_is_refused_and_neither_changes(agent_client, session, agent):
    form = PREFERENCES | {"signature": "Alex", "signature_ko": "가" * 2001}

    response = post_form(agent_client, "/preferences", form)

    assert response.status_code == 400
    assert 'name="signature_ko"' in response.get_data(as_text=True)
    saved = _fresh(session, User, agent.id)
    assert (saved.signature, saved.signature_ko) == ("", "")


def test_admin_sets_the_korean_signature_and_the_language_of_replies(admin_client, session):
    mailbox = make_mailbox(session, address="support@helpdesk.test")
    form = VALID | {"reply_language": "ko", "signature_ko": "{{ agent_signature }}\n한빛"}

    response = post_form(admin_client, f"/admin/mailboxes/{mailbox.id}", form)

    assert response.status_code == 302
    saved = _fresh(session, Mailbox, mailbox.id)
    assert (saved.reply_language, saved.signature_ko) == ("ko", "{{ agent_signature }}\n한빛")


def test_new_mailbox_replies_in_english_by_default(session):
    mailbox = make_mailbox(session)

    assert _fresh(session, Mailbox, mailbox.id).reply_language == "en"


def test_unknown_language_of_replies_is_refused_and_nothing_changes(admin_client, session):
    mailbox = make_mailbox(session, address="support@helpdesk.test", signature_ko="옛 서명")
    form = VALID | {"reply_language": "fr", "signature_ko": "새 서명"}

    response = post_form(admin_client, f"/admin/mailboxes/{mailbox.id}", form)

    assert response.status_code == 400
    assert "Choose English or Korean." in response.get_data(as_text=True)
    saved = _fresh(session, Mailbox, mailbox.id)
    assert (saved.reply_language, saved.signature_ko) == ("en", "옛 서명")


def test_korean_mailbox_signature_with_a_template_error_is_refused(admin_client, session):
    mailbox = make_mailbox(session, address="support@helpdesk.test", signature_ko="옛 서명")
    form = VALID | {"signature_ko": "{{ agent_name }\n"}

    response = post_form(admin_client, f"/admin/mailboxes/{mailbox.id}", form)

    assert response.status_code == 400
    assert "Template error on line 1" in response.get_data(as_text=True)
    assert _fresh(session, Mailbox, mailbox.id).signature_ko == "옛 서명"


def test_too_long_korean_mailbox_signature_is_refused(admin_client, session):
    mailbox = make_mailbox(session, address="support@helpdesk.test", signature_ko="옛 서명")

    response = post_form(
        admin_client, f"/admin/mailboxes/{mailbox.id}", VALID | {"signature_ko": "가" * 2001}
    )

    assert response.status_code == 400
    assert "Use at most 2000 characters." in response.get_data(as_text=True)
    assert _fresh(session, Mailbox, mailbox.id).signature_ko == "옛 서명"


def _korean_customer_ticket(session, agent) -> int:
    mailbox = make_mailbox(
        session,
        signature="{{ agent_signature }}\nHanbit",
        signature_ko="{{ agent_signature }}\n한빛",
    )
    ticket_id = ingest(session, mail(), mailbox=mailbox).ticket_id
    session.commit()
    set_customer_language(session, session.get(Ticket, ticket_id).customer_id, "ko")
    agent = session.get(User, agent.id)
    agent.signature, agent.signature_ko = "Alex", "알렉스"
    session.commit()
    return ticket_id


def test_composer_shows_the_korean_signature_for_a_korean_customer(agent_client, session, agent):
    ticket_id = _korean_customer_ticket(session, agent)

    page = agent_client.get(f"/tickets/{ticket_id}").get_data(as_text=True)

    assert "Your signature in 한국어, added when the reply is sent:" in page
    assert '<pre lang="ko">-- &#10;알렉스\n한빛</pre>' in page


def test_composer_labels_the_signature_in_the_korean_interface(agent_client, session, agent):
    ticket_id = _korean_customer_ticket(session, agent)
    session.get(User, agent.id).language = "ko"
    session.commit()

    page = agent_client.get(f"/tickets/{ticket_id}").get_data(as_text=True)

    assert "답장을 보낼 때 붙는 서명(한국어):" in page
