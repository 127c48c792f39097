"""loop_lag.py: a loop held by other work shows as lag, an idle one as next to none."""
import asyncio
import time

from tianshu_grpc_server import loop_lag


def _samples() -> list[float]:
    """The histogram's cumulative bucket counts, by upper bound."""
    return {s.labels["le"]: s.value for m in loop_lag.LOOP_LAG_SECONDS.collect() for s in m.samples
            if s.name == "python_event_loop_lag_seconds_bucket"}


async def test_a_loop_held_by_other_work_shows_as_lag_at_least_as_long_as_the_hold():
    watching = asyncio.create_task(loop_lag.watch(interval=0.01))
    await asyncio.sleep(0.05)
    before = _samples()
    time.sleep(0.3)  # a handler holding the loop: nothing else runs meanwhile
    await asyncio.sleep(0.05)
    watching.cancel()
    after = _samples()

    added = {le: after[le] - before.get(le, 0) for le in after}
    # The timer due during the hold fired at least 0.3 s less one interval late.
    assert added["+Inf"] - added["0.25"] >= 1
    assert added["+Inf"] >= 2  # and the watch went on after it


async def test_the_watch_stops_when_cancelled():
    watching = asyncio.create_task(loop_lag.watch(interval=0.01))
    await asyncio.sleep(0.03)
    watching.cancel()
    await asyncio.gather(watching, return_exceptions=True)
    assert watching.cancelled()
    count = _samples()["+Inf"]
    await asyncio.sleep(0.05)
    assert _samples()["+Inf"] == count
