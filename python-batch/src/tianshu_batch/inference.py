"""The inference service as batch lines use it: Generate and Embed, and which of its
failures are worth a retry. The only place that talks to tianshu.inference.v1."""
from __future__ import annotations

import grpc
from tianshu.inference.v1 import inference_pb2 as pb
from tianshu.inference.v1 import inference_pb2_grpc as pb_grpc

# The service is down, overloaded, slow or restarting: the same line may well succeed later.
TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED,
                       grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.ABORTED, grpc.StatusCode.INTERNAL,
                       grpc.StatusCode.UNKNOWN, grpc.StatusCode.CANCELLED})


class InferenceFailure(Exception):
    """A call that failed; `transient` says whether trying the same line again may help."""

    def __init__(self, code: grpc.StatusCode, details: str):
        super().__init__(f"{code.name}: {details}")
        self.code, self.details = code, details

    @property
    def transient(self) -> bool:
        return self.code in TRANSIENT


class InferenceClient:
    def __init__(self, target: str, timeout_seconds: float, max_message_bytes: int = 64 * 1024 * 1024):
        self._channel = grpc.aio.insecure_channel(target, options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes)])
        self._stub = pb_grpc.InferenceServiceStub(self._channel)
        self._timeout = timeout_seconds

    async def close(self) -> None:
        await self._channel.close()

    async def generate(self, generation: pb.Generation) -> pb.GenerateResponse:
        try:
            return await self._stub.Generate(pb.GenerateRequest(generation=generation), timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            raise InferenceFailure(error.code(), error.details() or "") from error

    async def embed(self, request: pb.EmbedRequest) -> pb.EmbedResponse:
        try:
            return await self._stub.Embed(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            raise InferenceFailure(error.code(), error.details() or "") from error
