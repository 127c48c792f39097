"""How late a service's event loop runs what is due on it.

Every call a Python service answers is dispatched by one asyncio event loop; while that loop
runs something long (a large message parsed, thousands of rows formatted, a garbage
collection), every other call waits, and nothing in the call's own timing shows it: its
handler starts late, then runs as fast as ever. A timer due every `interval` records how
late it fired, `python_event_loop_lag_seconds`: a tail of interactive calls during bulk work
that matches the lag's tail is the loop being busy, not the work of the calls.

A timer samples: a stall longer than the interval always shows (as at least its length less
one interval), a shorter one in proportion to how often it happens.
"""
from __future__ import annotations

import asyncio

from prometheus_client import Histogram

LOOP_LAG_SECONDS = Histogram(
    "python_event_loop_lag_seconds", "How late a timer due on the event loop ran: the loop busy with other work",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))

# Ten wake-ups a second cost nothing measurable and catch every stall longer than 100 ms.
INTERVAL_SECONDS = 0.1


async def watch(interval: float = INTERVAL_SECONDS) -> None:
    """Records the loop's lag until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + interval
        await asyncio.sleep(interval)
        LOOP_LAG_SECONDS.observe(max(0.0, loop.time() - due))
