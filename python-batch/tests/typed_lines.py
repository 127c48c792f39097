"""Batch lines as the gateway builds them: typed requests of the inference service, not JSON."""
from __future__ import annotations

from tianshu.inference.v1 import inference_pb2 as ipb
from tianshu.jobs.v1 import jobs_pb2 as pb

CHAT_MODEL = "smollm2-135m-instruct"


def chat_line(custom_id: str, question: str, max_tokens: int = 12, **sampling) -> pb.InputLine:
    return pb.InputLine(custom_id=custom_id, generation=ipb.Generation(
        model=CHAT_MODEL, messages=[ipb.ChatMessage(role="user", content=question)],
        sampling=ipb.SamplingParams(max_tokens=max_tokens, temperature=0, **sampling)))
