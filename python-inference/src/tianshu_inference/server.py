"""serve(): the one place that wires settings, models, servicer and the gRPC server."""
from __future__ import annotations

import asyncio
import functools
import logging
from pathlib import Path

import uvloop
from grpc_health.v1 import health_pb2
from tianshu.inference.v1 import inference_pb2, inference_pb2_grpc
from tianshu_grpc_server import json_logging
from tianshu_grpc_server.serving import build_server, serve_until_signalled

from . import metrics, model_store, onnx_encoder, sentence_encoder, validation
from .embedder import Embedder
from .engine import VllmEngine
from .onnx_encoder import OnnxBertEncoder
from .reranker import CrossEncoderReranker
from .sentence_encoder import SentenceTransformerEncoder
from .servicer import InferenceServicer
from .settings import InferenceSettings

log = logging.getLogger(__name__)
SERVICE_NAME = inference_pb2.DESCRIPTOR.services_by_name["InferenceService"].full_name


def _embedders(settings: InferenceSettings) -> list[Embedder]:
    """The default embedding model (sentence-transformers) and the Chinese one (ONNX), each
    with lanes of its own; a model whose id is "" is not served."""
    lanes = dict(max_batch=settings.embed_max_batch, step_texts=settings.embed_step_texts,
                 batch_nice=settings.embed_batch_nice, workers=settings.embed_workers)
    embedders = []
    if settings.embed_model_id:
        path, device = model_store.embed_model_path(settings), sentence_encoder.torch_device()
        embedders.append(Embedder(settings.embed_model_id, lambda: SentenceTransformerEncoder(path, device),
                                  on_gpu=device == "cuda", **lanes))
    if settings.zh_embed_model_id:
        if settings.zh_embed_model_id == settings.embed_model_id:
            raise ValueError("TIANSHU_INFERENCE_ZH_EMBED_MODEL_ID must differ from TIANSHU_INFERENCE_EMBED_MODEL_ID")
        folder = model_store.zh_embed_model_path(settings)
        shared = onnx_encoder.session(folder)
        embedders.append(Embedder(settings.zh_embed_model_id, lambda: OnnxBertEncoder(folder, shared), **lanes))
    return embedders


class InferenceServer:
    """The gRPC server and the models behind it, with an orderly start and stop."""

    def __init__(self, settings: InferenceSettings):
        self.settings = settings
        limits = validation.Limits(
            max_prompt_bytes=settings.max_prompt_bytes, max_choices=settings.max_choices,
            max_logprobs=settings.max_logprobs, max_waiting=settings.max_waiting_requests,
            max_embed_chars=settings.embed_max_text_chars)
        self.servicer = InferenceServicer(limits)
        add_servicer = functools.partial(inference_pb2_grpc.add_InferenceServiceServicer_to_server, self.servicer)
        # Pings every 30 s, even on a stream with nothing to send yet: long generations keep
        # their connection, and a connection whose caller has gone is found.
        self.grpc = build_server(SERVICE_NAME, add_servicer, metrics.REQUESTS, f"{settings.host}:{settings.port}",
                                 settings.max_message_bytes,
                                 options=[("grpc.keepalive_time_ms", 30_000), ("grpc.http2.max_pings_without_data", 0)])
        self.server, self.port = self.grpc.server, self.grpc.port
        self.engine: VllmEngine | None = None
        # The embedding models served, the default (embed_model_id) first.
        self.embedders: list[Embedder] = []
        self.reranker: CrossEncoderReranker | None = None
        self._stopped = False

    async def start(self) -> None:
        """Starts answering health checks at once (NOT_SERVING), then loads the models."""
        await self.grpc.start_not_serving()
        model_path = await asyncio.to_thread(model_store.chat_model_path, self.settings)
        log.info("starting engine", extra={"model": str(model_path)})
        self.engine = await asyncio.to_thread(VllmEngine, self.settings, model_path)
        self.embedders = await asyncio.to_thread(_embedders, self.settings)
        if self.settings.rerank_model_path:
            self.reranker = await asyncio.to_thread(
                CrossEncoderReranker, self.settings.rerank_model_id, Path(self.settings.rerank_model_path),
                self.settings.rerank_max_documents)
            self.servicer.attach_reranker(self.reranker)
        self.servicer.attach(self.engine, self.embedders)
        if self.settings.metrics_port:
            metrics.serve_http(self.settings.metrics_port, self.engine.load)
        await self.grpc.set_health(health_pb2.HealthCheckResponse.SERVING)
        log.info("serving", extra={"port": self.port, "model": self.settings.model_id})

    @property
    def embedder(self) -> Embedder | None:
        """The default embedding model's embedder."""
        return next((e for e in self.embedders if e.card.id == self.settings.embed_model_id), None)

    async def stop(self) -> None:
        """Health first (so balancers drain us), then refuse new calls, give in-flight
        ones the grace period, cancel the rest (which aborts them in the engine)."""
        if self._stopped:
            return
        self._stopped = True
        await self.grpc.set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.stop(self.settings.shutdown_grace_seconds)
        for embedder in self.embedders:
            embedder.shutdown()
        if self.reranker:
            self.reranker.shutdown()
        if self.engine:
            self.engine.shutdown()
        log.info("stopped")


async def serve(settings: InferenceSettings) -> None:
    await serve_until_signalled(InferenceServer(settings))


def main() -> None:
    settings = InferenceSettings()
    json_logging.configure(settings.log_level, "tianshu-inference")
    # The loop runs a callback per token of every stream (vLLM's output handler, then the gRPC
    # write); libuv's loop costs less per callback than asyncio's own. vLLM's server runs on
    # it too (through uvicorn), so the benchmark against it compares like with like.
    uvloop.run(serve(settings))


if __name__ == "__main__":
    main()
