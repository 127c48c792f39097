"""Completion webhook deliveries in PostgreSQL. A batch with a webhook is `pending` from its
creation; its final status change sets next_attempt_at (same transaction), which makes the
delivery due. A sender claims due deliveries with FOR UPDATE SKIP LOCKED and, in the same
short transaction, pushes next_attempt_at past the attempt's lease: other replicas skip it
while it is being sent, and pick it up again only if the sender died mid-attempt. No
transaction stays open during the HTTP call (an open one would also hold the usage ledger back)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from psycopg.rows import class_row

from .batches import Batch
from .database import Database


@dataclass(frozen=True)
class Claim:
    batch: Batch
    attempt: int  # 1 for the first attempt


class WebhookStore:
    def __init__(self, db: Database):
        self._db = db

    async def claim_due(self, limit: int, lease: dt.timedelta) -> list[Claim]:
        """Takes up to `limit` due deliveries for one attempt each, counted now."""
        async with self._db.pool.connection() as conn:
            cur = conn.cursor(row_factory=class_row(Batch))
            await cur.execute(
                "UPDATE batches SET webhook_attempts = webhook_attempts + 1, "
                "webhook_next_attempt_at = clock_timestamp() + %s "
                "WHERE id IN (SELECT id FROM batches WHERE webhook_status = 'pending' "
                "             AND webhook_next_attempt_at <= clock_timestamp() "
                "             ORDER BY webhook_next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING *",
                (lease, limit))
            return [Claim(batch, batch.webhook_attempts) for batch in await cur.fetchall()]

    async def delivered(self, claim: Claim, status_code: int) -> None:
        await self._finish_attempt(claim, "webhook_status = 'delivered', webhook_delivered_at = clock_timestamp(), "
                                          "webhook_next_attempt_at = NULL, webhook_last_error = ''", status_code)

    async def retry_later(self, claim: Claim, status_code: int, error: str, delay: dt.timedelta) -> None:
        await self._finish_attempt(claim, "webhook_next_attempt_at = clock_timestamp() + %s, webhook_last_error = %s",
                                   status_code, delay, error)

    async def failed(self, claim: Claim, status_code: int, error: str) -> None:
        await self._finish_attempt(claim, "webhook_status = 'failed', webhook_next_attempt_at = NULL, "
                                          "webhook_last_error = %s", status_code, error)

    async def _finish_attempt(self, claim: Claim, assignments: str, status_code: int, *values) -> None:
        # The attempt number guards against a sender whose lease ran out: its late answer must
        # not overwrite what a newer attempt recorded.
        async with self._db.pool.connection() as conn:
            await conn.execute(
                f"UPDATE batches SET {assignments}, webhook_last_status_code = %s "
                "WHERE id = %s AND webhook_status = 'pending' AND webhook_attempts = %s",
                (*values, status_code, claim.batch.id, claim.attempt))
