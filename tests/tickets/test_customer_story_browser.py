"""In a real Chromium, in English and Korean: the customer page lists the customer's
tickets and its timeline tells a ticket's story; an agent starts a ticket by mail from
the customer page, the mail reaches a real SMTP server, and the customer's answer threads
into the same ticket."""

from __future__ import annotations

import re

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from helpdesk.customers.models import Customer
from helpdesk.queue import MAIL_QUEUE
from helpdesk.tickets import replies
from helpdesk.tickets.models import Ticket
from tests.factories import DEFAULT_PASSWORD, make_mailbox
from tests.tickets.mails import SETTINGS, ingest, mail

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

TEXTS = {
    "en-US": {
        "tickets": "Tickets",
        "opened": "Ticket #{id} opened: 배송 문의",
        "replied": "Alex Agent replied on #{id}: 배송 문의",
        "resolved": "Ticket #{id} resolved",
        "status": "Resolved",
        "customer_wrote": "Customer wrote on #{id}: 반품 주소 확인",
    },
    "ko-KR": {
        "tickets": "티켓",
        "opened": "티켓 #{id} 열림: 배송 문의",
        "replied": "Alex Agent 님의 답변 #{id}: 배송 문의",
        "resolved": "티켓 #{id} 해결됨",
        "status": "해결됨",
        "customer_wrote": "고객 메시지 #{id}: 반품 주소 확인",
    },
}


@pytest.fixture(params=["en-US", "ko-KR"])
def locale(request):
    return request.param


@pytest.fixture
def agent_page(browser, live_server, agent, locale):
    context = browser.new_context(base_url=live_server, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/login")
    page.fill("input[name=email]", agent.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    yield page
    context.close()


def customer_id(session, email="minji@example.com") -> int:
    found = session.scalar(select(Customer.id).where(Customer.email == email))
    session.commit()
    return found


def test_customer_page_lists_the_ticket_and_tells_its_story(agent_page, session, agent, locale):
    texts = TEXTS[locale]
    mailbox = make_mailbox(session)
    first = ingest(session, mail("책이 아직 안 왔어요.", subject="배송 문의"), mailbox=mailbox)
    ticket_id = first.ticket_id
    replies.send_reply(
        session,
        ticket_id,
        agent.id,
        "오늘 발송되었습니다.",
        "",
        [],
        first.message_id,
        "resolved",
        mail=replies.MailSettings(SETTINGS.secret_key, SETTINGS.domain),
    )
    session.commit()

    agent_page.goto(f"/customers/{customer_id(session)}")

    tickets = agent_page.locator("#tickets")
    assert texts["tickets"] in tickets.locator("h2").inner_text()
    row = tickets.locator(f"tr[data-ticket='{ticket_id}']")
    assert f"#{ticket_id} 배송 문의" in row.inner_text()
    assert texts["status"] in row.locator(".badge").inner_text()
    timeline = agent_page.locator("ol.timeline")
    for key in ("opened", "replied", "resolved"):
        timeline.get_by_text(texts[key].format(id=ticket_id)).wait_for()
    assert "오늘 발송되었습니다." in timeline.inner_text()

    timeline.get_by_text(texts["replied"].format(id=ticket_id)).click()
    agent_page.wait_for_url(re.compile(rf"/tickets/{ticket_id}#message-\d+$"))


def test_an_agent_starts_a_ticket_by_mail_and_the_answer_threads_into_it(
    agent_page, session, redis_conn, smtp_relay, locale
):
    texts = TEXTS[locale]
    mailbox = make_mailbox(session, name="Hanbit Support", address="help@hanbit.test")
    customer = Customer(email="minji@example.com", name="김민지")
    session.add(customer)
    session.commit()

    agent_page.goto(f"/customers/{customer.id}")
    agent_page.click("#new-ticket-link")
    assert agent_page.locator("input[name=to]").input_value() == "minji@example.com"
    agent_page.fill("input[name=subject]", "반품 주소 확인")
    agent_page.fill("textarea[name=body]", "반품 받을 주소를 알려 주세요.")
    agent_page.click("#start-ticket")
    agent_page.wait_for_url(re.compile(r"/tickets/\d+$"))
    ticket_id = int(agent_page.url.rsplit("/", 1)[1])
    agent_page.locator(".flash-success").wait_for()

    worker = SimpleWorker([Queue(MAIL_QUEUE, connection=redis_conn)], connection=redis_conn)
    assert worker.work(burst=True)
    [delivered] = smtp_relay.received
    sent = delivered.message
    assert delivered.rcpt_tos == ["minji@example.com"]
    assert sent["From"] == "Hanbit Support <help@hanbit.test>"
    assert sent["Subject"] == f"반품 주소 확인 [#{ticket_id}]"
    assert "반품 받을 주소를 알려 주세요." in sent.get_body(("plain",)).get_content()

    answer = ingest(
        session,
        mail(
            "서울시 중구 세종대로 110으로 보내 주세요.",
            subject=f"Re: {sent['Subject']}",
            message_id="<answer@example.com>",
            headers={"In-Reply-To": sent["Message-ID"], "References": sent["Message-ID"]},
        ),
        mailbox=mailbox,
    )
    assert answer.ticket_id == ticket_id and not answer.created_ticket

    agent_page.reload()
    agent_page.get_by_text("서울시 중구 세종대로 110으로 보내 주세요.").first.wait_for()
    agent_page.goto(f"/customers/{customer.id}")
    agent_page.locator("ol.timeline").get_by_text(
        texts["customer_wrote"].format(id=ticket_id)
    ).wait_for()


def test_a_logged_phone_call_appears_on_the_customer_page(agent_page, session, locale):
    make_mailbox(session)
    agent_page.goto("/tickets")
    agent_page.click("#new-ticket-link")
    agent_page.select_option("select[name=channel]", "phone")
    agent_page.fill("input[name=to]", "caller@example.com")
    agent_page.fill("input[name=name]", "이전화")
    agent_page.fill("input[name=subject]", "전화 문의")
    agent_page.fill("textarea[name=body]", "배송지 변경을 요청했습니다.")
    agent_page.click("#start-ticket")
    agent_page.wait_for_url(re.compile(r"/tickets/\d+$"))
    ticket_id = int(agent_page.url.rsplit("/", 1)[1])

    agent_page.goto(f"/customers/{customer_id(session, 'caller@example.com')}")
    row = agent_page.locator(f"#tickets tr[data-ticket='{ticket_id}']")
    assert "전화 문의" in row.inner_text()
    assert ("Phone call" if locale == "en-US" else "전화") in row.inner_text()


def test_bad_input_on_the_new_ticket_page_is_shown_in_the_form(agent_page, session, locale):
    make_mailbox(session)
    agent_page.goto("/tickets/new")
    agent_page.fill("input[name=to]", "not-an-address")
    agent_page.fill("input[name=subject]", "제목")
    agent_page.fill("textarea[name=body]", "내용")
    agent_page.click("#start-ticket")
    error = agent_page.locator(".field.has-error small.error")
    error.wait_for()
    assert "not-an-address" in error.inner_text()
    assert agent_page.locator("input[name=subject]").input_value() == "제목"
    assert "/tickets/new" in agent_page.url
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0
    session.commit()
