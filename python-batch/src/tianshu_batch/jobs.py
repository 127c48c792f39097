"""Batch jobs as the API and direct Kafka submissions see them: create (validate, store,
queue), read, cancel, results, and the completion-window sweep. Messages are built in
protos.py."""
from __future__ import annotations

import datetime as dt
import logging
import re

from tianshu.jobs.v1 import jobs_pb2 as pb
from tianshu_grpc_server.errors import FailedPrecondition, InvalidArgument, Unavailable

from . import states
from .lines import ENDPOINTS, RawLine, check_lines
from .protos import counts_proto, item, transition_proto
from .publisher import Publisher
from .settings import BatchSettings
from .storage.batches import ERROR_OUTCOMES, SUCCEEDED, Batch, BatchStore, Line, NewBatch, Transition
from .storage.ledger import UsageLedger, UsageRecord
from .topics import item_key
from .webhooks.target import check_url

log = logging.getLogger(__name__)
_WINDOW = re.compile(r"^([1-9][0-9]*)h$")


class Jobs:
    def __init__(self, settings: BatchSettings, store: BatchStore, publisher: Publisher, ledger: UsageLedger):
        self._settings, self._store, self._publisher, self._ledger = settings, store, publisher, ledger

    async def create(self, tenant_id: str, endpoint: str, lines: list[RawLine], metadata: dict[str, str],
                     completion_window: str, idempotency_key: str, webhook_url: str = "") -> Batch:
        s = self._settings
        if not tenant_id:
            raise InvalidArgument("tenant_id", "required")
        if endpoint not in ENDPOINTS:
            raise InvalidArgument("endpoint", f"one of {', '.join(ENDPOINTS)}")
        if len(metadata) > s.max_metadata_pairs:
            raise InvalidArgument("metadata", f"at most {s.max_metadata_pairs} pairs")
        window = completion_window or s.default_completion_window
        match = _WINDOW.match(window)
        if not match or int(match[1]) > s.max_completion_window_hours:
            raise InvalidArgument("completion_window", f"hours as '<n>h', at most {s.max_completion_window_hours}h")
        if webhook_url:
            check_url(webhook_url)
            if not s.webhook_secret.get_secret_value():
                raise FailedPrecondition("SETTING", "TIANSHU_BATCH_WEBHOOK_SECRET",
                                         "webhook_url needs TIANSHU_BATCH_WEBHOOK_SECRET, the key that signs "
                                         "completion webhooks, to be set on the batch service")
        checked = check_lines(endpoint, lines, s.max_lines_per_batch, s.max_line_bytes)
        expires_at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=int(match[1]))
        batch, created = await self._store.create(
            NewBatch(tenant_id, endpoint, window, expires_at, dict(metadata), idempotency_key or None,
                     webhook_url or None), checked)
        if batch.status == states.VALIDATING:
            # Also resumes a batch whose first CreateBatch died before its lines were queued.
            batch = await self._queue(batch)
        log.info("batch created" if created else "batch found by idempotency key",
                 extra={"batch_id": batch.id, "tenant_id": tenant_id, "lines": batch.request_total})
        return batch

    async def _queue(self, batch: Batch) -> Batch:
        pending = await self._store.pending_items(batch.id)
        try:
            if not pending:
                return await self._store.transition(batch.id, states.FAILED, "no valid line")
            items = [(item_key(batch.id, custom_id), item(batch, custom_id, request))
                     for custom_id, request in pending]
            try:
                await self._publisher.send_all(self._publisher.topics.items, items)
            except Exception as error:  # noqa: BLE001 - any Kafka failure refuses the call, with its reason
                # Nothing is kept: the caller retries the whole call. Lines already on Kafka then
                # belong to no batch and are skipped.
                log.exception("could not queue batch lines", extra={"batch_id": batch.id})
                await self._store.discard(batch.id)
                raise Unavailable(f"could not queue the batch's lines on Kafka ({error or type(error).__name__}); "
                                  "nothing was kept, try again") from error
            return await self._store.transition(batch.id, states.IN_PROGRESS, f"{len(items)} lines queued")
        except states.IllegalTransition:
            return await self._store.find(batch.id)  # a concurrent retry queued it first

    async def get(self, tenant_id: str, batch_id: str) -> Batch:
        return await self._store.get(tenant_id, batch_id)

    async def list(self, tenant_id: str, page_size: int, page_token: str) -> tuple[list[Batch], str]:
        if not tenant_id:
            raise InvalidArgument("tenant_id", "required")
        size = _page_size(page_size, 20, 100)
        found = await self._store.list(tenant_id, size + 1, page_token)
        return found[:size], (found[size - 1].id if len(found) > size else "")

    async def cancel(self, tenant_id: str, batch_id: str) -> Batch:
        batch = await self._store.get(tenant_id, batch_id)
        if batch.status in states.FINAL or batch.status == states.CANCELLING:
            return batch
        return await self._store.transition(batch_id, states.CANCELLING, "cancelled by the caller")

    async def results(self, tenant_id: str, batch_id: str, errors: bool, page_size: int,
                      page_token: str) -> tuple[list[Line], str]:
        size = _page_size(page_size, 1000, 10000)
        try:
            after = int(page_token) if page_token else -1
        except ValueError:
            raise InvalidArgument("page_token", "not a token this service returned") from None
        found = await self._store.lines(tenant_id, batch_id, ERROR_OUTCOMES if errors else (SUCCEEDED,),
                                        size + 1, after)
        return found[:size], (str(found[size - 1].line_index) if len(found) > size else "")

    async def transitions(self, tenant_id: str, batch_id: str) -> list[Transition]:
        return await self._store.transitions(tenant_id, batch_id)

    async def usage(self, after_sequence: int, page_size: int) -> list[UsageRecord]:
        if after_sequence < 0:
            raise InvalidArgument("after_sequence", "must not be negative")
        if page_size < 0 or page_size > 5000:
            raise InvalidArgument("page_size", "0 (meaning 500) up to 5000")
        return await self._ledger.after(after_sequence, page_size or 500)

    async def expire_overdue(self) -> None:
        for batch_id in await self._store.overdue():
            try:
                await self._store.transition(batch_id, states.EXPIRED, "completion window passed")
            except states.IllegalTransition:
                pass  # settled in between
            else:
                log.info("batch expired", extra={"batch_id": batch_id})

    async def announce(self, made: list[Transition]) -> None:
        """Publishes status changes on the events topic (PostgreSQL holds them already)."""
        for t in made:
            batch = await self._store.find(t.batch_id)
            event = pb.BatchEvent(batch_id=t.batch_id, tenant_id=t.tenant_id, transition=transition_proto(t),
                                  request_counts=counts_proto(batch))
            await self._publisher.send_best_effort(self._publisher.topics.events, t.batch_id.encode(), event)


def _page_size(requested: int, default: int, most: int) -> int:
    if requested < 0:
        raise InvalidArgument("page_size", "must not be negative")
    return min(requested or default, most)
