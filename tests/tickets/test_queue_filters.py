"""Filters, search, sorting and paging of the queue lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpdesk.tickets.models import Priority, Ticket, TicketStatus
from helpdesk.tickets.queues import QueueFilter, Sort, View, list_tickets
from tests.factories import make_customer, make_mailbox, make_message, make_ticket, make_user

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)


def ids(session, user_id, **flt):
    page = list_tickets(
        session, QueueFilter(**({"view": View.all} | flt)), user_id=user_id, now=NOW, size=100
    )
    return [row.ticket.id for row in page.rows]


def test_filter_by_mailbox(session, agent):
    sales = make_mailbox(session, name="Sales", address="sales@helpdesk.test")
    support = make_mailbox(session)
    wanted = make_ticket(session, mailbox_id=sales.id).id
    make_ticket(session, mailbox_id=support.id)
    assert ids(session, agent.id, mailbox_id=sales.id) == [wanted]


def test_filter_by_assignee(session, agent):
    other = make_user(session, email="other@example.com", name="Other")
    wanted = make_ticket(session, assignee_id=other.id).id
    make_ticket(session, assignee_id=agent.id)
    assert ids(session, agent.id, assignee_id=other.id) == [wanted]


def test_filter_by_status_and_priority(session, agent):
    wanted = make_ticket(session, status=TicketStatus.open, priority=Priority.urgent).id
    make_ticket(session, status=TicketStatus.open, priority=Priority.low)
    make_ticket(session, status=TicketStatus.new, priority=Priority.urgent)
    assert ids(session, agent.id, status=TicketStatus.open, priority=Priority.urgent) == [wanted]


def test_filter_by_tag(session, agent):
    from helpdesk.customers.service import tags_named

    tagged = make_ticket(session)
    tagged.tags = tags_named(session, ["refund"])
    session.commit()
    make_ticket(session)
    assert ids(session, agent.id, tag="refund") == [tagged.id]


def test_filter_by_customer(session, agent):
    wanted = make_ticket(session, customer_email="a@example.com").id
    make_ticket(session, customer_email="b@example.com")
    customer_id = session.get(Ticket, wanted).customer_id
    assert ids(session, agent.id, customer_id=customer_id) == [wanted]


def test_search_finds_subject_case_insensitively(session, agent):
    wanted = make_ticket(session, subject="Broken ZIPPER on my jacket").id
    make_ticket(session, subject="Invoice")
    assert ids(session, agent.id, text="zipper") == [wanted]


def test_search_finds_message_text(session, agent):
    wanted = make_ticket(session, subject="Question")
    make_message(session, wanted, body_text="The parcel tracking number is KX-99812.")
    other = make_ticket(session, subject="Question")
    make_message(session, other, body_text="Nothing to see")
    assert ids(session, agent.id, text="kx-998") == [wanted.id]


def test_search_finds_korean_substring_in_message_text(session, agent):
    wanted = make_ticket(session, subject="문의")
    make_message(session, wanted, body_text="주문한 상품의 환불을 요청합니다. 배송이 너무 늦어요.")
    other = make_ticket(session, subject="문의")
    make_message(session, other, body_text="상품 교환 문의드립니다.")
    assert ids(session, agent.id, text="환불") == [wanted.id]
    assert ids(session, agent.id, text="환불을 요청") == [wanted.id]
    assert ids(session, agent.id, text="배송이 너무") == [wanted.id]


def test_search_finds_korean_in_the_middle_of_a_word(session, agent):
    wanted = make_ticket(session, subject="결제오류가 발생했습니다")
    make_ticket(session, subject="결제 완료")
    assert ids(session, agent.id, text="오류") == [wanted.id]


def test_search_finds_customer_email_and_name(session, agent):
    make_customer(session, email="minji.kim@example.com", name="김민지")
    by_customer = make_ticket(session, customer_email="minji.kim@example.com").id
    make_ticket(session, customer_email="someone@example.com")
    assert ids(session, agent.id, text="MINJI.KIM@") == [by_customer]
    assert ids(session, agent.id, text="민지") == [by_customer]


def test_search_treats_like_wildcards_literally(session, agent):
    wanted = make_ticket(session, subject="50% discount code").id
    make_ticket(session, subject="500 discount code")
    assert ids(session, agent.id, text="50%") == [wanted]
    assert ids(session, agent.id, text="_") == []


def test_search_with_quotes_in_the_term_does_not_fail(session, agent):
    wanted = make_ticket(session)
    make_message(session, wanted, body_text='He said "hello there" twice')
    assert ids(session, agent.id, text='"hello there"') == [wanted.id]


def test_search_lists_a_ticket_once_when_several_messages_match(session, agent):
    ticket = make_ticket(session)
    make_message(session, ticket, body_text="refund please")
    make_message(session, ticket, body_text="still waiting for the refund")
    page = list_tickets(
        session, QueueFilter(view=View.all, text="refund"), user_id=agent.id, now=NOW
    )
    assert page.total == 1 and [r.ticket.id for r in page.rows] == [ticket.id]


def test_search_stays_inside_the_view(session, agent):
    make_ticket(session, subject="refund", status=TicketStatus.closed)
    wanted = make_ticket(session, subject="refund", status=TicketStatus.new).id
    assert ids(session, agent.id, view=View.unassigned, text="refund") == [wanted]


def test_sort_by_updated_newest_first(session, agent):
    old = make_ticket(session, updated_at=NOW - timedelta(days=2)).id
    new = make_ticket(session, updated_at=NOW - timedelta(hours=1)).id
    assert ids(session, agent.id, sort=Sort.updated) == [new, old]
    assert ids(session, agent.id, sort=Sort.updated, descending=False) == [old, new]


def test_sort_by_created(session, agent):
    first = make_ticket(session, created_at=NOW - timedelta(days=3), updated_at=NOW).id
    second = make_ticket(session, created_at=NOW - timedelta(days=1), updated_at=NOW).id
    assert ids(session, agent.id, sort=Sort.created, descending=False) == [first, second]


def test_sort_by_due_puts_soonest_first_and_tickets_without_due_last(session, agent):
    none = make_ticket(session).id
    later = make_ticket(session, response_due_at=NOW + timedelta(hours=5)).id
    sooner = make_ticket(session, response_due_at=NOW + timedelta(hours=1)).id
    assert ids(session, agent.id, sort=Sort.due, descending=False) == [sooner, later, none]


def test_sort_by_priority_puts_urgent_first(session, agent):
    low = make_ticket(session, priority=Priority.low).id
    urgent = make_ticket(session, priority=Priority.urgent).id
    normal = make_ticket(session, priority=Priority.normal).id
    high = make_ticket(session, priority=Priority.high).id
    assert ids(session, agent.id, sort=Sort.priority, descending=False) == [
        urgent,
        high,
        normal,
        low,
    ]


def test_pages_split_the_list_without_overlap(session, agent):
    made = [make_ticket(session, updated_at=NOW - timedelta(minutes=i)).id for i in range(7)]
    pages = [
        list_tickets(session, QueueFilter(view=View.all), user_id=agent.id, now=NOW, page=n, size=3)
        for n in (1, 2, 3)
    ]
    assert [p.total for p in pages] == [7, 7, 7]
    assert [r.ticket.id for p in pages for r in p.rows] == made


def test_search_finds_a_two_character_term_at_the_very_end_of_a_message(session, agent):
    wanted = make_ticket(session, subject="Question")
    make_message(session, wanted, body_text="상품 교환 문의")
    other = make_ticket(session, subject="Question")
    make_message(session, other, body_text="문 의")
    assert ids(session, agent.id, text="문의") == [wanted.id]


def test_search_two_ascii_characters_case_insensitively(session, agent):
    wanted = make_ticket(session, subject="Question")
    make_message(session, wanted, body_text="Order XQ")
    other = make_ticket(session, subject="Question")
    make_message(session, other, body_text="Order xz")
    assert ids(session, agent.id, text="xq") == [wanted.id]


def test_search_forgets_deleted_and_edited_message_text(session, agent):
    ticket = make_ticket(session, subject="Question")
    message = make_message(session, ticket, body_text="secret word pineapple")
    message.body_text = "now about mangoes"
    session.commit()
    assert ids(session, agent.id, text="pineapple") == []
    assert ids(session, agent.id, text="mango") == [ticket.id]
    session.delete(message)
    session.commit()
    assert ids(session, agent.id, text="mango") == []


def test_search_follows_a_message_moved_to_another_ticket(session, agent):
    source, target = make_ticket(session, subject="A"), make_ticket(session, subject="B")
    message = make_message(session, source, body_text="duplicate about the blue kettle")
    message.ticket_id = target.id
    session.commit()
    assert ids(session, agent.id, text="blue kettle") == [target.id]


def test_search_follows_a_renamed_subject(session, agent):
    ticket = make_ticket(session, subject="Old words")
    ticket.subject = "Brand new title"
    session.commit()
    assert ids(session, agent.id, text="old words") == []
    assert ids(session, agent.id, text="new title") == [ticket.id]
