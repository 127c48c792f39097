"""The delivery loop: sends due completion webhooks, one POST per attempt, and records each
attempt's outcome. 2xx is delivered; any other answer, a timeout or a connection error is
tried again after an exponential backoff with jitter, until webhook_max_attempts, then FAILED
with the last reason. State lives in PostgreSQL (WebhookStore), so a restarted or another
replica carries on where this one stopped."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Callable

import httpx

from .. import metrics
from ..settings import BatchSettings
from ..storage.batches import Batch
from ..storage.webhooks import Claim, WebhookStore
from . import signature

log = logging.getLogger(__name__)
# Room past the attempt's own timeout before another replica may try the same delivery.
_LEASE_MARGIN = dt.timedelta(seconds=30)


def backoff_seconds(attempt: int, base: float, most: float, rng: random.Random | random.SystemRandom) -> float:
    """Wait after failed attempt number `attempt` (from 1): doubling, capped, with half of it
    random so that receivers coming back are not hit by every delivery at once."""
    ceiling = min(most, base * 2 ** (attempt - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


class WebhookSender:
    def __init__(self, settings: BatchSettings, store: WebhookStore, render: Callable[[Batch], bytes]):
        self._s, self._store, self._render = settings, store, render
        self._secret = settings.webhook_secret.get_secret_value().encode()
        # A redirect is an answer other than 2xx: following it would send the signed body elsewhere.
        self._client = httpx.AsyncClient(timeout=settings.webhook_timeout_seconds, follow_redirects=False)
        self._stopping = asyncio.Event()
        self._rng = random.SystemRandom()

    async def run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    busy = await self.deliver_due() == self._s.webhook_concurrency
                except Exception:  # noqa: BLE001 - e.g. the database is away; try again next round
                    log.exception("webhook delivery round failed")
                    busy = False
                if not busy:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), self._s.webhook_poll_seconds)
        finally:
            await self._client.aclose()

    def stop(self) -> None:
        self._stopping.set()

    async def deliver_due(self) -> int:
        """Makes one attempt at each of up to webhook_concurrency due deliveries; returns how many."""
        lease = dt.timedelta(seconds=self._s.webhook_timeout_seconds) + _LEASE_MARGIN
        claims = await self._store.claim_due(self._s.webhook_concurrency, lease)
        outcomes = await asyncio.gather(*(self._attempt(claim) for claim in claims), return_exceptions=True)
        for claim, outcome in zip(claims, outcomes):
            if isinstance(outcome, Exception):
                # Its lease runs out and the delivery is tried again (the receiver may see it twice,
                # hence the X-Tianshu-Delivery id).
                log.error("webhook attempt not recorded", extra={"batch_id": claim.batch.id}, exc_info=outcome)
        return len(claims)

    async def _attempt(self, claim: Claim) -> None:
        batch, timeout = claim.batch, self._s.webhook_timeout_seconds
        body = self._render(batch)
        headers = {"Content-Type": "application/json", "X-Tianshu-Delivery": batch.id,
                   signature.HEADER: signature.sign(self._secret, body, int(time.time()))}
        status_code, error = 0, ""
        try:
            # The whole attempt is bounded, not each read: a receiver trickling bytes is slow too.
            async with asyncio.timeout(timeout):
                response = await self._client.post(batch.webhook_url, content=body, headers=headers)
            status_code = response.status_code
            if 200 <= status_code < 300:
                await self._store.delivered(claim, status_code)
                metrics.WEBHOOK_DELIVERIES.labels("delivered").inc()
                log.info("webhook delivered", extra={"batch_id": batch.id, "attempt": claim.attempt})
                return
            error = f"the receiver answered HTTP {status_code}"
        except (TimeoutError, httpx.TimeoutException):
            error = f"no answer within {timeout:g} s"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
        if claim.attempt >= self._s.webhook_max_attempts:
            await self._store.failed(claim, status_code, f"{error} (attempt {claim.attempt}, the last)")
            metrics.WEBHOOK_DELIVERIES.labels("failed").inc()
            log.warning("webhook failed", extra={"batch_id": batch.id, "attempt": claim.attempt, "error": error})
            return
        delay = backoff_seconds(claim.attempt, self._s.webhook_retry_base_seconds, self._s.webhook_retry_max_seconds,
                                self._rng)
        await self._store.retry_later(claim, status_code, error, dt.timedelta(seconds=delay))
        metrics.WEBHOOK_DELIVERIES.labels("retried").inc()
        log.info("webhook attempt failed; retrying", extra={"batch_id": batch.id, "attempt": claim.attempt,
                                                            "error": error, "retry_in_seconds": round(delay, 2)})
