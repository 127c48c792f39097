"""The order in which the embedding model reads texts (embed_queue.py), without a model."""
from __future__ import annotations

from tianshu_inference.embed_queue import EmbedCall, EmbedPriority, EmbedQueue

BATCH, INTERACTIVE = EmbedPriority.BATCH, EmbedPriority.INTERACTIVE


def _call(tenant: str, count: int, priority=BATCH, done=None) -> EmbedCall:
    return EmbedCall([f"{tenant}-{i}" for i in range(count)], priority, tenant,
                     done.append if done is not None else lambda call: None)


def _texts(parts) -> list[str]:
    return [t for p in parts for t in p.texts]


def _finish(queue: EmbedQueue, parts) -> None:
    texts = _texts(parts)
    queue.finish(parts, [[float(len(t))] for t in texts], [len(t) for t in texts])


def test_the_lanes_are_apart_and_bulk_calls_are_read_in_steps():
    queue = EmbedQueue(step_texts=4)
    queue.add(_call("a", 10))
    assert queue.take(INTERACTIVE) == []
    assert _texts(queue.take(BATCH)) == ["a-0", "a-1", "a-2", "a-3"]
    queue.add(_call("q", 1, INTERACTIVE))
    assert _texts(queue.take(INTERACTIVE)) == ["q-0"]
    assert _texts(queue.take(BATCH)) == ["a-4", "a-5", "a-6", "a-7"]
    assert queue.waiting_texts(BATCH) == 2 and queue.waiting_texts(INTERACTIVE) == 0


def test_small_interactive_calls_share_a_step_oldest_first():
    queue = EmbedQueue(step_texts=4)
    for name in ("q1", "q2", "q3"):
        queue.add(_call(name, 2, INTERACTIVE))
    assert _texts(queue.take(INTERACTIVE)) == ["q1-0", "q1-1", "q2-0", "q2-1"]
    assert _texts(queue.take(INTERACTIVE)) == ["q3-0", "q3-1"]
    assert queue.take(INTERACTIVE) == []


def test_tenants_take_turns_among_bulk_calls():
    queue = EmbedQueue(step_texts=2)
    for _ in range(3):
        queue.add(_call("big", 4))
    queue.add(_call("small", 4))
    order = []
    while parts := queue.take(BATCH):
        order.append({p.call.tenant for p in parts})
    # One step each in turn: the small tenant's call ends after 4 steps, not after the big one's 12 texts.
    assert order[:4] == [{"big"}, {"small"}, {"big"}, {"small"}]
    assert len(order) == 8


def test_a_step_is_filled_across_tenants_when_a_call_runs_out():
    queue = EmbedQueue(step_texts=4)
    queue.add(_call("a", 1))
    queue.add(_call("b", 5))
    assert [(p.call.tenant, p.start, p.end) for p in queue.take(BATCH)] == [("a", 0, 1), ("b", 0, 3)]


def test_results_come_back_to_each_call_in_its_own_order():
    done: list[EmbedCall] = []
    queue = EmbedQueue(step_texts=3)
    first, second = _call("x", 2, INTERACTIVE, done), _call("yy", 2, INTERACTIVE, done)
    queue.add(first)
    queue.add(second)
    _finish(queue, queue.take(INTERACTIVE))
    assert done == [first]
    _finish(queue, queue.take(INTERACTIVE))
    assert done == [first, second]
    assert second.vectors == [[4.0], [4.0]]
    assert second.tokens == 8


def test_a_failed_step_fails_its_calls_and_drops_their_waiting_texts():
    done: list[EmbedCall] = []
    queue = EmbedQueue(step_texts=2)
    call = _call("a", 5, BATCH, done)
    queue.add(call)
    parts = queue.take(BATCH)
    queue.fail(parts, RuntimeError("model crashed"))
    assert done == [call] and str(call.error) == "model crashed"
    assert queue.take(BATCH) == []
    assert queue.waiting_texts(BATCH) == 0


def test_a_dropped_call_leaves_nothing_to_read():
    queue = EmbedQueue(step_texts=2)
    gone, kept = _call("a", 6), _call("b", 2)
    queue.add(gone)
    queue.add(kept)
    queue.take(BATCH)
    assert queue.waiting_texts(BATCH) == 6
    queue.drop(gone)
    assert queue.waiting_texts(BATCH) == 2
    assert {p.call.tenant for p in queue.take(BATCH)} == {"b"}
