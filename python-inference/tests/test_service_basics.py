"""Health, reflection, model listing, tokens and load."""
from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from tianshu.inference.v1 import inference_pb2 as pb

from conftest import EMBED_MODEL, MODEL


async def test_health_is_serving_once_the_engine_is_ready(channel):
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "tianshu.inference.v1.InferenceService"):
        response = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_inference_service(channel):
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = [s.name async for r in responses for s in r.list_services_response.service]

    assert "tianshu.inference.v1.InferenceService" in names
    assert "grpc.health.v1.Health" in names


async def test_list_models_reports_both_models_with_limits(stub):
    models = {m.id: m for m in (await stub.ListModels(pb.ListModelsRequest())).models}

    assert models[MODEL].kind == pb.MODEL_KIND_GENERATE
    assert models[MODEL].context_length == 2048
    assert models[EMBED_MODEL].kind == pb.MODEL_KIND_EMBED
    assert models[EMBED_MODEL].dimension == 384
    assert models[EMBED_MODEL].max_batch_size > 0


async def test_tokenize_counts_with_the_chat_template(stub):
    plain = await stub.Tokenize(pb.TokenizeRequest(model=MODEL, prompt="Hello world", return_token_ids=True))
    chat = await stub.Tokenize(pb.TokenizeRequest(model=MODEL, messages=[
        pb.ChatMessage(role="user", content="Hello world")]))

    assert plain.token_count == len(plain.token_ids) > 0
    assert chat.token_count > plain.token_count, "the template adds role markers"
    assert chat.context_length == 2048


async def test_load_is_idle_between_calls(stub):
    load = await stub.GetLoad(pb.GetLoadRequest())

    assert load.serving
    assert load.running_requests == 0 and load.waiting_requests == 0
    assert 0.0 <= load.kv_cache_usage <= 1.0


async def test_get_tokenizer_hands_out_what_tokenize_counts_with(stub):
    """A caller that renders the template and encodes with what GetTokenizer returns gets
    Tokenize's very ids, for chats and for raw prompts."""
    import jinja2
    from tokenizers import Tokenizer

    definition = await stub.GetTokenizer(pb.GetTokenizerRequest(model=MODEL))
    tokenizer = Tokenizer.from_str(definition.tokenizer_json.decode())
    template = jinja2.Environment(trim_blocks=True, lstrip_blocks=True).from_string(definition.chat_template)

    assert definition.model == MODEL and definition.context_length == 2048
    assert definition.template_variables["eos_token"]
    chats = [
        [("user", "Hello!")],
        [("system", "Answer in French."), ("user", "Hi"), ("assistant", "Bonjour !"), ("user", "Merci, à bientôt.")],
        [("user", "中文的问题 🚀 and  spaces\n\ttabs <|im_end|>")],
    ]
    for chat in chats:
        messages = [{"role": role, "content": content} for role, content in chat]
        text = template.render(messages=messages, add_generation_prompt=True, **definition.template_variables)
        counted = await stub.Tokenize(pb.TokenizeRequest(model=MODEL, return_token_ids=True, messages=[
            pb.ChatMessage(role=role, content=content) for role, content in chat]))
        assert tokenizer.encode(text, add_special_tokens=False).ids == list(counted.token_ids), chat
    for prompt in ["Hello", " leading space", "Line one\nLine two\n\n"]:
        counted = await stub.Tokenize(pb.TokenizeRequest(model=MODEL, prompt=prompt, return_token_ids=True))
        assert tokenizer.encode(prompt, add_special_tokens=True).ids == list(counted.token_ids), prompt


async def test_get_tokenizer_names_what_is_wrong_with_the_model(stub):
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await stub.GetTokenizer(pb.GetTokenizerRequest(model="no-such-model"))
    with pytest.raises(grpc.aio.AioRpcError) as embedding:
        await stub.GetTokenizer(pb.GetTokenizerRequest(model=EMBED_MODEL))

    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    assert embedding.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "embedding model" in embedding.value.details()
