"""Demo work to look at on first start: a support mailbox with customer mail taken in by
the real ingest pipeline, FAQ articles in Korean and English, a segment and a draft
campaign. Loaded by helpdesk.demo after the staff and customers exist.

The mail is built as raw RFC 5322 bytes and goes through `ingest_message`, so the demo
tickets are threaded, matched to customers and given SLA due times exactly as real mail
would be. The mailbox has no IMAP server: nothing is polled, and replies go to the sink.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.auth.models import User
from helpdesk.campaigns import sending
from helpdesk.campaigns import service as campaigns
from helpdesk.campaigns.models import CampaignLink, ClickEvent, Delivery, DeliveryState, OpenEvent
from helpdesk.customers.models import Customer
from helpdesk.db import UTCDateTime, utcnow
from helpdesk.faq import service as faq
from helpdesk.inbound.incoming import IngestSettings
from helpdesk.inbound.ingest import ingest_message
from helpdesk.mail.models import Mailbox, RawSource
from helpdesk.tickets import notes, replies
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import Message, SendStatus, Ticket

SUPPORT_ADDRESS = "support@example.com"


@dataclass(frozen=True)
class DemoMail:
    subject: str
    body: str
    assignee: int | None = None  # index into the agents, None leaves it unassigned
    reply: str = ""  # the agent's answer; a ticket without one is still ours to answer
    resolve: bool = False  # the answer solved it (only a ticket with a reply is resolved)
    follow_up: str = ""  # the customer writes again (after the reply, when there is one)


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
        reply="Of course. Could you tell us your VAT number? We will reissue the invoice "
        "with it right away.",
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
        reply="Admins add users under Account → Plan. Each block of five users is billed "
        "for the rest of your plan year; the price is shown before you confirm.",
        resolve=True,
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

# Earlier conversations, answered and resolved over the last HISTORY_DAYS days, so the
# dashboard's charts (tickets per day, response and resolution times) show something.
HISTORY_TOPICS = [
    (
        "비밀번호를 잊어버렸어요",
        "로그인하려는데 비밀번호가 기억나지 않습니다. 어떻게 해야 하나요?",
        "로그인 화면의 '비밀번호 찾기'를 누르시면 재설정 링크를 메일로 보내 드립니다.",
    ),
    (
        "결제 영수증 재발급 요청",
        "지난달 결제 영수증을 잃어버렸습니다. 다시 받을 수 있을까요?",
        "주문 내역에서 영수증을 다시 내려받으실 수 있습니다. 메일로도 보내 드렸습니다.",
    ),
    (
        "배송 조회가 안 됩니다",
        "송장 번호로 조회하면 정보가 없다고 나옵니다.",
        "택배사 전산 반영에 하루 정도 걸립니다. 내일 오전부터 조회하실 수 있습니다.",
    ),
    (
        "플랜 변경 문의",
        "스탠다드에서 프리미엄으로 바꾸면 요금은 어떻게 계산되나요?",
        "남은 기간만큼 차액을 일할 계산해 청구합니다. 설정 → 플랜에서 바로 바꾸실 수 있습니다.",
    ),
    (
        "Two-factor codes not accepted",
        "My authenticator codes stopped working after I changed phones.",
        "Use one of your recovery codes to log in, then set up two-factor login again on "
        "the new phone.",
    ),
    (
        "Change the email on our account",
        "Our billing contact changed. How do we update the address invoices go to?",
        "An admin can change it under Account → Billing. I have updated it for you too.",
    ),
    (
        "Refund for an unused add-on",
        "We bought the priority support add-on by mistake. Can we get a refund?",
        "Done: the refund is on its way and shows on your card within 3-5 business days.",
    ),
    (
        "Workshop recording",
        "Is there a recording of last week's onboarding workshop?",
        "Yes, here it is: the link works for 30 days. Enjoy!",
    ),
    (
        "Export our customer list",
        "How can we export all our customers to a spreadsheet?",
        "Customers → Export downloads a CSV file that opens in any spreadsheet program.",
    ),
]
HISTORY_DAYS = 60
HISTORY_TICKETS = 36
HISTORY_SEED = 20240502
HISTORY_FOLLOW_UP = "Thanks! It happened again today, could you check once more?"
AGAIN_REPLY = "Checked again and fixed for good. Sorry for the trouble!"

DEMO_READER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0"
# Newsletters sent over the same period: (name, days ago, share opened, share clicked).
SENT_CAMPAIGNS = [
    ("Spring news", 52, 0.46, 0.18),
    ("New onboarding workshop", 31, 0.38, 0.12),
    ("Faster search is here", 9, 0.52, 0.21),
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
    _load_sent_campaigns(session, admin, now)


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
    desk = _Desk(session, agents, mailbox, settings)
    rng = random.Random(HISTORY_SEED)
    for number in range(HISTORY_TICKETS):
        subject, body, reply = HISTORY_TOPICS[number % len(HISTORY_TOPICS)]
        mail = DemoMail(
            subject,
            body,
            assignee=rng.randrange(len(agents)),
            reply=reply,
            resolve=True,
            # Now and then the customer comes back after the answer (a reopen).
            follow_up=HISTORY_FOLLOW_UP if number % 9 == 4 else "",
        )
        opened = now - timedelta(days=rng.uniform(1.5, HISTORY_DAYS), hours=rng.randint(0, 8))
        customer = customers[rng.randrange(len(customers))]
        desk.handle(customer, mail, opened, answer_after=timedelta(minutes=rng.randint(15, 600)))
    for index, mail in enumerate(MAILS):
        customer = customers[index * 7 % len(customers)]
        opened = now - timedelta(hours=len(MAILS) - index)
        desk.handle(customer, mail, opened, answer_after=timedelta(minutes=25))


# Ticket columns that hold a time (created, due, answered, resolved, ...).
_TICKET_TIMES = [c.key for c in Ticket.__table__.columns if isinstance(c.type, UTCDateTime)]


@dataclass
class _Desk:
    """Works the demo tickets through the real services (ingest, reply, status), each
    step then dated back to when it happened in the story."""

    session: Session
    agents: list[User]
    mailbox: Mailbox
    settings: IngestSettings

    def handle(self, customer, mail: DemoMail, opened, *, answer_after) -> None:
        first = _raw_mail(customer, mail.subject, mail.body, opened)
        ticket_id = self._dated(opened, None, lambda: self._ingest(first))
        agent = self.agents[mail.assignee % len(self.agents)] if mail.assignee is not None else None
        if agent is not None:
            self._dated(opened + answer_after / 2, ticket_id, lambda: self._take(ticket_id, agent))
        answered = opened + answer_after
        if mail.reply and agent is not None:
            status = "resolved" if mail.resolve else "waiting"
            self._dated(
                answered, ticket_id, lambda: self._reply(ticket_id, agent, mail.reply, status)
            )
        if mail.follow_up:
            # Without an answer the customer chases after 40 minutes; with one, a day later.
            wrote = answered + timedelta(days=1) if mail.reply else opened + timedelta(minutes=40)
            follow_up = _raw_mail(customer, f"Re: {mail.subject}", mail.follow_up, wrote, first)
            reopened = self._dated(wrote, ticket_id, lambda: self._ingest(follow_up))
            if mail.resolve and agent is not None:
                self._dated(
                    wrote + timedelta(hours=2),
                    reopened,
                    lambda: self._reply(reopened, agent, AGAIN_REPLY, "resolved"),
                )

    def _ingest(self, message: EmailMessage) -> int:
        result = ingest_message(
            self.session,
            message.as_bytes(),
            source=RawSource.api,
            settings=self.settings,
            mailbox_id=self.mailbox.id,
        )
        return result.ticket_id

    def _take(self, ticket_id: int, agent: User) -> int:
        tickets.assign_ticket(
            self.session, ticket_id, agent.id, actor_id=agent.id, expected_assignee_id=None
        )
        notes.add_note(
            self.session, ticket_id, author_id=agent.id, body="Checking this with the order system."
        )
        self.session.flush()
        return ticket_id

    def _reply(self, ticket_id: int, agent: User, text: str, status: str) -> int:
        replies.send_reply(
            self.session,
            ticket_id,
            agent.id,
            text,
            cc=None,
            attachments=[],
            seen_message_id=replies.latest_message_id(self.session, ticket_id),
            new_status=status,
            mail=replies.MailSettings(self.settings.secret_key, self.settings.domain),
        )
        self.session.flush()
        return ticket_id

    def _dated(self, when: datetime, ticket_id: int | None, step) -> int:
        """Runs `step` (which returns the ticket id), then moves every time it wrote on the
        ticket and its new messages by (when - the moment it ran), so due times keep their
        distance, and commits. Mail it queued counts as sent back then: the demo's past is
        not sent again."""
        session = self.session
        before = _ticket_times(session.get(Ticket, ticket_id)) if ticket_id else {}
        last_message = session.scalar(select(func.max(Message.id))) or 0
        started = utcnow()
        stepped_on = step()
        if stepped_on != ticket_id:  # a new ticket: every time on it is new
            before, ticket_id = {}, stepped_on
        shift = when - started
        ticket = session.get(Ticket, ticket_id)
        for column, value in _ticket_times(ticket).items():
            if value is not None and value != before.get(column):
                setattr(ticket, column, value + shift)
        new_messages = session.scalars(
            select(Message).where(Message.ticket_id == ticket_id, Message.id > last_message)
        )
        for message in new_messages:
            message.created_at += shift
            if message.send_status is not None:
                message.send_status = SendStatus.sent
                message.sent_at = message.created_at
        session.commit()
        return ticket_id


def _ticket_times(ticket: Ticket) -> dict[str, datetime | None]:
    return {column: getattr(ticket, column) for column in _TICKET_TIMES}


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


def _load_sent_campaigns(session: Session, admin: User, now: datetime) -> None:
    """Newsletters sent earlier to every subscriber, with the opens and clicks they got,
    so the campaign reports and the dashboard have figures to show."""
    rng = random.Random(HISTORY_SEED)
    segment = campaigns.create_segment(
        session,
        campaigns.SegmentData(
            name="All subscribers",
            description="Everyone who agreed to receive the newsletter",
            rules={
                "match": "all",
                "groups": [
                    {
                        "match": "all",
                        "conditions": [
                            {"field": "subscription_status", "op": "eq", "value": "subscribed"}
                        ],
                    }
                ],
            },
        ),
        user_id=admin.id,
    )
    for name, days_ago, opened_share, clicked_share in SENT_CAMPAIGNS:
        sent = now - timedelta(days=days_ago, hours=rng.randint(0, 6))
        campaign = campaigns.create_campaign(
            session,
            campaigns.CampaignData(
                name=name,
                subject=f"{name}: {{{{ customer.first_name or customer.name }}}}",
                from_name="Example Shop",
                from_email="news@example.com",
                html_body=NEWSLETTER_HTML,
                segment_id=segment.id,
            ),
            user_id=admin.id,
        )
        campaign.created_at = sent - timedelta(days=2)
        session.commit()
        sending.start_sending(session, campaign.id, sent)
        _deliver_with_responses(session, campaign.id, sent, rng, opened_share, clicked_share)
        sending.finish_if_done(session, campaign.id, sent + timedelta(minutes=5))
        session.commit()


def _deliver_with_responses(session, campaign_id, sent, rng, opened_share, clicked_share):
    domain = "demo.example.com"
    links = session.scalars(select(CampaignLink).where(CampaignLink.campaign_id == campaign_id))
    link = links.first()
    for delivery in session.scalars(select(Delivery).where(Delivery.campaign_id == campaign_id)):
        delivery.state = DeliveryState.sent
        delivery.sent_at = sent + timedelta(seconds=rng.randint(1, 240))
        delivery.message_id = make_msgid(domain=domain)
        if rng.random() >= opened_share:
            continue
        opened = delivery.sent_at + timedelta(minutes=rng.randint(5, 3 * 24 * 60))
        delivery.first_opened_at, delivery.open_count = opened, rng.choice([1, 1, 2, 3])
        for again in range(delivery.open_count):
            at = opened + timedelta(hours=again * rng.randint(1, 30))
            session.add(OpenEvent(delivery_id=delivery.id, at=at, user_agent=DEMO_READER))
        if link is not None and rng.random() < clicked_share / opened_share:
            clicked = opened + timedelta(seconds=rng.randint(5, 600))
            delivery.first_clicked_at, delivery.click_count = clicked, 1
            session.add(
                ClickEvent(
                    delivery_id=delivery.id, link_id=link.id, at=clicked, user_agent=DEMO_READER
                )
            )
    session.flush()
