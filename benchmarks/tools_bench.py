"""Tool calls and Responses turns: what the gateway adds to each step, against the same steps
called one by one on the gRPC service.

One inference service (the real engine, on CPU), the gateway in front of it with its PostgreSQL,
both driven on the same warm stack. Each scenario is a short conversation of steps; every step
is one streamed generation, measured both ways:
  gateway - the step as an OpenAI client makes it (POST /v1/chat/completions or /v1/responses,
            stream=true, over keep-alive HTTP): authentication, the tool checks, counting the
            prompt (in the gateway, tools and all, with the model's own tokenizer and chat
            template once they are checked against Tokenize), admission in PostgreSQL, the backend stream, the usage row; for Responses also reading the stored
            conversation and storing the turn before `response.completed`
  direct  - InferenceService.GenerateStream with the Generation the gateway would send: the same
            messages, tools, tool_choice and sampling (greedy, fixed max tokens)
Scenarios:
  chat-tool-round-trip - step 1: a chat with tools, tool_choice "required" and
                         parallel_tool_calls false makes one call;
                         step 2: the call and its result in the history, tool_choice "auto": the
                         answer
  responses-function   - turn 1: POST /v1/responses with a function tool named in tool_choice
                         makes a call; turn 2: previous_response_id and a function_call_output
                         item, tool_choice "auto": the answer (directly: the conversation rebuilt
                         by hand, as the gateway rebuilds it from what it stored)
  responses-file-search - one turn: POST /v1/responses with a file_search tool over a vector
                         store holding a short runbook, tool_choice file_search: the model's
                         query, the search and the cited answer (directly: Generate with the
                         function the gateway gives the model for the tool, then the RAG
                         service's Answer with the model's query beside the question, timed as
                         one step; its first token is the answer's first text)
Step 2 always carries the call step 1 made on the same path. Per step: time to the first token
(chat: the first delta with content or a tool-call piece; Responses: the first output_text or
function_call_arguments delta; directly: the first message carrying the same), the whole call,
and completion tokens per second of the whole call (from the usage each path reports). The
paths take turns round trip by round trip, their order rotating, so a burst of CPU on this
shared machine falls on both alike; the measurement is repeated in --runs runs, side by side in
the report with each path's spread between runs, since a difference of a few milliseconds is
within what this machine varies from one run to the next. Also reported: the gateway's own
account of each step (its Server-Timing header), and whether both paths read the same prompt and
produced the same output (so that the direct calls are the gateway's calls).

A scenario is one class below: its name, its step labels, and one method per path that plays the
whole conversation and returns one Step per label.

Run: make bench-tools   (about 10 minutes on 2 CPU cores, half of them the gateway's warm-up);
     ARGS='--concurrency 1,8' adds eight conversations at once (about 2 minutes more)
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import localstack  # noqa: E402
from docs_section import rerun_command, run_context, write_section  # noqa: E402
from gateway_bench import gateway_calls, gateway_pid, quantile, server_timing, warm_up  # noqa: E402
from inference_bench import MODEL  # noqa: E402

import grpc  # noqa: E402
from tianshu.inference.v1 import inference_pb2 as pb  # noqa: E402
from tianshu.inference.v1 import inference_pb2_grpc as pb_grpc  # noqa: E402
from tianshu.rag.v1 import rag_pb2 as rag_pb  # noqa: E402
from tianshu.rag.v1 import rag_pb2_grpc as rag_pb_grpc  # noqa: E402

PATHS = ("gateway", "direct")
TARGET_MS = 5.0  # the target: the platform adds at most this much per step, p50

# The conversation both scenarios hold. One function of one parameter, so a step is a second or
# so of generation on this machine and the run fits its ten minutes.
QUESTION = "What is the weather like in Paris right now?"
FUNCTION = "get_weather"
DESCRIPTION = "Current weather in a city"
PARAMETERS = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOL_RESULT = '{"temperature": 18, "unit": "celsius", "conditions": "light rain"}'
CALL_TOKENS = 64  # max tokens of a step that calls: the calls here end well before it
ANSWER_TOKENS = 48  # max tokens of the answer step
SEED = 7  # chat only: /v1/responses has no seed (greedy either way)
# Short steps that warm the JIT of the tool and Responses code paths before the runs.
WARMUP_TOKENS = 2


@dataclass
class Step:
    """One streamed generation as one path served it."""

    ttft: float  # seconds to the first token (see the module docstring for what counts)
    total: float  # seconds to the end of the stream
    prompt_tokens: int
    completion_tokens: int
    output: str  # what the step produced (calls or text), to check both paths did the same
    server_timing: dict[str, float] = field(default_factory=dict)  # the gateway's own account

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.total


@dataclass
class Call:
    """A function call a step made, to send back in the next step."""

    id: str
    name: str
    arguments: str


def describe(calls: list[Call], text: str) -> str:
    return " ".join([f"{c.name}({c.arguments})" for c in calls] + ([text] if text else []))


# --- the gateway path ---------------------------------------------------------------------------
class Gateway:
    """POST over Python's http.client, one keep-alive connection per thread. Not httpx: its own
    CPU per call (about 1.5 ms here, see gateway_bench.py) would be counted as the gateway's,
    while the direct path runs grpc's C client."""

    def __init__(self, url: str, key: str):
        self.address = urlsplit(url)
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.local = threading.local()

    def stream(self, path: str, body: dict):
        """Yields (seconds since the request was sent, event) for every `data: {...}` line, then
        (seconds, None) at the end of the stream; the first item is the Server-Timing header."""
        if not hasattr(self.local, "connection"):
            self.local.connection = http.client.HTTPConnection(self.address.hostname, self.address.port,
                                                               timeout=120)
        connection = self.local.connection
        started = time.perf_counter()
        connection.request("POST", path, json.dumps(body), self.headers)
        response = connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"POST {path}: {response.status} {response.read()[:500]!r}")
        yield server_timing(response.getheader("server-timing", ""))
        for line in response:
            if line.startswith(b"data: {"):
                yield time.perf_counter() - started, json.loads(line[6:])
        yield time.perf_counter() - started, None


def chat_step(gateway: Gateway, body: dict) -> tuple[Step, list[Call], str]:
    events = gateway.stream("/v1/chat/completions", {**body, "model": MODEL, "stream": True,
                                                     "stream_options": {"include_usage": True}})
    timing = next(events)
    first, usage, text, pieces = None, {}, [], {}
    for seconds, chunk in events:
        if chunk is None:
            total = seconds
            break
        usage = chunk.get("usage") or usage
        for choice in chunk["choices"]:
            delta = choice["delta"]
            if first is None and (delta.get("content") or delta.get("tool_calls")):
                first = seconds
            text.append(delta.get("content") or "")
            for piece in delta.get("tool_calls") or ():
                call = pieces.setdefault(piece["index"], Call("", "", ""))
                call.id = piece.get("id") or call.id
                call.name = piece.get("function", {}).get("name") or call.name
                call.arguments += piece.get("function", {}).get("arguments") or ""
    calls = [pieces[i] for i in sorted(pieces)]
    step = Step(first, total, usage["prompt_tokens"], usage["completion_tokens"], describe(calls, "".join(text)),
                timing)
    return step, calls, "".join(text)


def responses_step(gateway: Gateway, body: dict) -> tuple[Step, dict]:
    events = gateway.stream("/v1/responses", {**body, "model": MODEL, "stream": True})
    timing = next(events)
    first, done = None, None
    for seconds, event in events:
        if event is None:
            total = seconds
            break
        if "error" in event:
            raise RuntimeError(f"POST /v1/responses: the stream failed: {event['error']}")
        kind = event["type"]
        if first is None and kind in ("response.output_text.delta", "response.function_call_arguments.delta"):
            first = seconds
        if kind in ("response.completed", "response.incomplete"):
            done = event["response"]
    calls = [Call(o["call_id"], o["name"], o["arguments"]) for o in done["output"] if o["type"] == "function_call"]
    text = "".join(part["text"] for o in done["output"] if o["type"] == "message" for part in o["content"])
    usage = done["usage"]
    return Step(first, total, usage["input_tokens"], usage["output_tokens"], describe(calls, text), timing), done


# --- the direct path ----------------------------------------------------------------------------
def generate_stream(stub, generation: pb.Generation, first_token) -> tuple[Step, list[Call], str]:
    """GenerateStream to its end; first_token(message) says which message is the first token."""
    started, first, usage, text, pieces = time.perf_counter(), None, None, [], {}
    for message in stub.GenerateStream(pb.GenerateStreamRequest(generation=generation), timeout=120):
        if first is None and first_token(message):
            first = time.perf_counter() - started
        text.append(message.text)
        for piece in message.tool_calls:
            call = pieces.setdefault(piece.index, Call("", "", ""))
            call.id, call.name = piece.id or call.id, piece.name or call.name
            call.arguments += piece.arguments
        if message.HasField("usage"):
            usage = message.usage
    total = time.perf_counter() - started
    calls = [pieces[i] for i in sorted(pieces)]
    return (Step(first, total, usage.prompt_tokens, usage.completion_tokens, describe(calls, "".join(text))),
            calls, "".join(text))


def any_piece(message) -> bool:
    """Chat's first token: text, or any piece of a call (its id and name come first)."""
    return bool(message.text or message.tool_calls)


def text_or_arguments(message) -> bool:
    """Responses' first token: an output_text delta or a function_call_arguments delta."""
    return bool(message.text or any(piece.arguments for piece in message.tool_calls))


def proto_tool() -> pb.Tool:
    return pb.Tool(name=FUNCTION, description=DESCRIPTION, parameters_json=json.dumps(PARAMETERS))


def proto_history(calls: list[Call], name_tool_turns: bool) -> list[pb.ChatMessage]:
    """The user's question, the assistant's calls and one tool turn per call, as the gateway maps
    them (chat names a tool turn after its function; Responses leaves the name out)."""
    return [pb.ChatMessage(role="user", content=QUESTION),
            pb.ChatMessage(role="assistant", tool_calls=[pb.ToolCall(id=c.id, name=c.name, arguments=c.arguments)
                                                         for c in calls]),
            *[pb.ChatMessage(role="tool", tool_call_id=c.id, content=TOOL_RESULT,
                             name=c.name if name_tool_turns else "") for c in calls]]


class Scenario:
    """A conversation of steps, played whole on one path. With warmup, every step stops after
    WARMUP_TOKENS tokens, and a step cut before its call was whole sends back a made-up call."""

    name: str
    steps: tuple[str, ...]

    def __init__(self, warmup: bool = False):
        self.warmup = warmup
        self.call_tokens = WARMUP_TOKENS if warmup else CALL_TOKENS
        self.answer_tokens = WARMUP_TOKENS if warmup else ANSWER_TOKENS

    def calls_made(self, calls: list[Call], where: str) -> list[Call]:
        if calls or not self.warmup:
            return require_calls(calls, where)
        return [Call("call_warmup", FUNCTION, '{"city": "Paris"}')]

    def through_gateway(self, gateway: Gateway) -> list[Step]:
        raise NotImplementedError

    def direct(self, stub) -> list[Step]:
        raise NotImplementedError


def require_calls(calls: list[Call], where: str) -> list[Call]:
    if not calls:
        raise RuntimeError(f"{where} made no function call; the next step needs one")
    return calls


# --- the scenarios ------------------------------------------------------------------------------
class ChatToolRoundTrip(Scenario):
    """Chat completions: a call forced by tool_choice "required", then the answer to its result."""

    name = "chat-tool-round-trip"
    steps = ("1: call (tool_choice required, one call)", "2: answer (tool result, auto)")

    def through_gateway(self, gateway: Gateway) -> list[Step]:
        tools = [{"type": "function", "function": {"name": FUNCTION, "description": DESCRIPTION,
                                                   "parameters": PARAMETERS}}]
        question = [{"role": "user", "content": QUESTION}]
        # One call: given the choice, the model calls the same function twice, and an answer to a
        # history of two identical calls wavers between text and a third call from run to run.
        common = {"tools": tools, "temperature": 0, "seed": SEED, "parallel_tool_calls": False}
        first, calls, _ = chat_step(gateway, {**common, "messages": question, "tool_choice": "required",
                                              "max_tokens": self.call_tokens})
        calls = self.calls_made(calls, "step 1")
        history = question + [
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in calls]},
            *[{"role": "tool", "tool_call_id": c.id, "content": TOOL_RESULT} for c in calls]]
        second, _, _ = chat_step(gateway, {**common, "messages": history, "tool_choice": "auto",
                                           "max_tokens": self.answer_tokens})
        return [first, second]

    def direct(self, stub) -> list[Step]:
        first, calls, _ = generate_stream(stub, pb.Generation(
            model=MODEL, messages=[pb.ChatMessage(role="user", content=QUESTION)], tools=[proto_tool()],
            tool_choice=pb.ToolChoice(mode=pb.ToolChoice.MODE_REQUIRED), parallel_tool_calls=False,
            sampling=pb.SamplingParams(max_tokens=self.call_tokens, temperature=0, seed=SEED)), any_piece)
        second, _, _ = generate_stream(stub, pb.Generation(
            model=MODEL, messages=proto_history(self.calls_made(calls, "step 1"), name_tool_turns=True),
            tools=[proto_tool()], tool_choice=pb.ToolChoice(mode=pb.ToolChoice.MODE_AUTO), parallel_tool_calls=False,
            sampling=pb.SamplingParams(max_tokens=self.answer_tokens, temperature=0, seed=SEED)), any_piece)
        return [first, second]


class ResponsesFunction(Scenario):
    """/v1/responses: a call of the function named in tool_choice, then previous_response_id and a
    function_call_output; directly, the second turn's conversation rebuilt by hand."""

    name = "responses-function"
    steps = ("1: call (named function)", "2: answer (function_call_output, auto)")

    def through_gateway(self, gateway: Gateway) -> list[Step]:
        tools = [{"type": "function", "name": FUNCTION, "description": DESCRIPTION, "parameters": PARAMETERS}]
        first, response = responses_step(gateway, {
            "input": QUESTION, "tools": tools, "tool_choice": {"type": "function", "name": FUNCTION},
            "temperature": 0, "max_output_tokens": self.call_tokens})
        made = [Call(o["call_id"], o["name"], o["arguments"]) for o in response["output"]
                if o["type"] == "function_call"]
        calls = self.calls_made(made, "turn 1")
        # A made-up call is not in the stored turn: it goes in with its output.
        given = [{"type": "function_call", "call_id": c.id, "name": c.name, "arguments": c.arguments}
                 for c in calls if not made]
        second, _ = responses_step(gateway, {
            "previous_response_id": response["id"], "tools": tools, "tool_choice": "auto", "temperature": 0,
            "input": given + [{"type": "function_call_output", "call_id": c.id, "output": TOOL_RESULT}
                              for c in calls],
            "max_output_tokens": self.answer_tokens})
        return [first, second]

    def direct(self, stub) -> list[Step]:
        first, calls, _ = generate_stream(stub, pb.Generation(
            model=MODEL, messages=[pb.ChatMessage(role="user", content=QUESTION)], tools=[proto_tool()],
            tool_choice=pb.ToolChoice(function_name=FUNCTION),
            sampling=pb.SamplingParams(max_tokens=self.call_tokens, temperature=0)), text_or_arguments)
        second, _, _ = generate_stream(stub, pb.Generation(
            model=MODEL, messages=proto_history(self.calls_made(calls, "turn 1"), name_tool_turns=False),
            tools=[proto_tool()], tool_choice=pb.ToolChoice(mode=pb.ToolChoice.MODE_AUTO),
            sampling=pb.SamplingParams(max_tokens=self.answer_tokens, temperature=0)), text_or_arguments)
        return [first, second]


# The file_search turn: a runbook in a vector store, and a question the default model answers from
# it with a [n] marker (as tests/test_file_search_through_gateway.py asks it).
RUNBOOK = b"""# Tianshu operations

## Restarting the gateway
Drain traffic first, then restart the gateway pods one at a time.

## Rotating API keys
Create the new key, deploy it to clients, then revoke the old key.
"""
SEARCH_QUESTION = "Which source says how to restart the gateway?"
SEARCH_RESULTS = 3
# The function the gateway gives the model for the file_search tool (ResponseTools).
FILE_SEARCH = pb.Tool(name="file_search", description="Search the user's documents. Call it with a short search query.",
                      parameters_json=json.dumps({"type": "object", "properties": {
                          "query": {"type": "string", "description": "What to search for"}}, "required": ["query"]}))


@dataclass
class SearchTarget:
    """The vector store the file_search turns search, and the RAG service to call directly."""

    tenant: str
    store_id: str
    rag: object  # RagServiceStub


class FileSearchResponse(Scenario):
    """/v1/responses with a file_search tool the model must use: one step through the gateway
    (the model's query, the search, the cited answer); directly, the same Generate with the tool
    as the gateway words it, then the RAG service's Answer with the model's query beside the
    question, timed as one step."""

    name = "responses-file-search"
    steps = ("1: file_search turn (decide, search, cited answer)",)

    def __init__(self, target: SearchTarget, warmup: bool = False):
        super().__init__(warmup)
        self.target = target

    def through_gateway(self, gateway: Gateway) -> list[Step]:
        step, _ = responses_step(gateway, {
            "input": SEARCH_QUESTION, "temperature": 0, "max_output_tokens": self.answer_tokens,
            "tools": [{"type": "file_search", "vector_store_ids": [self.target.store_id],
                       "max_num_results": SEARCH_RESULTS}],
            "tool_choice": {"type": "file_search"}})
        return [step]

    def direct(self, stub) -> list[Step]:
        started = time.perf_counter()
        decided = stub.Generate(pb.GenerateRequest(generation=pb.Generation(
            model=MODEL, messages=[pb.ChatMessage(role="user", content=SEARCH_QUESTION)], tools=[FILE_SEARCH],
            tool_choice=pb.ToolChoice(function_name=FILE_SEARCH.name),
            sampling=pb.SamplingParams(max_tokens=self.answer_tokens, temperature=0))), timeout=120)
        query = search_query(decided.choices[0].tool_calls[0].arguments)
        queries = [query] if query == SEARCH_QUESTION else [query, SEARCH_QUESTION]
        first, text, usage = None, [], None
        for part in self.target.rag.Answer(rag_pb.AnswerRequest(
                tenant_id=self.target.tenant, collection_id=self.target.store_id, question=SEARCH_QUESTION,
                retrieval_query="\n".join(queries), model=MODEL, max_tokens=self.answer_tokens,
                options=rag_pb.RetrievalOptions(top_k=SEARCH_RESULTS, mode=rag_pb.RETRIEVAL_MODE_HYBRID)),
                timeout=120):
            if first is None and part.text:
                first = time.perf_counter() - started
            text.append(part.text)
            if part.HasField("usage"):
                usage = part.usage
        total = time.perf_counter() - started
        return [Step(first, total, decided.usage.prompt_tokens + usage.prompt_tokens,
                     decided.usage.completion_tokens + usage.completion_tokens, "".join(text))]


def search_query(arguments: str) -> str:
    """The query of a file_search call as the gateway reads it (FileSearchTurn.query): the
    arguments' query, or their text when they are not JSON (a warm-up step cut short)."""
    try:
        query = json.loads(arguments).get("query")
    except (ValueError, AttributeError):
        return arguments
    return query if isinstance(query, str) and query.strip() else arguments


def search_target(stack: localstack.Stack, key: str, tenant: str, rag_channel) -> SearchTarget:
    """Uploads the runbook as a file of a new vector store of the benchmark's tenant, once ingested."""
    import httpx

    with httpx.Client(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as http:
        upload = http.post("/v1/files", data={"purpose": "assistants"},
                           files={"file": ("runbook.md", RUNBOOK, "text/markdown")})
        upload.raise_for_status()
        store = http.post("/v1/vector_stores", json={"name": "bench-tools", "file_ids": [upload.json()["id"]]})
        store.raise_for_status()
        store_id = store.json()["id"]
        for _ in range(1200):
            counts = http.get(f"/v1/vector_stores/{store_id}").json()["file_counts"]
            if counts["in_progress"] == 0:
                break
            time.sleep(0.1)
        if counts["completed"] != 1:
            raise RuntimeError(f"the runbook was not ingested: {counts}")
    return SearchTarget(tenant, store_id, rag_pb_grpc.RagServiceStub(rag_channel))


def tools_key(stack: localstack.Stack) -> tuple[str, str]:
    """A tenant and key of their own, with limits (every call takes the admission round trip),
    that may also fill and search vector stores: (key, tenant)."""
    import httpx

    admin = httpx.Client(base_url=stack.gateway_url, headers={"Authorization": f"Bearer {stack.admin_key()}"})
    tenant = f"bench-tools-{int(time.time())}"
    admin.post("/v1/admin/tenants", json={"id": tenant, "rpm": 1_000_000, "tpm": 100_000_000}).raise_for_status()
    created = admin.post("/v1/admin/keys", json={"tenant": tenant, "name": "tools bench",
                                                 "scopes": ["chat", "rag:read", "rag:write"],
                                                 "rpm": 1_000_000, "tpm": 100_000_000})
    created.raise_for_status()
    return created.json()["key"], tenant




# --- measuring ----------------------------------------------------------------------------------
Key = tuple[int, int, str, int, str]  # concurrency, run, scenario, step index, path


def play(scenario: Scenario, path: str, gateway: Gateway, stub, concurrency: int,
         threads: ThreadPoolExecutor) -> list[list[Step]]:
    """`concurrency` conversations of the scenario at once on one path."""
    conversation = (lambda _: scenario.through_gateway(gateway)) if path == "gateway" else \
        (lambda _: scenario.direct(stub))
    return list(threads.map(conversation, range(concurrency)))


def rounds_at(concurrency: int, rounds: int) -> int:
    """Rounds per run at a concurrency: `rounds` alone, else enough rounds of `concurrency`
    conversations for twice as many samples as concurrency 1 gets (each step is slower there)."""
    return rounds if concurrency == 1 else -(-2 * rounds // concurrency)


def measure(scenarios: list[Scenario], levels: list[int], runs: int, rounds: int, gateway: Gateway, stub,
            threads: ThreadPoolExecutor) -> dict[Key, list[Step]]:
    results: dict[Key, list[Step]] = defaultdict(list)
    for concurrency in levels:
        for run in range(runs):
            started = time.perf_counter()
            for turn in range(rounds_at(concurrency, rounds)):
                order = PATHS if turn % 2 == 0 else PATHS[::-1]
                for scenario in scenarios:
                    for path in order:
                        for steps in play(scenario, path, gateway, stub, concurrency, threads):
                            for index, step in enumerate(steps):
                                results[(concurrency, run, scenario.name, index, path)].append(step)
            say(f"   concurrency {concurrency}, run {run + 1}/{runs}: {time.perf_counter() - started:.0f} s; "
                + "; ".join(f"{s.name} step {i + 1} ttft p50 "
                            + " / ".join(f"{p} {ms(results[(concurrency, run, s.name, i, p)], 'ttft', 0.5):.1f}"
                                         for p in PATHS) + " ms"
                            for s in scenarios for i in range(len(s.steps))))
    return results


def warm_up_conversations(scenarios: list[Scenario], count: int, gateway: Gateway, stub,
                          threads: ThreadPoolExecutor) -> None:
    """Short conversations on both paths, WARMUP_CONCURRENCY at a time: the JIT of the gateway's
    tool and Responses paths, the service's tool rendering and the stored-response queries."""
    for scenario in scenarios:
        for path in PATHS:
            started = time.perf_counter()
            for _ in range(-(-count // WARMUP_CONCURRENCY)):
                play(scenario, path, gateway, stub, WARMUP_CONCURRENCY, threads)
            say(f"   warm-up: {count} short {scenario.name} conversations on {path} in "
                f"{time.perf_counter() - started:.0f} s")


WARMUP_CONCURRENCY = 8


def say(message: str) -> None:
    print(f">> {message}", file=sys.stderr, flush=True)


# --- reporting ----------------------------------------------------------------------------------
def ms(steps: list[Step], what: str, q: float) -> float:
    return 1000 * quantile([getattr(s, what) for s in steps], q)


def pooled(results: dict[Key, list[Step]], concurrency: int, scenario: str, index: int, path: str) -> list[Step]:
    return [s for (c, _, name, i, p), steps in results.items()
            if (c, name, i, p) == (concurrency, scenario, index, path) for s in steps]


def step_rows(scenarios: list[Scenario], levels: list[int]):
    for concurrency in levels:
        for scenario in scenarios:
            for index, label in enumerate(scenario.steps):
                yield concurrency, scenario, index, label


def report(results: dict[Key, list[Step]], scenarios: list[Scenario], levels: list[int]) -> str:
    lines = ["| scenario | step | concurrency | path | steps | first token p50 / p90 (ms) | whole step p50 / p90 (ms) "
             "| tokens/s p50 | gateway − direct, p50: first token / whole step (ms) | paired, p50 (ms) |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for concurrency, scenario, index, label in step_rows(scenarios, levels):
        direct = pooled(results, concurrency, scenario.name, index, "direct")
        for path in PATHS:
            steps = pooled(results, concurrency, scenario.name, index, path)
            added = paired = "-"
            if path == "gateway":
                added = (f"**{ms(steps, 'ttft', 0.5) - ms(direct, 'ttft', 0.5):+.1f}** / "
                         f"**{ms(steps, 'total', 0.5) - ms(direct, 'total', 0.5):+.1f}**")
                paired = " / ".join(
                    f"{1000 * quantile(paired_differences(results, concurrency, scenario.name, index, what), 0.5):+.1f}"
                    for what in ("ttft", "total"))
            rate = quantile([s.tokens_per_second for s in steps], 0.5)
            lines.append(f"| {scenario.name} | {label} | {concurrency} | {path} | {len(steps)} | "
                         f"{ms(steps, 'ttft', 0.5):.1f} / {ms(steps, 'ttft', 0.9):.1f} | "
                         f"{ms(steps, 'total', 0.5):.1f} / {ms(steps, 'total', 0.9):.1f} | {rate:.1f} | {added} | "
                         f"{paired} |")
    return "\n".join(lines)


def paired_differences(results: dict[Key, list[Step]], concurrency: int, scenario: str, index: int,
                       what: str) -> list[float]:
    """Each gateway step less the direct step of the same round (seconds): a burst of other work
    that lasts a round falls out of the pair, where it stays in a comparison of two p50s."""
    return [getattr(g, what) - getattr(d, what)
            for (c, run, name, i, path), steps in results.items()
            if (c, name, i, path) == (concurrency, scenario, index, "gateway")
            for g, d in zip(steps, results[(c, run, name, i, "direct")], strict=True)]


def report_runs(results: dict[Key, list[Step]], scenarios: list[Scenario], levels: list[int], runs: int) -> str:
    """Each run's difference of p50s side by side, how far each path's p50 moved between runs,
    and the pooled difference against the target."""
    each = " / ".join(str(r + 1) for r in range(runs))
    lines = [f"| scenario | step | concurrency | first token: gateway − direct p50, run {each} (ms) | whole step: "
             f"gateway − direct p50, run {each} (ms) | spread of the p50 between runs, first token: gateway / "
             f"direct (ms) | spread, whole step: gateway / direct (ms) | ≤ {TARGET_MS:g} ms, pooled p50: first "
             f"token / whole step |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for concurrency, scenario, index, label in step_rows(scenarios, levels):
        p50 = {(r, p, what): ms(results[(concurrency, r, scenario.name, index, p)], what, 0.5)
               for r in range(runs) for p in PATHS for what in ("ttft", "total")}
        added = {what: [p50[(r, "gateway", what)] - p50[(r, "direct", what)] for r in range(runs)]
                 for what in ("ttft", "total")}

        def spread(what: str) -> str:
            return " / ".join(f"{max(v) - min(v):.1f}" for v in ([p50[(r, p, what)] for r in range(runs)]
                                                                 for p in PATHS))

        verdicts = []
        for what in ("ttft", "total"):
            pooled_added = (ms(pooled(results, concurrency, scenario.name, index, "gateway"), what, 0.5)
                            - ms(pooled(results, concurrency, scenario.name, index, "direct"), what, 0.5))
            slower = sum(a > 0 for a in added[what])
            verdicts.append(f"{'met' if pooled_added <= TARGET_MS else 'missed'} ({pooled_added:+.1f}, gateway "
                            f"slower in {slower} of {runs} runs)")
        lines.append(f"| {scenario.name} | {label} | {concurrency} | "
                     + " | ".join(" / ".join(f"{a:+.1f}" for a in added[what]) for what in ("ttft", "total"))
                     + f" | {spread('ttft')} | {spread('total')} | {' / '.join(verdicts)} |")
    return "\n".join(lines)


SERVER_TIMING_STEPS = ("auth", "count", "tokenize", "admit", "request", "response", "gateway")


def report_server_timing(results: dict[Key, list[Step]], scenarios: list[Scenario], levels: list[int]) -> str:
    """The gateway's own account of each step (its Server-Timing header), p50."""
    lines = ["| scenario | step | concurrency | " + " | ".join(f"{n} p50 (ms)" for n in SERVER_TIMING_STEPS) + " |",
             "|---|---|---:|" + "---:|" * len(SERVER_TIMING_STEPS)]
    for concurrency, scenario, index, label in step_rows(scenarios, levels):
        steps = pooled(results, concurrency, scenario.name, index, "gateway")
        cells = []
        for name in SERVER_TIMING_STEPS:
            values = [s.server_timing[name] for s in steps if name in s.server_timing]
            cells.append(f"{quantile(values, 0.5):.2f}" if values else "-")
        lines.append(f"| {scenario.name} | {label} | {concurrency} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report_sameness(results: dict[Key, list[Step]], scenarios: list[Scenario], levels: list[int]) -> str:
    """Whether both paths read the same prompt and produced the same output, step by step: the
    direct calls are only a fair baseline if they are the gateway's calls."""
    lines = []
    for concurrency, scenario, index, label in step_rows(scenarios, levels):
        seen = {path: {(s.prompt_tokens, s.output) for s in pooled(results, concurrency, scenario.name, index, path)}
                for path in PATHS}
        if seen["gateway"] == seen["direct"] and len(seen["direct"]) == 1:
            [(prompt, output)] = seen["direct"]
            lines.append(f"- {scenario.name} step {label}, concurrency {concurrency}: both paths {prompt} prompt "
                         f"tokens, every time `{output!r}`")
        else:
            lines.append(f"- {scenario.name} step {label}, concurrency {concurrency}: **the paths differ**: "
                         + "; ".join(f"{path}: " + ", ".join(f"{p} prompt tokens → `{o!r}`" for p, o in sorted(v))
                                     for path, v in seen.items()))
    return "\n".join(lines)


# --- the machine ------------------------------------------------------------------------------
def cpu_seconds_used() -> tuple[float, float]:
    """CPU seconds used so far by the whole machine (/proc/stat) and by this process with every
    process it started (the stack): their difference over the runs is what other people's work
    on this shared machine took."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    machine = (sum(fields[:8]) - fields[3] - fields[4]) / ticks  # all but idle and iowait
    parents, used = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            rest = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        pid = int(stat.parent.name)
        parents[pid], used[pid] = int(rest[1]), (int(rest[11]) + int(rest[12])) / ticks
    ours = 0.0
    for pid, seconds in used.items():
        ancestor = pid
        while ancestor not in (0, 1, os.getpid()) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == os.getpid():
            ours += seconds
    return machine, ours


# --- the run ------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", default="1", help="conversations at once on each path, e.g. 1,8")
    parser.add_argument("--runs", type=int, default=3, help="runs, reported side by side with their spread")
    parser.add_argument("--rounds", type=int, default=12,
                        help="rounds per run at concurrency 1, each one conversation of every scenario on each "
                             "path; at concurrency c, ceil(2 x rounds / c) rounds of c conversations")
    # The gateway JVM's CPU per call keeps falling for tens of thousands of calls (about 3.7 ms
    # after 6,000, 1.9 after 30,000 here), and a gateway in production is warm: as bench-gateway.
    parser.add_argument("--warmup", type=int, default=30000,
                        help="plain one-token chat calls through the gateway first (its JIT), 64 at a time")
    parser.add_argument("--warmup-conversations", type=int, default=48,
                        help=f"then short conversations of every scenario on each path, {WARMUP_CONCURRENCY} at a time")
    parser.add_argument("--gateway-cpus", default="",
                        help="e.g. 1: the gateway, PostgreSQL, the RAG service and the load generator on these "
                             "cores, the inference service and its engine on the others (the gateway on hardware "
                             "of its own, as in production); written to a section of its own")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args()
    gateway_cpus = {int(c) for c in args.gateway_cpus.split(",")} if args.gateway_cpus else None
    levels = [int(c) for c in args.concurrency.split(",")]
    # A few hundred tokens per conversation: 1 GiB of KV cache holds them many times over and leaves
    # memory to the other engines this shared machine may be running.
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

    stack = localstack.Stack(log_dir=ROOT / "build" / "logs" / "bench-tools", with_rag=True, with_batch=False,
                             inference_port=localstack.free_port(), inference_metrics_port=0,
                             gateway_port=localstack.free_port(), postgres_port=localstack.free_port(),
                             rag_port=localstack.free_port(), rag_metrics_port=0)
    began = time.perf_counter()
    try:
        stack.start_all(gateway_cpus)
        with ThreadPoolExecutor(max_workers=64) as threads, \
                grpc.insecure_channel(stack.inference_target) as channel, \
                grpc.insecure_channel(stack.rag_target) as rag_channel:
            key, tenant = tools_key(stack)
            target = search_target(stack, key, tenant, rag_channel)
            scenarios = [ChatToolRoundTrip(), ResponsesFunction(), FileSearchResponse(target)]
            gateway, stub = Gateway(stack.gateway_url, key), pb_grpc.InferenceServiceStub(channel)
            jit = warm_up(gateway_calls(stack, key)["unary"], args.warmup, gateway_pid(stack), threads)
            warm_up_conversations([ChatToolRoundTrip(warmup=True), ResponsesFunction(warmup=True),
                                   FileSearchResponse(target, warmup=True)], args.warmup_conversations,
                                  gateway, stub, threads)
            before = cpu_seconds_used(), time.perf_counter()
            results = measure(scenarios, levels, args.runs, args.rounds, gateway, stub, threads)
            after = cpu_seconds_used(), time.perf_counter()
    finally:
        stack.stop_all()
    minutes = (time.perf_counter() - began) / 60
    seconds = after[1] - before[1]
    machine_cores, our_cores = ((a - b) / seconds for a, b in zip(after[0], before[0]))

    command = rerun_command("tools_bench.py", "bench-tools")
    rounds = ", ".join(f"{rounds_at(c, args.rounds)} round{'s' * (rounds_at(c, args.rounds) > 1)} of {c} "
                       f"conversation{'s' * (c > 1)} per scenario and path" for c in levels)
    layout = ("gateway, inference service, PostgreSQL and the load generator on the same machine, sharing its "
              "cores" if not gateway_cpus else
              f"the inference service and its engine on core(s) {sorted(set(range(os.cpu_count())) - gateway_cpus)}, "
              f"the gateway, its PostgreSQL, the RAG service and the load generator (both paths' client) on core(s) "
              f"{sorted(gateway_cpus)}, as the gateway runs in production beside the engine rather than on its cores")
    context = (f"{run_context(command, MODEL)}; {layout}; during the runs ({seconds:.0f} s) its {os.cpu_count()} cores were "
               f"{machine_cores:.2f} cores busy, {our_cores:.2f} of them this benchmark's stack and load "
               f"generator, **{machine_cores - our_cores:.2f} other people's work**; whole run {minutes:.0f} "
               f"minutes)")
    table = report(results, scenarios, levels)
    runs = report_runs(results, scenarios, levels, args.runs)
    timing = report_server_timing(results, scenarios, levels)
    sameness = report_sameness(results, scenarios, levels)
    print(f"{context}\n\n{table}\n\n{runs}\n\n{timing}\n\n{sameness}")
    if args.no_write:
        return
    jit_note = (f" (the gateway JVM's CPU per call over the last {min(args.warmup, 2000):,}: {jit[-1]:.2f} ms)"
                if jit else "")
    heading = "Tool calls and Responses turns" + (", the gateway on a core of its own" if gateway_cpus else "")
    body = (f"## {heading}: gateway vs the same steps on the gRPC service\n\n"
            f"{context}. Warm-up: {args.warmup:,} one-token chat calls through the gateway, 64 at a time"
            f"{jit_note}, then {args.warmup_conversations} short conversations of each scenario on each path. "
            f"Then {args.runs} runs of {rounds}, the paths taking turns conversation by conversation. Every "
            f"step is a stream, greedy; step 1 makes one call to `{FUNCTION}(city)` (tool_choice `required` "
            f"with `parallel_tool_calls` false on chat, the function named on Responses; at most {CALL_TOKENS} "
            f"tokens), step 2 answers from the call's result (tool_choice `auto`, at most {ANSWER_TOKENS} "
            f"tokens). The file_search turn (`tool_choice` file_search, {SEARCH_RESULTS} results, at most "
            f"{ANSWER_TOKENS} tokens a generation) is one step: through the gateway one `POST /v1/responses` "
            f"stream (the model's query, the vector store's search, the cited answer), directly `Generate` with "
            f"the function the gateway gives the model for the tool, then the RAG service's `Answer` with the "
            f"model's query beside the question; its first token is the answer's first text. "
            f"`gateway` is the whole HTTP call as an OpenAI client makes it (Python's http.client on "
            f"keep-alive connections, SSE read line by line): authentication, the tool checks, counting the "
            f"prompt (in the gateway with the model's own tokenizer and chat template, tools and all, once they "
            f"gave `Tokenize`'s ids for the probe chats; `count` below), admission in "
            f"PostgreSQL, the stream, the usage row; for Responses also reading the stored conversation and "
            f"storing the turn before `response.completed`. `direct` is `GenerateStream` with the same "
            f"messages, tools, tool choice and sampling (grpc's C client). First token: on chat the first "
            f"delta with content or a tool-call piece, on Responses the first `output_text` or "
            f"`function_call_arguments` delta, directly the first message carrying the same. Tokens/s: the "
            f"step's completion tokens (its usage) over the whole step. `paired` is the p50 of each gateway "
            f"step less the direct step of the same round, which leaves out a burst of other work that lasts "
            f"a round. Target: the platform adds ≤ {TARGET_MS:g} ms p50 per step.\n\n{table}\n\n"
            f"Run by run (the spread is the largest less the smallest of a path's {args.runs} p50s: how far "
            f"this machine moves the same calls between runs):\n\n{runs}\n\n"
            f"The gateway's own account, p50 of each response's `Server-Timing` header (`count` the prompt "
            f"counted in the gateway, `tokenize` a `Tokenize` call where the gateway could not count it, "
            f"`admit` the rate-limit transaction in PostgreSQL, `request` everything from receiving the request "
            f"to starting the backend stream, the named steps included, `response` from the backend's first "
            f"message to the response headers, `gateway` the two together; a stream's headers, on both routes, "
            f"go out with the backend's first message):\n\n{timing}\n\n"
            f"Same calls on both paths:\n\n{sameness}\n")
    write_section(ROOT / "docs" / "benchmarks.md", "tools-bench-own-cores" if gateway_cpus else "tools-bench", body)


if __name__ == "__main__":
    main()
