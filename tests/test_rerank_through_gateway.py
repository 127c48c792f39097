"""POST /v1/rerank through the gateway onto the real inference service, in the request shape
vLLM, Jina and Cohere clients send: with the default deployment (no cross-encoder) the
embedding model scores by cosine, and the answer is the one Embed's vectors give."""
from __future__ import annotations

import httpx
import pytest

EMBEDDING_MODEL = "all-minilm-l6-v2"
QUERY = "How do I reset my password?"
DOCUMENTS = ["Quarterly revenue grew by 8% in the third quarter.",
             "To reset your password, open Settings, choose Security and click 'Reset password'.",
             "The cafeteria serves lunch from noon to two."]


@pytest.fixture(scope="module")
def admin(stack, auth):
    with httpx.Client(base_url=stack.gateway_url, headers=auth, timeout=120) as client:
        yield client


def test_documents_come_back_best_first_scored_as_the_embedding_models_cosine(admin):
    ranked = admin.post("/v1/rerank", json={"model": EMBEDDING_MODEL, "query": QUERY, "documents": DOCUMENTS})
    embedded = admin.post("/v1/embeddings", json={"model": EMBEDDING_MODEL, "input": [QUERY, *DOCUMENTS]})

    assert ranked.status_code == 200, ranked.text
    body = ranked.json()
    question, *vectors = [item["embedding"] for item in embedded.json()["data"]]
    cosines = [sum(q * d for q, d in zip(question, v)) for v in vectors]
    assert body["model"] == EMBEDDING_MODEL and body["id"].startswith("rerank-")
    assert [r["index"] for r in body["results"]] == sorted(range(3), key=lambda i: -cosines[i])
    assert body["results"][0]["index"] == 1
    assert body["results"][0]["document"] == {"text": DOCUMENTS[1]}
    assert [r["relevance_score"] for r in body["results"]] == pytest.approx(sorted(cosines, reverse=True), abs=1e-4)
    assert body["usage"]["total_tokens"] == embedded.json()["usage"]["prompt_tokens"]


def test_cohere_v2_path_with_top_n_answers_only_the_best(admin):
    ranked = admin.post("/v2/rerank", json={"model": EMBEDDING_MODEL, "query": QUERY, "documents": DOCUMENTS,
                                            "top_n": 1, "return_documents": False})

    assert ranked.status_code == 200, ranked.text
    [best] = ranked.json()["results"]
    assert best["index"] == 1 and "document" not in best


def test_a_generation_model_is_refused_naming_the_model(admin):
    refused = admin.post("/v1/rerank", json={"model": "smollm2-135m-instruct", "query": QUERY,
                                             "documents": DOCUMENTS})

    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "model"
