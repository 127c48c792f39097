"""Completion webhooks against a real HTTP receiver (http.server in a thread) that checks the
signature with the shared secret: failures are retried with backoff until one is accepted,
a receiver that never accepts leaves the delivery FAILED with its reason, and bad URLs are
refused at CreateBatch."""
import asyncio
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest
from conftest import WEBHOOK_SECRET, wait_final
from typed_lines import chat_line
from tianshu.jobs.v1 import jobs_pb2 as pb

from tianshu_batch.protos import completion_payload
from tianshu_batch.storage.webhooks import WebhookStore
from tianshu_batch.webhooks.delivery import WebhookSender

CHAT = pb.ENDPOINT_CHAT_COMPLETIONS


class Receiver:
    """Answers each POST with the next planned reply: an HTTP status, or "hang" (no answer
    until the test ends, so that the sender's timeout fires); 200 once the plan is used up."""

    def __init__(self, plan: list):
        self.plan, self.calls, self.release = list(plan), [], threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                reply = receiver.plan.pop(0) if receiver.plan else 200
                receiver.calls.append({"reply": reply, "body": body, "headers": dict(self.headers),
                                       "signed": _signed(body, self.headers.get("X-Tianshu-Signature", ""))})
                if reply == "hang":
                    receiver.release.wait(60)
                    return
                self.send_response(reply)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/batches"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _signed(body: bytes, header: str) -> bool:
    """The receiver's own check, written from the documented contract."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(WEBHOOK_SECRET.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"]) and abs(time.time() - int(fields["t"])) < 300


@pytest.fixture
def receiver_factory():
    made = []

    def make(plan):
        made.append(Receiver(plan))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


async def wait_webhook_settled(stub, tenant, batch_id, timeout=120) -> pb.Batch:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        batch = (await stub.GetBatch(pb.GetBatchRequest(tenant_id=tenant, batch_id=batch_id))).batch
        if batch.webhook.status != pb.WEBHOOK_STATUS_PENDING:
            return batch
        assert asyncio.get_running_loop().time() < deadline, f"webhook still pending: {batch.webhook}"
        await asyncio.sleep(0.1)


async def test_a_webhook_failing_three_times_is_delivered_once_on_the_fourth_attempt(stub, tenant,
                                                                                      receiver_factory):
    receiver = receiver_factory([503, 500, "hang"])
    created = (await stub.CreateBatch(pb.CreateBatchRequest(
        tenant_id=tenant, endpoint=CHAT, lines=[chat_line("w1", "Say yes.", max_tokens=4)],
        webhook_url=receiver.url))).batch
    assert created.webhook.url == receiver.url and created.webhook.status == pb.WEBHOOK_STATUS_PENDING
    assert created.webhook.attempts == 0 and not created.webhook.HasField("next_attempt_at")
    final = await wait_final(stub, tenant, created.batch_id)
    batch = await wait_webhook_settled(stub, tenant, created.batch_id)

    assert batch.webhook.status == pb.WEBHOOK_STATUS_DELIVERED
    assert batch.webhook.attempts == 4 and batch.webhook.last_status_code == 200
    assert batch.webhook.last_error == "" and batch.webhook.delivered_at.seconds > 0
    assert not batch.webhook.HasField("next_attempt_at")
    assert [call["reply"] for call in receiver.calls] == [503, 500, "hang", 200]
    assert all(call["signed"] for call in receiver.calls)
    accepted = receiver.calls[-1]
    assert accepted["headers"]["Content-Type"] == "application/json"
    assert accepted["headers"]["X-Tianshu-Delivery"] == created.batch_id
    payload = json.loads(accepted["body"])
    assert payload["batchId"] == created.batch_id and payload["status"] == "BATCH_STATUS_COMPLETED"
    assert payload["requestCounts"]["completed"] == 1 == final.request_counts.completed
    assert "webhook" not in payload
    assert len({call["body"] for call in receiver.calls}) == 1  # every attempt sends the same body
    await asyncio.sleep(0.5)  # a second POST would show up here; none may come after the 2xx
    assert len(receiver.calls) == 4


async def test_a_receiver_that_never_accepts_leaves_the_webhook_failed_with_the_reason(stub, tenant,
                                                                                       receiver_factory,
                                                                                       batch_server):
    receiver = receiver_factory([503] * 100)
    created = (await stub.CreateBatch(pb.CreateBatchRequest(  # no valid line: FAILED at once
        tenant_id=tenant, endpoint=CHAT, lines=[pb.InputLine(custom_id="x")],
        webhook_url=receiver.url))).batch
    assert created.status == pb.BATCH_STATUS_FAILED
    batch = await wait_webhook_settled(stub, tenant, created.batch_id)

    attempts = batch_server.settings.webhook_max_attempts
    assert batch.webhook.status == pb.WEBHOOK_STATUS_FAILED
    assert batch.webhook.attempts == attempts == len(receiver.calls)
    assert batch.webhook.last_status_code == 503 and "HTTP 503" in batch.webhook.last_error
    assert not batch.webhook.HasField("delivered_at") and not batch.webhook.HasField("next_attempt_at")
    assert json.loads(receiver.calls[0]["body"])["status"] == "BATCH_STATUS_FAILED"


async def test_an_unreachable_receiver_is_retried_and_fails_with_the_connection_error(stub, tenant):
    created = (await stub.CreateBatch(pb.CreateBatchRequest(
        tenant_id=tenant, endpoint=CHAT, lines=[pb.InputLine(custom_id="x")],
        webhook_url="http://127.0.0.1:9/nobody-listens"))).batch
    batch = await wait_webhook_settled(stub, tenant, created.batch_id)
    assert batch.webhook.status == pb.WEBHOOK_STATUS_FAILED
    assert batch.webhook.last_status_code == 0 and "Connect" in batch.webhook.last_error


async def test_replicas_sending_side_by_side_deliver_each_webhook_once(stub, tenant, receiver_factory,
                                                                     batch_server):
    receiver = receiver_factory([])
    replicas = [WebhookSender(batch_server.settings, WebhookStore(batch_server.db), completion_payload)
                for _ in range(2)]  # besides the server's own sender
    running = [asyncio.create_task(replica.run()) for replica in replicas]
    try:
        created = [(await stub.CreateBatch(pb.CreateBatchRequest(
            tenant_id=tenant, endpoint=CHAT, lines=[pb.InputLine(custom_id="x")],
            webhook_url=receiver.url))).batch for _ in range(6)]
        settled = [await wait_webhook_settled(stub, tenant, batch.batch_id) for batch in created]
    finally:
        for replica in replicas:
            replica.stop()
        await asyncio.gather(*running)

    assert all(b.webhook.status == pb.WEBHOOK_STATUS_DELIVERED and b.webhook.attempts == 1 for b in settled)
    delivered = sorted(call["headers"]["X-Tianshu-Delivery"] for call in receiver.calls)
    assert delivered == sorted(b.batch_id for b in created)


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "not a url", "https://example.com/" + "a" * 3000])
async def test_a_bad_webhook_url_is_refused_and_no_batch_is_made(stub, tenant, url):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.CreateBatch(pb.CreateBatchRequest(tenant_id=tenant, endpoint=CHAT, lines=[chat_line("a", "Hi")],
                                                     webhook_url=url))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "webhook_url" in refused.value.details()
    assert not (await stub.ListBatches(pb.ListBatchesRequest(tenant_id=tenant))).batches


async def test_a_batch_without_a_webhook_has_none(stub, tenant):
    created = (await stub.CreateBatch(pb.CreateBatchRequest(
        tenant_id=tenant, endpoint=CHAT, lines=[pb.InputLine(custom_id="x")]))).batch
    assert not created.HasField("webhook")
