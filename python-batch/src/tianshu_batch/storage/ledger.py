"""The usage ledger: the tokens of every finished line, for the gateway to charge to tenants'
quotas exactly once by reading it with a cursor.

A bigserial alone is not a safe cursor: transactions take their numbers in one order and
commit in another, so a reader may see 7 before 6 commits and then never look back. Filtering
on the writing transaction's id (xid < xmin of the current snapshot: that transaction and every
older one have ended) is not enough either, because xids are taken at a transaction's first
write and sequence numbers later, so the two orders can disagree. Rows are therefore written
without a sequence; a reader hands sequences out, under a lock, to the rows whose transaction
has ended, in (xid, id) order, continuing after the largest one given. Every row that gets a
sequence is already committed, and no row can later get a smaller one."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from psycopg.rows import class_row

from .database import Database

# Arbitrary constant, other than the migrations' lock: serializes replicas handing out sequences.
_SEQUENCER_LOCK = 7_305_118_003


@dataclass(frozen=True)
class Usage:
    tenant_id: str
    batch_id: str
    custom_id: str
    endpoint: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    finished_at: dt.datetime


@dataclass(frozen=True)
class UsageRecord(Usage):
    sequence: int


async def record(conn, usage: Usage) -> None:
    """Adds a line's usage, inside the transaction that records the line's result."""
    await conn.execute(
        "INSERT INTO usage_ledger (tenant_id, batch_id, custom_id, endpoint, model, prompt_tokens, "
        "completion_tokens, finished_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (usage.tenant_id, usage.batch_id, usage.custom_id, usage.endpoint, usage.model, usage.prompt_tokens,
         usage.completion_tokens, usage.finished_at))


class UsageLedger:
    def __init__(self, db: Database):
        self._db = db

    async def after(self, sequence: int, limit: int) -> list[UsageRecord]:
        """Records with a sequence above `sequence`, in sequence order."""
        async with self._db.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SEQUENCER_LOCK,))
            await conn.execute(
                "WITH ended AS (SELECT id, row_number() OVER (ORDER BY xid, id) AS n FROM usage_ledger "
                "               WHERE sequence IS NULL AND xid < pg_snapshot_xmin(pg_current_snapshot())), "
                "     last AS (SELECT coalesce(max(sequence), 0) AS s FROM usage_ledger) "
                "UPDATE usage_ledger u SET sequence = last.s + ended.n FROM ended, last WHERE u.id = ended.id")
            cur = conn.cursor(row_factory=class_row(UsageRecord))
            await cur.execute(
                "SELECT sequence, tenant_id, batch_id, custom_id, endpoint, model, prompt_tokens, completion_tokens, "
                "finished_at FROM usage_ledger WHERE sequence > %s ORDER BY sequence LIMIT %s", (sequence, limit))
            return await cur.fetchall()
