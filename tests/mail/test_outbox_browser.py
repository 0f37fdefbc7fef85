"""The Outbox in a real browser: a stored mail's remote images are not fetched until the
admin asks for them."""

from __future__ import annotations

import pytest

from helpdesk.mail.outbound import SMTPSender, build_message
from helpdesk.mail.sink import make_controller
from tests.conftest import free_port
from tests.helpers import browser_login

TRACKER = "https://tracker.example/open.gif"


@pytest.fixture
def sink(config):
    controller = make_controller(config, port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def stored_mail(sink):
    message = build_message(
        "Shop <news@shop.example>",
        "hong@example.com",
        "Spring news",
        "Text",
        html=f'<p>Spring news</p><img src="{TRACKER}" alt="">',
        domain="helpdesk.test",
    )
    with SMTPSender(f"smtp://127.0.0.1:{sink.port}") as sender:
        sender.send(message)


def test_remote_images_of_a_stored_mail_load_only_when_asked(page, admin, stored_mail):
    fetched = []

    def record(route):
        fetched.append(route.request.url)
        route.fulfill(status=204)

    page.route("https://tracker.example/**", record)
    browser_login(page, admin.email)
    page.goto("/admin/outbox")
    page.click("text=Spring news")
    page.wait_for_selector(".mail-html p")
    page.wait_for_timeout(500)
    assert fetched == []

    page.click("a.load-remote")
    page.wait_for_selector(".mail-html p")
    page.wait_for_timeout(500)
    assert fetched == [TRACKER]
