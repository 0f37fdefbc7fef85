"""Merging in the browser, in English and Korean: the picker filters while the agent
types, the confirmation shows both tickets, and the merge is undone from the survivor."""

from __future__ import annotations

import pytest

from helpdesk.tickets.models import Ticket
from tests.factories import DEFAULT_PASSWORD, make_message, make_ticket

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
def test_merge_by_picker_then_undo(browser, live_server, session, agent, locale):
    source = make_ticket(session, subject="Where is my parcel?")
    target = make_ticket(session, subject="배송 지연 문의", customer_email="lee@example.com")
    make_message(session, target, body_text="주문한 상품이 아직 안 왔어요.")
    context = browser.new_context(base_url=live_server, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/login")
    page.fill("input[name=email]", agent.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()

    page.goto(f"/tickets/{source.id}")
    page.click("#merge-manual summary")
    page.click("#merge-manual button[type=submit]")
    assert page.locator("html").get_attribute("lang") == locale[:2]
    page.fill("#merge-q", "배송")
    option = page.locator("#merge-options a", has_text="배송 지연 문의")
    option.wait_for()
    assert page.locator("#merge-options a").count() == 1
    option.click()
    assert "주문한 상품이 아직 안 왔어요." in page.locator("#merge-confirm").inner_text()
    page.click("#merge-submit")
    page.wait_for_url(f"**/tickets/{target.id}")
    page.locator("#merge-undo").wait_for()
    session.expire_all()
    assert session.get(Ticket, source.id).merged_into_id == target.id
    session.commit()

    page.click("#merge-undo button")
    page.wait_for_url(f"**/tickets/{source.id}")
    page.locator(".flash-success").wait_for()
    session.expire_all()
    assert session.get(Ticket, source.id).merged_into_id is None
    session.commit()
    context.close()
