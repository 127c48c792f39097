"""The inference service as this service uses it: embeddings, streamed generation, token
counts. The only place that talks to tianshu.inference.v1."""
from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import grpc
import numpy as np
from tianshu.inference.v1 import inference_pb2 as pb
from tianshu.inference.v1 import inference_pb2_grpc as pb_grpc

from .errors import FailedPrecondition, InvalidArgument, Relayed, ServiceError, Unavailable


@dataclass(frozen=True)
class EmbeddingModel:
    id: str
    dimension: int
    max_batch_size: int


@dataclass(frozen=True)
class GenerationUsage:
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class GeneratedText:
    """One message of a streamed generation: new text, and on the last one the usage."""
    text: str
    model: str
    usage: GenerationUsage | None = None


_REFUSALS = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND)


def _translate(error: grpc.aio.AioRpcError, what: str) -> ServiceError:
    """For calls whose arguments this service chose (the collection's embedding model): a
    refusal means the collection no longer fits the inference service."""
    code = error.code()
    if code in _REFUSALS:
        return FailedPrecondition("INFERENCE", what, f"inference service refused {what}: {error.details()}")
    return Unavailable(f"inference service failed during {what}: {code.name}: {error.details()}")


def _translate_generation(error: grpc.aio.AioRpcError, what: str) -> ServiceError:
    """For calls whose model the caller chose (generation, reranking): an unknown model
    (NOT_FOUND) or one of the wrong kind (INVALID_ARGUMENT) is the caller's mistake, so the
    inference service's own status reaches the caller as it is."""
    if error.code() in _REFUSALS:
        return Relayed.of(error)
    return _translate(error, what)


class InferenceClient:
    def __init__(self, target: str, timeout_seconds: float, max_message_bytes: int = 64 * 1024 * 1024):
        self._channel = grpc.aio.insecure_channel(target, options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes)])
        self._stub = pb_grpc.InferenceServiceStub(self._channel)
        self._timeout = timeout_seconds

    async def close(self) -> None:
        await self._channel.close()

    async def embedding_model(self, model_id: str) -> EmbeddingModel:
        try:
            listed = await self._stub.ListModels(pb.ListModelsRequest(), timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            raise _translate(error, "ListModels") from error
        served = {m.id: m for m in listed.models if m.kind == pb.MODEL_KIND_EMBED}
        if model_id not in served:
            raise InvalidArgument("embedding_model", f"{model_id!r} is not an embedding model of the "
                                                     f"inference service (served: {sorted(served)})")
        found = served[model_id]
        return EmbeddingModel(found.id, found.dimension, found.max_batch_size or 256)

    async def embed(self, model_id: str, texts: Sequence[str], tenant_id: str = "",
                    bulk: bool = False) -> list[np.ndarray]:
        """bulk: ingestion, read by the model after every waiting search query (EmbedRequest.priority)."""
        priority = pb.PRIORITY_BATCH if bulk else pb.PRIORITY_INTERACTIVE
        try:
            response = await self._stub.Embed(pb.EmbedRequest(model=model_id, texts=list(texts), tenant_id=tenant_id,
                                                               priority=priority), timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            raise _translate(error, "Embed") from error
        return [np.asarray(e.values, dtype=np.float32) for e in response.embeddings]

    async def rerank(self, model_id: str, query: str, documents: Sequence[str], top_n: int,
                     tenant_id: str = "") -> list[tuple[int, float]]:
        """(index into documents, relevance score), best first, top_n of them. A model the
        inference service cannot rerank with is the caller's (or its collection's) choice: the
        refusal reaches the caller as the inference service worded it."""
        try:
            response = await self._stub.Rerank(pb.RerankRequest(
                model=model_id, query=query, documents=list(documents), top_n=top_n, tenant_id=tenant_id,
                priority=pb.PRIORITY_INTERACTIVE), timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            raise _translate_generation(error, "Rerank") from error
        return [(r.index, r.relevance_score) for r in response.results]

    async def count_tokens(self, model_id: str, messages: Sequence[tuple[str, str]]) -> tuple[int, int]:
        """Tokens of a chat as the generation model will see it, and its context length."""
        try:
            response = await self._stub.Tokenize(pb.TokenizeRequest(
                model=model_id, messages=[pb.ChatMessage(role=r, content=c) for r, c in messages]),
                timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            raise _translate_generation(error, "Tokenize") from error
        return response.token_count, response.context_length

    async def generate_stream(self, model_id: str, messages: Sequence[tuple[str, str]], max_tokens: int,
                              tenant_id: str = "", request_id: str = "") -> AsyncIterator[GeneratedText]:
        generation = pb.Generation(
            model=model_id, messages=[pb.ChatMessage(role=r, content=c) for r, c in messages],
            # Greedy: answers over the same context should not vary from call to call.
            sampling=pb.SamplingParams(max_tokens=max_tokens, temperature=0.0),
            tenant_id=tenant_id, request_id=request_id)
        call = self._stub.GenerateStream(pb.GenerateStreamRequest(generation=generation), timeout=self._timeout)
        try:
            async for delta in call:
                usage = GenerationUsage(delta.usage.prompt_tokens, delta.usage.completion_tokens) \
                    if delta.HasField("usage") else None
                if delta.text or usage:
                    yield GeneratedText(delta.text, delta.model, usage)
        except grpc.aio.AioRpcError as error:
            raise _translate_generation(error, "GenerateStream") from error
        finally:
            call.cancel()
