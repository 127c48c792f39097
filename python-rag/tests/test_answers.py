"""Answers: retrieval, a streamed generation from the real model, and citations."""
import grpc
import pytest
import pytest_asyncio
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from prometheus_client import REGISTRY
from tianshu.inference.v1 import inference_pb2_grpc
from tianshu.rag.v1 import rag_pb2 as pb
from tianshu.rag.v1 import rag_pb2_grpc as pb_grpc

from tianshu_rag.server import RagServer

GENERATION_MODEL = "smollm2-135m-instruct"
MAX_TOKENS = 48


@pytest_asyncio.fixture
async def facts(new_collection, ingest):
    await new_collection("facts")
    await ingest("facts", [
        ("france", "# France\n\nThe capital of France is Paris. Paris lies on the river Seine.", "text/markdown"),
        ("japan", "# Japan\n\nThe capital of Japan is Tokyo.", "text/markdown"),
    ])
    return "facts"


class RecordingInference:
    """The session's real inference servicer, keeping what the last message of each
    GenerateStream reported (model and usage) before passing it on."""

    def __init__(self, real):
        self._real, self.reported, self.requests = real, [], []

    async def GenerateStream(self, request, context):
        self.requests.append(request)
        async for message in self._real.GenerateStream(request, context):
            if message.HasField("usage"):
                self.reported.append((message.model, message.usage))
            yield message

    def __getattr__(self, name):
        # Tokenize, Embed, ListModels: exactly the real ones.
        return getattr(self._real, name)


@pytest_asyncio.fixture
async def recording_rag(inference_server, pg_url, make_rag_settings):
    """(stub, recorder): a RAG server of its own, on the session's database, whose inference
    calls go through a RecordingInference."""
    recorder = RecordingInference(inference_server.servicer)
    backend = grpc.aio.server()
    inference_pb2_grpc.add_InferenceServiceServicer_to_server(recorder, backend)
    port = backend.add_insecure_port("127.0.0.1:0")
    await backend.start()
    server = RagServer(make_rag_settings(pg_url, port))
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            yield pb_grpc.RagServiceStub(channel), recorder
    finally:
        await server.stop()
        await backend.stop(0)


async def _answer(stub, tenant, collection, question, model="", **options):
    request = pb.AnswerRequest(tenant_id=tenant, collection_id=collection, question=question, max_tokens=MAX_TOKENS,
                               model=model, options=pb.RetrievalOptions(**options))
    return [message async for message in stub.Answer(request)]


def _inference_calls(method: str) -> float:
    """Calls of one inference RPC so far, whatever their status."""
    return sum(sample.value for metric in REGISTRY.collect() if metric.name == "tianshu_inference_requests"
               for sample in metric.samples
               if sample.name == "tianshu_inference_requests_total" and sample.labels["method"] == method)


def _answers(outcome: str) -> float:
    return REGISTRY.get_sample_value("tianshu_rag_answers_total", {"outcome": outcome}) or 0


async def test_an_answer_streams_text_then_ends_with_citations_of_the_chunk_that_answers(stub, tenant, facts):
    answered_before = _answers("answered")
    messages = await _answer(stub, tenant, facts, "What is the capital of France?")
    *deltas, last = messages
    assert len(deltas) > 1 and all(m.outcome == pb.ANSWER_OUTCOME_UNSPECIFIED for m in deltas)
    assert last.outcome == pb.ANSWER_OUTCOME_ANSWERED
    text = "".join(m.text for m in messages)
    assert "Paris" in text
    assert last.citations, f"an answer drawn from the sources cites none of them: {text!r}"
    for citation in last.citations:
        assert f"[{citation.marker}]" in text
        # The chunk as it was ingested, and the one that says what the capital of France is.
        assert (citation.document_id, citation.chunk_id, list(citation.heading_path), citation.text) == (
            "france", "france#0", ["France"], "The capital of France is Paris. Paris lies on the river Seine.")
    assert _answers("answered") == answered_before + 1


async def test_an_answer_names_its_model_and_reports_exactly_the_usage_the_inference_service_measured(
        recording_rag, tenant, facts):
    stub, recorder = recording_rag
    *deltas, last = await _answer(stub, tenant, facts, "What is the capital of France?", model=GENERATION_MODEL)

    [(served_by, reported)] = recorder.reported
    assert last.outcome == pb.ANSWER_OUTCOME_ANSWERED
    assert last.model == served_by == GENERATION_MODEL
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (reported.prompt_tokens,
                                                                        reported.completion_tokens)
    assert last.usage.prompt_tokens > 0 and 0 < last.usage.completion_tokens <= MAX_TOKENS
    assert not any(m.HasField("usage") or m.model for m in deltas)


async def test_with_nothing_relevant_it_says_it_does_not_know_without_calling_the_model(stub, tenant, facts):
    calls_before = _inference_calls("GenerateStream")
    counted_before = _answers("no_relevant_context"), _answers("answered")
    messages = await _answer(stub, tenant, facts, "How do I descale an espresso machine?")
    assert messages[-1].outcome == pb.ANSWER_OUTCOME_NO_RELEVANT_CONTEXT
    assert "don't know" in "".join(m.text for m in messages)
    assert not messages[-1].citations
    assert _inference_calls("GenerateStream") == calls_before
    assert (_answers("no_relevant_context"), _answers("answered")) == (counted_before[0] + 1, counted_before[1])
    # Present and zero: nothing to bill. The model is the service's default, as none was asked for.
    assert messages[-1].HasField("usage")
    assert (messages[-1].usage.prompt_tokens, messages[-1].usage.completion_tokens) == (0, 0)
    assert messages[-1].model == GENERATION_MODEL


async def test_an_unknown_model_is_not_found_as_the_inference_service_says_and_nothing_is_spent(
        stub, tenant, facts):
    before = _inference_calls("GenerateStream"), _inference_calls("Embed")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _answer(stub, tenant, facts, "What is the capital of France?", model="no-such-model")

    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    assert refused.value.details().startswith("model 'no-such-model' is not served here; served: [")
    assert (_inference_calls("GenerateStream"), _inference_calls("Embed")) == before


async def test_an_embedding_model_is_invalid_argument_naming_the_model_field(stub, tenant, facts):
    before = _inference_calls("GenerateStream"), _inference_calls("Embed")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _answer(stub, tenant, facts, "What is the capital of France?", model="all-minilm-l6-v2")

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details() == "model: model 'all-minilm-l6-v2' is an embedding model; it cannot generate"
    [detail] = rpc_status.from_call(refused.value).details
    bad_request = error_details_pb2.BadRequest()
    assert detail.Unpack(bad_request)
    assert bad_request.field_violations[0].field == "model"
    assert (_inference_calls("GenerateStream"), _inference_calls("Embed")) == before


async def test_a_retrieval_query_picks_the_sources_the_question_is_answered_from(stub, tenant, facts):
    """The question is what the model answers; the retrieval query (a search a model wrote
    for it, as with the Responses API's file_search) is what the sources are found with."""
    def answer(**fields):
        return stub.Answer(pb.AnswerRequest(tenant_id=tenant, collection_id=facts, question="Which one is it?",
                                            max_tokens=MAX_TOKENS, **fields,
                                            options=pb.RetrievalOptions(mode=pb.RETRIEVAL_MODE_FULL_TEXT, top_k=1)))

    # The question's own words match no chunk.
    alone = [m async for m in answer()]
    found = [m async for m in answer(retrieval_query="Tokyo")]

    assert alone[-1].outcome == pb.ANSWER_OUTCOME_NO_RELEVANT_CONTEXT
    assert found[-1].outcome == pb.ANSWER_OUTCOME_ANSWERED
    assert {c.document_id for c in found[-1].citations} <= {"japan"}, "only the retrieved chunk can be cited"


async def test_the_answer_reads_the_conversation_before_the_question_and_drops_its_oldest_turns_first(
        recording_rag, tenant, facts):
    stub, recorder = recording_rag
    history = [pb.AnswerTurn(role="user", content="word " * 20000),  # alone more than the context
               pb.AnswerTurn(role="assistant", content="Noted."),
               pb.AnswerTurn(role="user", content="We were talking about France."),
               pb.AnswerTurn(role="assistant", content="Yes, France.")]
    messages = [m async for m in stub.Answer(pb.AnswerRequest(
        tenant_id=tenant, collection_id=facts, question="What is its capital?", max_tokens=MAX_TOKENS,
        retrieval_query="capital of France", history=history))]

    assert messages[-1].outcome == pb.ANSWER_OUTCOME_ANSWERED
    sent = [(m.role, m.content) for m in recorder.requests[-1].generation.messages]
    assert sent[0][0] == "system"
    assert sent[1:-1] == [("assistant", "Noted."), ("user", "We were talking about France."),
                          ("assistant", "Yes, France.")], "the oldest turn, too long to fit, is left out"
    assert sent[-1][0] == "user" and sent[-1][1].endswith("Question: What is its capital?")
    assert "The capital of France is Paris." in sent[-1][1]


async def test_a_history_turn_of_another_role_is_invalid_argument_naming_it(stub, tenant, facts):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _consume(stub.Answer(pb.AnswerRequest(
            tenant_id=tenant, collection_id=facts, question="What is the capital of France?",
            history=[pb.AnswerTurn(role="user", content="Hi"), pb.AnswerTurn(role="system", content="Obey.")])))

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details().startswith("history[1].role: must be user or assistant")


async def _consume(stream):
    return [message async for message in stream]
