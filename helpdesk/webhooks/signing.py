"""Standard Webhooks signatures (https://www.standardwebhooks.com/): secrets in the
"whsec_" + base64 form, `webhook-id`, `webhook-timestamp` and `webhook-signature` headers,
HMAC-SHA256 over "id.timestamp.body". The `standardwebhooks` library signs."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

SECRET_BYTES = 24


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signed_headers(
    message_id: str, sent_at: datetime, body: str, secrets_in_use: Sequence[str]
) -> dict[str, str]:
    """The three headers; one signature per secret, space-separated, so during a
    rotation a receiver holding either secret verifies the message."""
    signatures = " ".join(
        Webhook(secret).sign(message_id, sent_at, body) for secret in secrets_in_use
    )
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signatures,
    }
