"""What Python's cyclic garbage collector walks in a long-running service, and how long it stops.

A full collection (generation 2) walks every container object the process holds, and holds
the interpreter while it does: in a service that is mostly what it built at start (modules,
gRPC and protobuf descriptors, pools, a model's Python side), none of which ever becomes
garbage. Measured in the RAG service during another tenant's bulk ingestion: 35-97 ms per full
collection, a few a minute, during which its event loop answered no search. Collecting once
when the service is ready and moving the survivors to the permanent generation (gc.freeze)
leaves later full collections only what was allocated while serving: 1-4 ms in the same run.

Every collection's pause is a histogram, `python_gc_pause_seconds{generation}`, beside
prometheus_client's own python_gc_* counters, so a tail that matches GC pauses shows as one.
"""
from __future__ import annotations

import gc
import logging
import time

from prometheus_client import Histogram

log = logging.getLogger(__name__)

GC_PAUSE_SECONDS = Histogram(
    "python_gc_pause_seconds", "Time one run of the cyclic garbage collector held the interpreter, by generation",
    ["generation"], buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1))

# The collector runs under the interpreter lock in one thread at a time: one start time suffices.
_started = 0.0


def _time_collection(phase: str, info: dict) -> None:
    global _started
    if phase == "start":
        _started = time.perf_counter()
    else:
        GC_PAUSE_SECONDS.labels(str(info["generation"])).observe(time.perf_counter() - _started)


def measure_pauses() -> None:
    """Records every collection's pause from now on (once per process, however often called)."""
    if _time_collection not in gc.callbacks:
        gc.callbacks.append(_time_collection)


def freeze_startup_objects() -> int:
    """Collects what start-up left as garbage, then takes the survivors out of every later
    collection; returns how many objects were frozen. Call once the service is ready: objects
    frozen are never collected, so anything built to be thrown away must be gone by then."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("startup objects frozen out of garbage collection", extra={"objects": frozen})
    return frozen
