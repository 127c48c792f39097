"""The quiet worker's step queue, on vLLM's real shared-memory message queue: a step written while
its notification is lost still reaches an idle worker at its next recheck, not vLLM's 5 s one."""
from __future__ import annotations

import threading

from vllm.distributed.device_communicators import shm_broadcast

from tianshu_inference import quiet_worker


def _writer_and_reader() -> tuple[shm_broadcast.MessageQueue, shm_broadcast.MessageQueue]:
    """One engine core (writer) and one worker (reader) of a queue, in this process."""
    writer = shm_broadcast.MessageQueue(n_reader=1, n_local_reader=1)
    handle, built = writer.export_handle(), {}

    def connect_reader():
        built["reader"] = shm_broadcast.MessageQueue.create_from_handle(handle, 0)
        built["reader"].wait_until_ready()

    thread = threading.Thread(target=connect_reader)
    thread.start()
    writer.wait_until_ready()
    thread.join()
    return writer, built["reader"]


def test_an_idle_worker_finds_a_step_whose_notification_was_lost(monkeypatch):
    # Both patched names restored after the test, whatever the patch does to them.
    monkeypatch.setattr(shm_broadcast, "SHM_READER_RECHECK_INTERVAL_MS", shm_broadcast.SHM_READER_RECHECK_INTERVAL_MS)
    monkeypatch.setattr(shm_broadcast.SpinCondition, "__init__", shm_broadcast.SpinCondition.__init__)
    quiet_worker._shorten_reader_spin(0.0)  # idle after every step: each read waits on the ping

    writer, reader = _writer_and_reader()
    assert reader._spin_condition.busy_loop_s == 0
    writer._spin_condition.notify = lambda: None  # the PUB socket dropped every ping
    waits: list[int | None] = []
    poll = reader._spin_condition.poller.poll

    def recorded_poll(timeout=None):
        waits.append(timeout)
        return poll(timeout)

    reader._spin_condition.poller.poll = recorded_poll
    timer = threading.Timer(0.05, writer.enqueue, args=({"step": 1},))
    timer.start()
    try:
        assert reader.dequeue() == {"step": 1}
    finally:
        timer.cancel()

    assert waits, "the reader never went idle, so the lost ping was not exercised"
    assert all(w is not None and w <= quiet_worker.IDLE_RECHECK_MS for w in waits), waits
