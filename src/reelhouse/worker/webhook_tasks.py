"""The webhook tasks: ``reelhouse.dispatch_outbox`` (every 5 seconds, and on request through
:func:`reelhouse.webhooks.request_dispatch`) and ``reelhouse.deliver_webhook`` (one attempt of one
delivery; retries are new jobs it defers itself)."""

from __future__ import annotations

import procrastinate

from reelhouse.logs import get_logger
from reelhouse.webhooks.delivery import WebhookDeps, deliver
from reelhouse.webhooks.dispatch import DELIVER_WEBHOOK, DISPATCH_OUTBOX, dispatch_batch

__all__ = ["WebhookDeps", "dispatch_outbox_once", "register_webhook_tasks"]

log = get_logger("reelhouse.worker.webhooks")

# For failures of our own (the database went away), not of the endpoint: those are recorded and
# retried as new jobs. A retry of the same job keeps its place in its lock's queue.
_INTERNAL_RETRY = procrastinate.RetryStrategy(max_attempts=10, exponential_wait=2)


async def dispatch_outbox_once(deps: WebhookDeps) -> int:
    """Dispatch every undelivered outbox event, a batch per transaction; returns how many."""
    total = 0
    while True:
        async with deps.sessions.begin() as session:
            count = await dispatch_batch(session, now=deps.clock())
        total += count
        if count == 0:
            break
    if total:
        log.info("webhooks.dispatched", events=total)
    return total


def register_webhook_tasks(app: procrastinate.App, deps: WebhookDeps) -> None:
    """Register the dispatcher (periodic, every 5 s) and the delivery task on ``app``."""

    @app.periodic(cron="* * * * * */5", periodic_id="dispatch_outbox")
    @app.task(name=DISPATCH_OUTBOX, queueing_lock=DISPATCH_OUTBOX, pass_context=False)
    async def dispatch_outbox(timestamp: int = 0) -> None:
        await dispatch_outbox_once(deps)

    @app.task(name=DELIVER_WEBHOOK, retry=_INTERNAL_RETRY, pass_context=False)
    async def deliver_webhook(delivery_id: int) -> None:
        await deliver(deps, delivery_id)
