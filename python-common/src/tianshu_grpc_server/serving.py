"""Runs a server until SIGINT/SIGTERM: start (models, pools), then on the signal an orderly stop."""
from __future__ import annotations

import asyncio
import logging
import signal
from typing import Protocol

log = logging.getLogger(__name__)


class Stoppable(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


async def serve_until_signalled(server: Stoppable) -> None:
    """A signal during a slow start (models loading) stops at once instead of after it."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    starting = asyncio.create_task(server.start())
    await asyncio.wait([starting, asyncio.create_task(stopping.wait())], return_when=asyncio.FIRST_COMPLETED)
    if starting.done() and starting.exception():
        await server.stop()
        raise starting.exception()
    await stopping.wait()
    log.info("stop signal received; draining")
    starting.cancel()
    await server.stop()
