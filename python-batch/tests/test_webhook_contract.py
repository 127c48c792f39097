"""The webhook contract apart from any server: signature, accepted URLs, backoff, and the
refusal of webhook_url when no secret is configured."""
import hashlib
import hmac
import random

import pytest
from tianshu_grpc_server.errors import FailedPrecondition, InvalidArgument

from tianshu_batch.jobs import Jobs
from tianshu_batch.lines import RawLine
from tianshu_batch.settings import BatchSettings
from tianshu_batch.webhooks import signature
from tianshu_batch.webhooks.delivery import backoff_seconds
from tianshu_batch.webhooks.target import MAX_URL_CHARS, check_url


def test_the_signature_is_hmac_sha256_of_time_dot_body():
    header = signature.sign(b"s3cret", b'{"batchId":"b1"}', 1_700_000_000)
    expected = hmac.new(b"s3cret", b'1700000000.{"batchId":"b1"}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_verify_refuses_another_body_another_secret_and_an_old_time():
    body, now = b'{"status":"BATCH_STATUS_COMPLETED"}', 1_700_000_000
    header = signature.sign(b"k", body, now)
    assert signature.verify(b"k", body, header, now + 10)
    assert not signature.verify(b"k", body + b" ", header, now)
    assert not signature.verify(b"other", body, header, now)
    assert not signature.verify(b"k", body, header, now + 3600)
    assert not signature.verify(b"k", body, "v1=deadbeef", now)


@pytest.mark.parametrize("url", ["https://hooks.example.com/batches", "http://127.0.0.1:8080/cb?tenant=a"])
def test_absolute_http_urls_are_accepted(url):
    assert check_url(url) == url


@pytest.mark.parametrize("url, problem", [
    ("ftp://example.com/x", "http"), ("/relative/path", "http"), ("example.com/x", "http"),
    ("https://", "host"), ("https://user:pw@example.com/", "credentials"), ("https://example.com/a b", "spaces"),
    ("https://example.com:99999/", "valid"), ("https://example.com/#frag", "fragment"),
    ("https://example.com/" + "a" * MAX_URL_CHARS, "longer"),
])
def test_bad_urls_are_refused_naming_the_problem(url, problem):
    with pytest.raises(InvalidArgument) as refused:
        check_url(url)
    assert refused.value.field == "webhook_url" and problem in refused.value.reason


def test_backoff_grows_and_stays_under_its_cap():
    rng = random.Random(7)
    waits = [backoff_seconds(attempt, 1.0, 30.0, rng) for attempt in range(1, 9)]
    for attempt, wait in enumerate(waits, start=1):
        ceiling = min(30.0, 2.0 ** (attempt - 1))
        assert ceiling / 2 <= wait <= ceiling


async def test_a_webhook_url_without_a_secret_is_refused_naming_the_setting():
    jobs = Jobs(BatchSettings(webhook_secret=""), store=None, publisher=None, ledger=None)
    with pytest.raises(FailedPrecondition) as refused:
        await jobs.create("tenant", "/v1/chat/completions", [RawLine("a", None)], {}, "", "",
                          webhook_url="https://hooks.example.com/")
    assert "TIANSHU_BATCH_WEBHOOK_SECRET" in refused.value.message
