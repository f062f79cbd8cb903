"""Webhooks: signatures (pure), the envelope, dispatch from the outbox to one delivery job per
endpoint, delivery with retries, and the endpoint use cases. See ``docs/webhooks.md``."""

from reelhouse.webhooks.delivery import RetrySchedule, WebhookDeps, deliver
from reelhouse.webhooks.dispatch import (
    DELIVER_WEBHOOK,
    DISPATCH_OUTBOX,
    dispatch_batch,
    replay_event,
    request_dispatch,
)
from reelhouse.webhooks.endpoints import ensure_default_endpoint
from reelhouse.webhooks.signatures import SignatureError, sign, verify

__all__ = [
    "DELIVER_WEBHOOK",
    "DISPATCH_OUTBOX",
    "RetrySchedule",
    "SignatureError",
    "WebhookDeps",
    "deliver",
    "dispatch_batch",
    "ensure_default_endpoint",
    "replay_event",
    "request_dispatch",
    "sign",
    "verify",
]
