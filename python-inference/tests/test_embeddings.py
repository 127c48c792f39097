"""Embed: normalized 384-dimension vectors from the real all-MiniLM-L6-v2."""
from __future__ import annotations

import math

import grpc
import pytest
from tianshu.inference.v1 import inference_pb2 as pb

from conftest import EMBED_MODEL, MODEL


def _cosine(a, b) -> float:
    return sum(x * y for x, y in zip(a, b))


async def test_embeddings_are_normalized_and_meaningful(stub):
    texts = ["A cat sits on the mat.", "A kitten is sitting on a rug.", "Quarterly revenue grew by 8%."]
    response = await stub.Embed(pb.EmbedRequest(model=EMBED_MODEL, texts=texts))

    vectors = [list(e.values) for e in response.embeddings]
    assert response.dimension == 384 and all(len(v) == 384 for v in vectors)
    assert all(math.isclose(math.sqrt(_cosine(v, v)), 1.0, rel_tol=1e-3) for v in vectors)
    assert _cosine(vectors[0], vectors[1]) > _cosine(vectors[0], vectors[2])
    assert response.usage.prompt_tokens > len(texts)


async def test_embedding_order_follows_input_order(stub):
    one = await stub.Embed(pb.EmbedRequest(model=EMBED_MODEL, texts=["alpha"]))
    both = await stub.Embed(pb.EmbedRequest(model=EMBED_MODEL, texts=["beta", "alpha"]))

    assert _cosine(one.embeddings[0].values, both.embeddings[1].values) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("request_, field", [
    (pb.EmbedRequest(model=EMBED_MODEL), "texts"),
    (pb.EmbedRequest(model=EMBED_MODEL, texts=["ok", ""]), "texts[1]"),
    (pb.EmbedRequest(model=EMBED_MODEL, texts=["x"] * 257), "texts"),
    (pb.EmbedRequest(model=MODEL, texts=["x"]), "model"),
], ids=["empty batch", "empty text", "batch over the limit", "generation model"])
async def test_bad_embed_calls_are_invalid_argument(stub, request_, field):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Embed(request_)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in caught.value.details()


async def test_unknown_embedding_model_is_not_found(stub):
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Embed(pb.EmbedRequest(model="text-embedding-3-large", texts=["x"]))

    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
