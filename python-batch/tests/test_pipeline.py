"""The pipelined consume loop against the real broker: a slow record holds one slot, not the
whole worker, and the committed offset never passes a record still being handled."""
import asyncio
import uuid

from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from tianshu_batch.consuming import Pipeline, consumer


async def wait_for(predicate, what: str, timeout: float = 60):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"still waiting for {what}"
        await asyncio.sleep(0.05)


def topic_of(kafka_bootstrap: str, records: int) -> tuple[str, str]:
    """A new one-partition topic holding the values 0..records-1, and a new group's name."""
    topic, group = f"pipeline-{uuid.uuid4().hex[:8]}", f"pipeline-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(topic, 1, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    for i in range(records):
        producer.send(topic, value=str(i).encode())
    producer.flush()
    producer.close()
    return topic, group


async def wait_committed(reader, topic: str, offset: int, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (committed := await asyncio.to_thread(reader.committed, TopicPartition(topic, 0))) != offset:
        assert asyncio.get_running_loop().time() < deadline, f"committed {committed}, waiting for {offset}"
        await asyncio.sleep(0.05)


async def test_a_slow_record_holds_its_slot_and_the_commit_but_not_the_others(kafka_bootstrap):
    topic, group = topic_of(kafka_bootstrap, 12)

    release_slow, handled = asyncio.Event(), []

    async def handle(record):
        if record.value == b"1":
            await release_slow.wait()
        handled.append(int(record.value))

    kafka = consumer(kafka_bootstrap, group, 1)
    stopping = asyncio.Event()
    run = asyncio.create_task(Pipeline(kafka, topic, handle, concurrency=3, retry_seconds=0.05,
                                       commit_timeout_seconds=10).run(stopping))
    reader = consumer(kafka_bootstrap, group, 1)  # reads the group's committed offset
    try:
        await wait_for(lambda: len(handled) == 11, "every record but the slow one")
        assert 1 not in handled  # with rounds, records after the slow one would wait for it
        await wait_committed(reader, topic, 1)  # record 0 is done: the commit moves to the slow record...
        await asyncio.sleep(0.5)  # ...and no further, however long it stays there
        assert await asyncio.to_thread(reader.committed, TopicPartition(topic, 0)) == 1

        release_slow.set()
        await wait_for(lambda: len(handled) == 12, "the slow record")
        await wait_committed(reader, topic, 12)
    finally:
        stopping.set()
        release_slow.set()
        await run
        await asyncio.to_thread(kafka.close, False)
        await asyncio.to_thread(reader.close, False)
    assert sorted(handled) == list(range(12))


async def test_a_failing_record_is_tried_again_and_holds_the_commit_until_it_succeeds(kafka_bootstrap):
    topic, group = topic_of(kafka_bootstrap, 3)

    failures, done = {"left": 3}, []

    async def handle(record):
        if record.value == b"0" and failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("the database is away")
        done.append(int(record.value))

    kafka = consumer(kafka_bootstrap, group, 1)
    stopping = asyncio.Event()
    run = asyncio.create_task(Pipeline(kafka, topic, handle, concurrency=2, retry_seconds=0.05,
                                       commit_timeout_seconds=10).run(stopping))
    reader = consumer(kafka_bootstrap, group, 1)
    try:
        await wait_for(lambda: 0 in done, "the failing record to succeed")
        await wait_committed(reader, topic, 3)
    finally:
        stopping.set()
        await run
        await asyncio.to_thread(kafka.close, False)
        await asyncio.to_thread(reader.close, False)
    assert sorted(done) == [0, 1, 2] and failures["left"] == 0
