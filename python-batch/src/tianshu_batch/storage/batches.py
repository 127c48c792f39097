"""Batches, their lines and their status history in PostgreSQL. Every status change goes
through transition(), which checks it against the state machine under the batch's row lock
and records it with its time and reason, in the same transaction as the change it causes
on the lines. A line's result is written once: its outcome leaves 'pending' exactly once."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import psycopg
from psycopg.rows import class_row, dict_row
from psycopg.types.json import Jsonb
from tianshu_grpc_server.errors import NotFound

from .. import states
from ..lines import CheckedLine
from . import ledger
from .database import Database

PENDING, SUCCEEDED, FAILED, CANCELLED, EXPIRED = "pending", "succeeded", "failed", "cancelled", "expired"
# A batch's completion webhook: pending (also before the batch is final), then delivered or failed.
WEBHOOK_PENDING, WEBHOOK_DELIVERED, WEBHOOK_FAILED = "pending", "delivered", "failed"
# Outcomes that put a line in the error file; cancelled lines are in neither file.
ERROR_OUTCOMES = (FAILED, EXPIRED)


@dataclass(frozen=True)
class Batch:
    id: str
    tenant_id: str
    endpoint: str
    status: str
    completion_window: str
    metadata: dict
    idempotency_key: str | None
    error: str
    request_total: int
    request_completed: int
    request_failed: int
    request_skipped: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    created_at: dt.datetime
    expires_at: dt.datetime
    in_progress_at: dt.datetime | None
    finalizing_at: dt.datetime | None
    completed_at: dt.datetime | None
    failed_at: dt.datetime | None
    cancelling_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    expired_at: dt.datetime | None
    webhook_url: str | None
    webhook_status: str | None  # None without a webhook; pending, delivered, failed
    webhook_attempts: int
    webhook_next_attempt_at: dt.datetime | None
    webhook_last_status_code: int
    webhook_last_error: str
    webhook_delivered_at: dt.datetime | None

    @property
    def pending(self) -> int:
        return self.request_total - self.request_completed - self.request_failed - self.request_skipped


@dataclass(frozen=True)
class NewBatch:
    tenant_id: str
    endpoint: str
    completion_window: str
    expires_at: dt.datetime
    metadata: dict = field(default_factory=dict)
    idempotency_key: str | None = None
    webhook_url: str | None = None


@dataclass(frozen=True)
class LineResult:
    outcome: str
    status_code: int = 0
    response: bytes | None = None  # the inference service's answer, serialized
    error_code: str = ""
    error_message: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Line:
    batch_id: str
    custom_id: str
    line_index: int
    outcome: str
    status_code: int
    response: bytes | None  # GenerateResponse or EmbedResponse (by endpoint), serialized
    error_code: str
    error_message: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    finished_at: dt.datetime | None
    endpoint: str


@dataclass(frozen=True)
class Transition:
    batch_id: str
    tenant_id: str
    from_status: str | None
    to_status: str
    reason: str
    at: dt.datetime


# Start of a line: whether the worker should run it.
RUN, ALREADY_FINISHED, NOT_RUNNABLE, UNKNOWN_LINE = "run", "already_finished", "not_runnable", "unknown_line"

TransitionListener = Callable[[list[Transition]], Awaitable[None]]
_COUNTER = {SUCCEEDED: "request_completed", FAILED: "request_failed", CANCELLED: "request_skipped",
            EXPIRED: "request_skipped"}


class BatchStore:
    def __init__(self, db: Database, listener: TransitionListener | None = None):
        self._db = db
        self._listener = listener

    # --- creation -------------------------------------------------------------------------

    async def create(self, new: NewBatch, lines: list[CheckedLine]) -> tuple[Batch, bool]:
        """Stores a VALIDATING batch with its lines; invalid lines are failed at once.
        Returns (batch, False) instead when the tenant already used the idempotency key."""
        if new.idempotency_key:
            existing = await self._by_idempotency_key(new.tenant_id, new.idempotency_key)
            if existing:
                return existing, False
        batch_id = f"batch_{uuid.uuid4().hex}"
        invalid = sum(1 for line in lines if line.request is None)
        made: list[Transition] = []
        async with self._db.pool.connection() as conn:
            try:
                async with conn.transaction():
                    await conn.execute(
                        "INSERT INTO batches (id, tenant_id, endpoint, status, completion_window, metadata, "
                        "idempotency_key, request_total, request_failed, expires_at, webhook_url, webhook_status) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (batch_id, new.tenant_id, new.endpoint, states.VALIDATING, new.completion_window,
                         Jsonb(new.metadata), new.idempotency_key, len(lines), invalid, new.expires_at,
                         new.webhook_url, WEBHOOK_PENDING if new.webhook_url else None))
                    made.append(await _record(conn, batch_id, new.tenant_id, None, states.VALIDATING,
                                              f"created with {len(lines)} lines, {invalid} invalid"))
                    async with conn.cursor().copy(
                            "COPY batch_lines (batch_id, custom_id, line_index, model, request, outcome, "
                            "status_code, error_code, error_message, finished_at) FROM STDIN") as copy:
                        now = dt.datetime.now(dt.timezone.utc)
                        for line in lines:
                            if line.request is None:
                                await copy.write_row((batch_id, line.custom_id, line.index, "", None, FAILED, 400,
                                                      "invalid_request", line.error, now))
                            else:
                                await copy.write_row((batch_id, line.custom_id, line.index, line.model,
                                                      line.request.SerializeToString(), PENDING, 0, "", "", None))
            except psycopg.errors.UniqueViolation:
                # The same key raced another call; that call's batch is the answer.
                existing = await self._by_idempotency_key(new.tenant_id, new.idempotency_key or "")
                if existing is None:
                    raise
                return existing, False
        await self._announce(made)
        return await self.find(batch_id), True

    async def _by_idempotency_key(self, tenant_id: str, key: str) -> Batch | None:
        async with self._db.pool.connection() as conn:
            cur = conn.cursor(row_factory=class_row(Batch))
            await cur.execute(SELECT_BATCHES + " WHERE tenant_id = %s AND idempotency_key = %s", (tenant_id, key))
            return await cur.fetchone()

    async def discard(self, batch_id: str) -> None:
        """Removes a batch that never got past validating (its lines could not be queued), so
        that a refused CreateBatch leaves nothing behind."""
        async with self._db.pool.connection() as conn:
            await conn.execute("DELETE FROM batches WHERE id = %s AND status = %s", (batch_id, states.VALIDATING))

    # --- reading --------------------------------------------------------------------------

    async def find(self, batch_id: str) -> Batch | None:
        async with self._db.pool.connection() as conn:
            cur = conn.cursor(row_factory=class_row(Batch))
            await cur.execute(SELECT_BATCHES + " WHERE id = %s", (batch_id,))
            return await cur.fetchone()

    async def get(self, tenant_id: str, batch_id: str) -> Batch:
        found = await self.find(batch_id)
        if found is None or found.tenant_id != tenant_id:
            raise NotFound("batch", batch_id)
        return found

    async def list(self, tenant_id: str, limit: int, after_id: str = "") -> list[Batch]:
        """Newest first; after_id continues after that batch (keyset pagination)."""
        query, params = SELECT_BATCHES + " WHERE tenant_id = %s", [tenant_id]
        if after_id:
            query += (" AND (created_at, id) < (SELECT created_at, id FROM batches "
                      "WHERE id = %s AND tenant_id = %s)")
            params += [after_id, tenant_id]
        async with self._db.pool.connection() as conn:
            cur = conn.cursor(row_factory=class_row(Batch))
            await cur.execute(query + " ORDER BY created_at DESC, id DESC LIMIT %s", (*params, limit))
            return await cur.fetchall()

    async def lines(self, tenant_id: str, batch_id: str, outcomes: tuple[str, ...], limit: int,
                    after_index: int = -1) -> list[Line]:
        await self.get(tenant_id, batch_id)
        async with self._db.pool.connection() as conn:
            cur = conn.cursor(row_factory=class_row(Line))
            await cur.execute(
                "SELECT l.batch_id, l.custom_id, l.line_index, l.outcome, l.status_code, l.response, l.error_code, "
                "l.error_message, l.prompt_tokens, l.completion_tokens, l.total_tokens, l.finished_at, b.endpoint "
                "FROM batch_lines l JOIN batches b ON b.id = l.batch_id WHERE l.batch_id = %s "
                "AND l.outcome = ANY(%s) AND l.line_index > %s ORDER BY l.line_index LIMIT %s",
                (batch_id, list(outcomes), after_index, limit))
            return await cur.fetchall()

    async def transitions(self, tenant_id: str, batch_id: str) -> list[Transition]:
        await self.get(tenant_id, batch_id)
        async with self._db.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute("SELECT batch_id, from_status, to_status, reason, at FROM batch_transitions "
                              "WHERE batch_id = %s ORDER BY id", (batch_id,))
            return [Transition(tenant_id=tenant_id, **row) for row in await cur.fetchall()]

    async def pending_items(self, batch_id: str) -> list[tuple[str, bytes]]:
        """(custom_id, serialized request) of the lines still to run, in input order."""
        async with self._db.pool.connection() as conn:
            cur = await conn.execute("SELECT custom_id, request FROM batch_lines WHERE batch_id = %s "
                                     "AND outcome = 'pending' ORDER BY line_index", (batch_id,))
            return await cur.fetchall()

    async def overdue(self) -> list[str]:
        """Batches whose completion window has passed while still open."""
        async with self._db.pool.connection() as conn:
            cur = await conn.execute("SELECT id FROM batches WHERE status = ANY(%s) AND expires_at < now()",
                                     (list(states.EXPIRABLE),))
            return [row[0] for row in await cur.fetchall()]

    # --- status changes ---------------------------------------------------------------------

    async def transition(self, batch_id: str, target: str, reason: str) -> Batch:
        """Moves the batch to `target` (IllegalTransition if the state machine forbids it),
        with what that means for its lines, and settles it if no line is left pending."""
        made: list[Transition] = []
        async with self._db.pool.connection() as conn, conn.transaction():
            batch = await _lock(conn, batch_id)
            made.append(await _move(conn, batch, target, reason))
            await _apply_to_lines(conn, batch, target, reason)
            made += await _settle(conn, batch_id)
        await self._announce(made)
        return await self.find(batch_id)

    async def start_line(self, batch_id: str, custom_id: str) -> str:
        """Marks a line started, if it may start: the batch must still be runnable. A line of
        a cancelling batch is recorded as cancelled instead, so that the batch can settle."""
        made: list[Transition] = []
        async with self._db.pool.connection() as conn, conn.transaction():
            # FOR SHARE: workers start lines side by side; a cancel (FOR UPDATE) waits for them.
            cur = await conn.execute("SELECT status, tenant_id FROM batches WHERE id = %s FOR SHARE", (batch_id,))
            found = await cur.fetchone()
            if found is None:
                return UNKNOWN_LINE
            status = found[0]
            cur = await conn.execute("SELECT outcome FROM batch_lines WHERE batch_id = %s AND custom_id = %s "
                                     "FOR UPDATE", (batch_id, custom_id))
            line = await cur.fetchone()
            if line is None:
                return UNKNOWN_LINE
            if line[0] != PENDING:
                return ALREADY_FINISHED
            if status not in states.RUNNABLE:
                if status == states.CANCELLING:
                    await _finish(conn, batch_id, custom_id, LineResult(CANCELLED, error_code="batch_cancelled"))
            else:
                await conn.execute("UPDATE batch_lines SET started_at = now(), attempts = attempts + 1 "
                                   "WHERE batch_id = %s AND custom_id = %s", (batch_id, custom_id))
                return RUN
        if status == states.CANCELLING:
            async with self._db.pool.connection() as conn, conn.transaction():
                made += await _settle(conn, batch_id)
            await self._announce(made)
        return NOT_RUNNABLE

    async def finish_line(self, batch_id: str, custom_id: str, result: LineResult) -> bool:
        """Records a line's result once, adds its counts and tokens to the batch, and settles
        the batch when it was the last pending line. False if the line had a result already."""
        async with self._db.pool.connection() as conn, conn.transaction():
            if not await _finish(conn, batch_id, custom_id, result):
                return False
            made = await _settle(conn, batch_id)
        await self._announce(made)
        return True

    async def _announce(self, made: list[Transition]) -> None:
        if made and self._listener:
            await self._listener(made)


SELECT_BATCHES = "SELECT * FROM batches"


async def _lock(conn: psycopg.AsyncConnection, batch_id: str) -> Batch:
    cur = conn.cursor(row_factory=class_row(Batch))
    await cur.execute(SELECT_BATCHES + " WHERE id = %s FOR UPDATE", (batch_id,))
    batch = await cur.fetchone()
    if batch is None:
        raise NotFound("batch", batch_id)
    return batch


async def _record(conn, batch_id: str, tenant_id: str, current: str | None, target: str, reason: str) -> Transition:
    cur = await conn.execute("INSERT INTO batch_transitions (batch_id, from_status, to_status, reason) "
                             "VALUES (%s, %s, %s, %s) RETURNING at", (batch_id, current, target, reason))
    return Transition(batch_id, tenant_id, current, target, reason, (await cur.fetchone())[0])


async def _move(conn, batch: Batch, target: str, reason: str) -> Transition:
    states.check(batch.id, batch.status, target)
    # target is one of states.ALL (checked above), so the column name is one of ours.
    error = reason if target == states.FAILED else batch.error
    await conn.execute(f"UPDATE batches SET status = %s, {target}_at = clock_timestamp(), error = %s WHERE id = %s",
                       (target, error, batch.id))
    if target in states.FINAL:
        # The completion webhook becomes due with the final status, in the same transaction.
        await conn.execute("UPDATE batches SET webhook_next_attempt_at = clock_timestamp() "
                           "WHERE id = %s AND webhook_status = %s", (batch.id, WEBHOOK_PENDING))
    return await _record(conn, batch.id, batch.tenant_id, batch.status, target, reason)


async def _apply_to_lines(conn, batch: Batch, target: str, reason: str) -> None:
    """Lines that can no longer run get their outcome with the status change."""
    if target == states.CANCELLING:
        # Lines already started finish (and are kept); the rest never start.
        outcome, code, only_unstarted = CANCELLED, "batch_cancelled", True
    elif target == states.EXPIRED:
        outcome, code, only_unstarted = EXPIRED, "batch_expired", False
    elif target == states.FAILED:
        outcome, code, only_unstarted = FAILED, "batch_failed", False
    else:
        return
    cur = await conn.execute(
        "UPDATE batch_lines SET outcome = %s, error_code = %s, error_message = %s, finished_at = clock_timestamp(), "
        "status_code = 0 WHERE batch_id = %s AND outcome = 'pending'" + (" AND started_at IS NULL" if only_unstarted
                                                                          else ""),
        (outcome, code, reason, batch.id))
    await conn.execute(f"UPDATE batches SET {_COUNTER[outcome]} = {_COUNTER[outcome]} + %s WHERE id = %s",
                       (cur.rowcount, batch.id))


async def _finish(conn, batch_id: str, custom_id: str, r: LineResult) -> bool:
    cur = await conn.execute(
        "UPDATE batch_lines SET outcome = %s, status_code = %s, response = %s, error_code = %s, error_message = %s, "
        "prompt_tokens = %s, completion_tokens = %s, total_tokens = %s, finished_at = clock_timestamp() "
        "WHERE batch_id = %s AND custom_id = %s AND outcome = 'pending' RETURNING model, finished_at",
        (r.outcome, r.status_code, r.response,
                        r.error_code, r.error_message, r.prompt_tokens, r.completion_tokens, r.total_tokens,
                        batch_id, custom_id))
    finished = await cur.fetchone()
    if finished is None:
        return False
    counter = _COUNTER[r.outcome]
    cur = await conn.execute(
        f"UPDATE batches SET {counter} = {counter} + 1, prompt_tokens = prompt_tokens + %s, "
        "completion_tokens = completion_tokens + %s, total_tokens = total_tokens + %s WHERE id = %s "
        "RETURNING tenant_id, endpoint", (r.prompt_tokens, r.completion_tokens, r.total_tokens, batch_id))
    tenant_id, endpoint = await cur.fetchone()
    if r.total_tokens:
        # Charged once: in the transaction that takes the line out of 'pending'.
        await ledger.record(conn, ledger.Usage(tenant_id, batch_id, custom_id, endpoint, finished[0],
                                               r.prompt_tokens, r.completion_tokens, finished[1]))
    return True


async def _settle(conn, batch_id: str) -> list[Transition]:
    """Once no line is pending, walks the batch to its final status."""
    batch = await _lock(conn, batch_id)
    if batch.pending > 0:
        return []
    made = []
    for target in states.settled(batch.status):
        made.append(await _move(conn, batch, target, "every line has finished"))
        batch = await _lock(conn, batch_id)
    return made
