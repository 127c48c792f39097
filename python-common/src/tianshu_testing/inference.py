"""A real inference server (vLLM on CPU with the default model, and the real embedding model)
for the whole session, started in-process on a free port as serve() starts it (60-120 s).
tianshu_inference is imported only when a test asks for it: python-common does not need it."""
from __future__ import annotations

import pytest
import pytest_asyncio


@pytest.fixture(scope="session")
def inference_settings():
    """What the session's inference server runs with; a suite overrides it to test more."""
    from tianshu_inference.settings import InferenceSettings

    return InferenceSettings(port=0, metrics_port=0, shutdown_grace_seconds=2)


@pytest_asyncio.fixture(scope="session")
async def inference_server(inference_settings):
    from tianshu_inference.server import InferenceServer

    instance = InferenceServer(inference_settings)
    await instance.start()
    try:
        yield instance
    finally:
        await instance.stop()
