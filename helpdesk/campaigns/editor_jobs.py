"""RQ jobs of the campaign editor: test sends, and starting a campaign at its scheduled time."""

from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address

from helpdesk.campaigns import service
from helpdesk.campaigns.advertising import AdNotice
from helpdesk.campaigns.jobs import enqueuer
from helpdesk.campaigns.models import Campaign
from helpdesk.campaigns.rendering import customer_contexts, render_for_delivery, sample_customer
from helpdesk.config import Config
from helpdesk.db import session_scope
from helpdesk.mail.outbound import SMTPSender, build_message
from helpdesk.queue import CAMPAIGN_QUEUE, MAIL_QUEUE, get_queue


def enqueue_test_send(
    config: Config, campaign_id: int, addresses: list[str], customer_id: int | None
):
    return get_queue(config, MAIL_QUEUE).enqueue(
        send_test_campaign,
        campaign_id,
        addresses,
        customer_id,
        config.effective_smtp_url,
        config.effective_mail_domain,
    )


def send_test_campaign(
    campaign_id: int,
    addresses: list[str],
    customer_id: int | None,
    smtp_url: str,
    domain: str,
) -> list[str]:
    """One message per address, personalized as the chosen customer (or sample data).

    A test send creates no Delivery and no tracking: it must not count in the reports.
    Returns the Message-IDs.
    """
    with session_scope() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            return []
        context = sample_customer()
        if customer_id is not None:
            context = customer_contexts(session, [customer_id]).get(customer_id, context)
        subject, html, text = render_for_delivery(campaign, context, service.PREVIEW_URLS)
        # A test shows what recipients get, the advertising marker and footer included.
        ad = AdNotice.for_campaign(session, campaign)
        if ad is not None:
            unsubscribe_url = service.PREVIEW_URLS["unsubscribe_url"]
            subject = ad.subject(subject)
            html = ad.add_html_footer(html, unsubscribe_url)
            text += ad.text_footer(unsubscribe_url)
        from_addr = Address(display_name=campaign.from_name, addr_spec=campaign.from_email)
        headers = {"Reply-To": campaign.reply_to} if campaign.reply_to else {}
    message_ids = []
    with SMTPSender(smtp_url) as sender:
        for address in addresses:
            message = build_message(
                from_addr, address, f"[Test] {subject}", text, html, headers, domain=domain
            )
            message_ids.append(sender.send(message))
    return message_ids


def schedule_start(config: Config, campaign_id: int, send_at: datetime):
    """Needs a worker running with the RQ scheduler (worker.py starts it that way)."""
    return get_queue(config, CAMPAIGN_QUEUE).enqueue_at(
        send_at, start_scheduled_campaign, campaign_id
    )


def start_scheduled_campaign(campaign_id: int) -> bool:
    config = Config.from_env()
    with session_scope() as session:
        return service.start_if_due(session, campaign_id, enqueue_jobs=enqueuer(config))
