"""REST in, Java gateway, gRPC, vLLM, answer out — driven by the official openai package."""
from __future__ import annotations

import grpc
import httpx
import openai
import pytest
from tianshu.inference.v1 import inference_pb2 as ipb
from tianshu.inference.v1 import inference_pb2_grpc as ipb_grpc

from conftest import MODEL

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
_FINISH = {ipb.FINISH_REASON_STOP: "stop", ipb.FINISH_REASON_LENGTH: "length"}


@pytest.fixture(scope="module")
def engine_answer(stack) -> tuple[str, str]:
    """The engine's own greedy answer to QUESTION, asked straight over gRPC: what the gateway
    must relay. (Not a fixed "Paris": in bfloat16 the small default model's greedy text depends
    on the CPU's bfloat16 kernels, AVX-512 or AMX.)"""
    with grpc.insecure_channel(stack.inference_target) as channel:
        response = ipb_grpc.InferenceServiceStub(channel).Generate(ipb.GenerateRequest(generation=ipb.Generation(
            model=MODEL, messages=[ipb.ChatMessage(role="user", content=QUESTION[0]["content"])],
            sampling=ipb.SamplingParams(temperature=0, max_tokens=32))), timeout=120)
    choice = response.choices[0]
    assert len(choice.text.split()) >= 3, "the engine should answer in words"
    return choice.text, _FINISH[choice.finish_reason]


def test_chat_completion_returns_the_engines_answer_whole(client, engine_answer):
    completion = client.chat.completions.create(model=MODEL, messages=QUESTION, temperature=0, max_tokens=32)

    choice = completion.choices[0]
    assert (choice.message.content, choice.finish_reason) == engine_answer
    assert choice.message.role == "assistant"
    assert completion.model == MODEL
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


def test_streamed_chat_arrives_in_chunks_and_ends_with_a_finish_reason(client, engine_answer):
    stream = client.chat.completions.create(model=MODEL, messages=QUESTION, temperature=0, max_tokens=32,
                                            stream=True, stream_options={"include_usage": True})
    chunks = list(stream)

    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    usage = chunks[-1].usage
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 2
    assert (content, finishes) == (engine_answer[0], [engine_answer[1]])
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_stream_and_unary_agree_under_greedy_decoding(client):
    whole = client.chat.completions.create(model=MODEL, messages=QUESTION, temperature=0, max_tokens=32)
    streamed = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model=MODEL, messages=QUESTION, temperature=0, max_tokens=32, stream=True) if c.choices)

    assert streamed == whole.choices[0].message.content


def test_calls_without_a_valid_api_key_are_401(stack, client):
    keyless = openai.OpenAI(base_url=f"{stack.gateway_url}/v1", api_key="tsk_not-a-real-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        keyless.chat.completions.create(model=MODEL, messages=QUESTION)
    response = httpx.post(f"{stack.gateway_url}/v1/chat/completions", json={"model": MODEL, "messages": QUESTION})
    assert response.status_code == 401
    assert response.json()["error"]["message"]


def test_embeddings_through_the_gateway(client):
    result = client.embeddings.create(model="all-minilm-l6-v2", input=["A cat sits on the mat.", "Stock markets fell."])

    assert [d.index for d in result.data] == [0, 1]
    assert all(len(d.embedding) == 384 for d in result.data)
    assert result.usage.prompt_tokens > 0


def test_legacy_completions_through_the_gateway(client):
    completion = client.completions.create(model=MODEL, prompt="The capital of France is", max_tokens=8,
                                           temperature=0)

    assert completion.choices[0].text.strip()
    assert completion.usage.completion_tokens > 0


def test_models_lists_the_served_model(client):
    assert MODEL in [m.id for m in client.models.list().data]


def test_unknown_model_is_404_with_an_openai_error(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-9", messages=QUESTION)

    assert "gpt-9" in caught.value.body["message"]


@pytest.mark.parametrize("body, param", [
    ({"model": MODEL}, "messages"),
    ({"model": MODEL, "messages": "hello"}, "messages"),
    ({"model": MODEL, "messages": QUESTION, "max_tokens": -1}, "max_tokens"),
    ({"model": MODEL, "messages": QUESTION, "temperature": "hot"}, "temperature"),
])
def test_bad_requests_are_400_naming_the_parameter(stack, auth, body, param):
    response = httpx.post(f"{stack.gateway_url}/v1/chat/completions", json=body, headers=auth, timeout=30)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert param in (error.get("param") or "") + error["message"]


def test_malformed_json_is_400(stack, auth):
    response = httpx.post(f"{stack.gateway_url}/v1/chat/completions", content=b'{"model": ',
                          headers={"Content-Type": "application/json", **auth}, timeout=30)

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_gateway_answers_503_when_the_inference_service_is_down(stack, tmp_path):
    import localstack

    # A second gateway on the same database, pointed at a port where nothing listens.
    lonely = localstack.Stack(log_dir=tmp_path, inference_port=localstack.free_port(),
                              gateway_port=localstack.free_port(), postgres_port=stack.postgres_port)
    lonely.admin_key_file.write_text(stack.admin_key())
    try:
        lonely.wait_gateway(lonely.start_gateway())
        response = httpx.post(f"{lonely.gateway_url}/v1/chat/completions", json={"model": MODEL, "messages": QUESTION},
                              headers={"Authorization": f"Bearer {lonely.admin_key()}"}, timeout=30)
    finally:
        lonely.stop_all()

    assert response.status_code == 503
    assert response.json()["error"]["message"]
