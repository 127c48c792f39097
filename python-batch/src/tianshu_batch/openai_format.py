"""OpenAI shapes, apart from any I/O: a line's body as an inference request, the inference
answer as the body OpenAI would return, and a finished line as a line of an OpenAI batch
output or error file."""
from __future__ import annotations

import time

from tianshu.inference.v1 import inference_pb2 as ipb

_FINISH = {ipb.FINISH_REASON_STOP: "stop", ipb.FINISH_REASON_LENGTH: "length", ipb.FINISH_REASON_ABORT: "stop"}


def generation(body: dict, request_id: str, tenant_id: str) -> ipb.Generation:
    """A chat completion body as a batch-priority generation."""
    sampling = ipb.SamplingParams()
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if max_tokens is not None:
        sampling.max_tokens = max_tokens
    for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty", "n", "seed"):
        if body.get(name) is not None:
            setattr(sampling, name, body[name])
    stop = body.get("stop")
    if stop:
        sampling.stop.extend([stop] if isinstance(stop, str) else stop)
    return ipb.Generation(
        model=body["model"], messages=[ipb.ChatMessage(role=m["role"], content=m["content"]) for m in body["messages"]],
        sampling=sampling, request_id=request_id, tenant_id=tenant_id,
        # Batch lines run in the capacity interactive calls leave (vLLM priority scheduling).
        priority=ipb.PRIORITY_BATCH)


def embed_texts(body: dict) -> list[str]:
    texts = body["input"]
    return [texts] if isinstance(texts, str) else list(texts)


def chat_completion(response: ipb.GenerateResponse, request_id: str) -> dict:
    return {
        "id": f"chatcmpl-{request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": response.model,
        "choices": [{"index": c.index, "message": {"role": "assistant", "content": c.text},
                     "finish_reason": _FINISH.get(c.finish_reason, "stop"), "logprobs": None}
                    for c in response.choices],
        "usage": usage(response.usage),
    }


def embeddings(response: ipb.EmbedResponse) -> dict:
    return {
        "object": "list",
        "model": response.model,
        "data": [{"object": "embedding", "index": i, "embedding": list(e.values)}
                 for i, e in enumerate(response.embeddings)],
        "usage": {"prompt_tokens": response.usage.prompt_tokens, "total_tokens": response.usage.prompt_tokens},
    }


def usage(u: ipb.Usage) -> dict:
    return {"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens,
            "total_tokens": u.total_tokens}


def result_line(batch_id: str, custom_id: str, status_code: int, response: dict | None, error_code: str,
                error_message: str) -> dict:
    """One line of an OpenAI batch output file (response set) or error file (error set)."""
    request_id = f"{batch_id}-{custom_id}"
    return {
        "id": f"batch_req_{request_id}",
        "custom_id": custom_id,
        "response": None if response is None and status_code == 0 else {
            "status_code": status_code, "request_id": request_id,
            "body": response if response is not None else {"error": {"code": error_code, "message": error_message}}},
        "error": {"code": error_code, "message": error_message} if error_code else None,
    }
