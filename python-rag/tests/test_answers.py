"""Answers: retrieval, a streamed generation from the real model, and citations."""
import pytest_asyncio
from prometheus_client import REGISTRY
from tianshu.rag.v1 import rag_pb2 as pb


@pytest_asyncio.fixture
async def facts(new_collection, ingest):
    await new_collection("facts")
    await ingest("facts", [
        ("france", "# France\n\nThe capital of France is Paris. Paris lies on the river Seine.", "text/markdown"),
        ("japan", "# Japan\n\nThe capital of Japan is Tokyo.", "text/markdown"),
    ])
    return "facts"


async def _answer(stub, tenant, collection, question, **options):
    request = pb.AnswerRequest(tenant_id=tenant, collection_id=collection, question=question, max_tokens=48,
                               options=pb.RetrievalOptions(**options))
    return [message async for message in stub.Answer(request)]


def _generate_calls() -> float:
    return sum(REGISTRY.get_sample_value("tianshu_inference_requests_total", {"method": "GenerateStream", "code": c})
               or 0 for c in ("OK", "CANCELLED", "UNKNOWN", "INTERNAL"))


async def test_an_answer_streams_text_then_ends_with_citations_of_retrieved_chunks(stub, tenant, facts):
    messages = await _answer(stub, tenant, facts, "What is the capital of France?")
    *deltas, last = messages
    assert len(deltas) > 1 and all(m.outcome == pb.ANSWER_OUTCOME_UNSPECIFIED for m in deltas)
    assert last.outcome == pb.ANSWER_OUTCOME_ANSWERED
    text = "".join(m.text for m in messages)
    assert text.strip()
    retrieved = {"france#0", "japan#0"}
    for citation in last.citations:
        assert citation.chunk_id in retrieved and f"[{citation.marker}]" in text
        assert citation.text and list(citation.heading_path)


async def test_with_nothing_relevant_it_says_it_does_not_know_without_calling_the_model(stub, tenant, facts):
    calls_before = _generate_calls()
    messages = await _answer(stub, tenant, facts, "How do I descale an espresso machine?")
    assert messages[-1].outcome == pb.ANSWER_OUTCOME_NO_RELEVANT_CONTEXT
    assert "don't know" in "".join(m.text for m in messages)
    assert not messages[-1].citations
    assert _generate_calls() == calls_before
