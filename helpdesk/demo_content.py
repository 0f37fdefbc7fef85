"""Demo work to look at on first start: a support mailbox with customer mail taken in by
the real ingest pipeline, FAQ articles in Korean and English, a segment and a draft
campaign. Loaded by helpdesk.demo after the staff and customers exist.

The mail is built as raw RFC 5322 bytes and goes through `ingest_message`, so the demo
tickets are threaded, matched to customers and given SLA due times exactly as real mail
would be. The mailbox has no IMAP server: nothing is polled, and replies go to the sink.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy.orm import Session

from helpdesk.auth.models import User
from helpdesk.campaigns import service as campaigns
from helpdesk.customers.models import Customer
from helpdesk.faq import service as faq
from helpdesk.inbound.incoming import IngestSettings
from helpdesk.inbound.ingest import ingest_message
from helpdesk.mail.models import Mailbox, RawSource
from helpdesk.tickets import notes
from helpdesk.tickets import service as tickets

SUPPORT_ADDRESS = "support@example.com"


@dataclass(frozen=True)
class DemoMail:
    subject: str
    body: str
    assignee: int | None = None  # index into the agents, None leaves it unassigned
    status: str = ""  # "", or a status the ticket moves to after it arrived
    follow_up: str = ""  # a second message from the customer in the same thread


MAILS = [
    DemoMail(
        "주문한 상품이 아직 도착하지 않았어요",
        "안녕하세요. 지난주 월요일에 주문했는데 아직 배송이 시작되지 않았습니다.\n"
        "주문번호는 10023입니다. 언제 받을 수 있을까요?",
        follow_up="혹시 확인되셨나요? 이번 주 안에 꼭 받아야 합니다.",
    ),
    DemoMail(
        "환불 요청드립니다",
        "프리미엄 플랜을 실수로 두 번 결제했습니다. 한 건은 환불 부탁드립니다.",
        assignee=0,
    ),
    DemoMail(
        "Cannot log in after password reset",
        "Hi, I reset my password this morning but the login page still says my password "
        "is wrong. Can you help?",
    ),
    DemoMail(
        "Invoice for our last order",
        "Hello, could you send the invoice for order 10031 with our company's VAT number "
        "on it? Thanks!",
        assignee=1,
        status="waiting",
    ),
    DemoMail(
        "세금계산서 발행 문의",
        "지난달 결제 건에 대해 세금계산서를 발행받고 싶습니다. 사업자등록증을 첨부하면 될까요?",
        assignee=2,
    ),
    DemoMail(
        "Add five more users to our plan",
        "We are growing: how do we add five more users to our Standard plan, and what does "
        "it cost?",
        assignee=1,
        status="resolved",
    ),
    DemoMail(
        "배송지 변경 가능할까요?",
        "이사를 하게 되어 배송지를 바꾸고 싶습니다. 아직 발송 전이면 변경 부탁드려요.",
    ),
    DemoMail(
        "Onboarding workshop dates",
        "Which dates are available for the onboarding workshop next month?",
        assignee=0,
    ),
]

FAQ_CATEGORIES = [("주문과 배송 · Orders and delivery", 0), ("결제와 환불 · Billing", 1)]

FAQ_ARTICLES = [
    (
        0,
        "ko",
        "주문한 상품은 언제 도착하나요?",
        "결제 후 **1~2 영업일** 안에 발송되며, 발송 후 보통 2일 안에 도착합니다.\n\n"
        "주문 내역에서 송장 번호로 배송 상황을 확인할 수 있습니다.",
    ),
    (
        0,
        "ko",
        "배송지를 바꿀 수 있나요?",
        "발송 전이라면 주문 내역에서 배송지를 바꿀 수 있습니다. 이미 발송된 주문은 "
        "고객센터로 연락해 주세요.",
    ),
    (
        1,
        "ko",
        "환불은 어떻게 받나요?",
        "결제일로부터 **30일 이내**라면 주문 내역에서 환불 신청을 누르세요. "
        "카드 결제는 3~5 영업일 안에 취소됩니다.",
    ),
    (
        1,
        "ko",
        "세금계산서를 발행받을 수 있나요?",
        "사업자등록번호를 알려주시면 결제일 기준으로 세금계산서를 발행해 드립니다.",
    ),
    (
        0,
        "en",
        "When will my order arrive?",
        "Orders ship within **1-2 business days** of payment and usually arrive two days "
        "later. Your order history shows the tracking number.",
    ),
    (
        1,
        "en",
        "How do I get a refund?",
        "Within **30 days** of payment, open your order history and choose *Request a "
        "refund*. Card payments are returned within 3-5 business days.",
    ),
    (
        1,
        "en",
        "How do I add users to my plan?",
        "Admins can add users under *Account → Plan*. Each extra block of five users is "
        "billed for the rest of your plan year.",
    ),
    (
        1,
        "en",
        "Can I get an invoice with our VAT number?",
        "Yes: add your VAT number under *Account → Billing* and every new invoice shows it. "
        "Write to us for invoices issued before.",
    ),
]

NEWSLETTER_HTML = """<h1>{{ customer.first_name or customer.name }}, what's new this month</h1>
<p>We added <strong>faster search</strong> and a new onboarding workshop.</p>
<p><a href="https://example.com/news">Read the full story</a></p>
<p><small><a href="{{ unsubscribe_url }}">Unsubscribe</a></small></p>
"""


def load_demo_content(
    session: Session,
    customers: list[Customer],
    agents: list[User],
    admin: User,
    settings: IngestSettings,
    now: datetime,
) -> None:
    """Adds the mailbox, tickets, FAQ and campaign draft; commits (ingest does)."""
    mailbox = Mailbox(name="Support", address=SUPPORT_ADDRESS)
    session.add(mailbox)
    session.commit()
    _load_faq(session, admin)
    _load_tickets(session, customers, agents, mailbox, settings, now)
    _load_campaign(session, admin)


def _load_faq(session: Session, admin: User) -> None:
    categories = [faq.save_category(session, name, position) for name, position in FAQ_CATEGORIES]
    session.flush()
    for category, language, title, body in FAQ_ARTICLES:
        faq.create_article(
            session,
            faq.ArticleData(
                title=title,
                body=body,
                language=language,
                status="published",
                category_id=categories[category].id,
            ),
            admin.id,
        )
    session.commit()


def _load_tickets(session, customers, agents, mailbox, settings, now) -> None:
    for index, mail in enumerate(MAILS):
        customer = customers[index * 7 % len(customers)]
        sent = now - timedelta(hours=len(MAILS) - index)
        first = _raw_mail(customer, mail.subject, mail.body, sent)
        result = ingest_message(
            session,
            first.as_bytes(),
            source=RawSource.api,
            settings=settings,
            mailbox_id=mailbox.id,
        )
        if mail.follow_up:
            reply = _raw_mail(customer, f"Re: {mail.subject}", mail.follow_up, sent, first)
            ingest_message(
                session,
                reply.as_bytes(),
                source=RawSource.api,
                settings=settings,
                mailbox_id=mailbox.id,
            )
        _work_on(session, result.ticket_id, mail, agents)


def _work_on(session: Session, ticket_id: int, mail: DemoMail, agents: list[User]) -> None:
    if mail.assignee is None:
        return
    agent = agents[mail.assignee % len(agents)]
    tickets.assign_ticket(
        session, ticket_id, agent.id, actor_id=agent.id, expected_assignee_id=None
    )
    notes.add_note(
        session, ticket_id, author_id=agent.id, body="Checking this with the order system."
    )
    if mail.status:
        tickets.set_status(session, ticket_id, mail.status, actor_id=agent.id)
    session.commit()


def _raw_mail(
    customer: Customer,
    subject: str,
    body: str,
    sent: datetime,
    parent: EmailMessage | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = Address(display_name=customer.name, addr_spec=customer.email)
    message["To"] = SUPPORT_ADDRESS
    message["Subject"] = subject
    message["Date"] = format_datetime(sent + (timedelta(minutes=40) if parent else timedelta()))
    message["Message-ID"] = make_msgid(domain=customer.email.split("@")[1])
    if parent is not None:
        message["In-Reply-To"] = parent["Message-ID"]
        message["References"] = parent["Message-ID"]
    message.set_content(body)
    return message


def _load_campaign(session: Session, admin: User) -> None:
    segment = campaigns.create_segment(
        session,
        campaigns.SegmentData(
            name="VIP customers",
            description="Subscribed customers tagged vip",
            rules={
                "match": "all",
                "groups": [
                    {
                        "match": "all",
                        "conditions": [{"field": "tag", "op": "has", "value": "vip"}],
                    }
                ],
            },
        ),
        user_id=admin.id,
    )
    campaigns.create_campaign(
        session,
        campaigns.CampaignData(
            name="Monthly news",
            subject="{{ customer.first_name or customer.name }}, what's new this month",
            from_name="Example Shop",
            from_email="news@example.com",
            html_body=NEWSLETTER_HTML,
            segment_id=segment.id,
        ),
        user_id=admin.id,
    )
    session.commit()
