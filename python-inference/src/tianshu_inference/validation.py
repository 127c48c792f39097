"""Checks every field of an incoming request once, at the edge, naming the bad field.

Pure functions from proto messages to the engine-neutral types of generation.py; they
raise InvalidArgument and never touch the engine.
"""
from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass

from tianshu.inference.v1 import inference_pb2 as pb
from tianshu_grpc_server.errors import InvalidArgument

from .batch_lane import BATCH_PRIORITY, INTERACTIVE_PRIORITY
from .embed_queue import EmbedPriority
from .generation import ChatMessage, Constraint, Sampling, Tool, ToolCall
from .tool_calls import Mode, ToolUse

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_MAX_STOP_STRINGS = 16
_MAX_STOP_CHARS = 256
# OpenAI's own bounds on tools.
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MAX_TOOLS = 128


@dataclass(frozen=True)
class Limits:
    max_prompt_bytes: int
    max_choices: int
    max_logprobs: int
    max_waiting: int
    max_embed_chars: int


@dataclass(frozen=True)
class Input:
    """Either a chat or a raw prompt, not both."""

    messages: tuple[ChatMessage, ...] | None
    prompt: str | None


@dataclass(frozen=True)
class SamplingRequest:
    """Sampling as asked for; max_tokens None until the prompt's length is known."""

    max_tokens: int | None
    fields: dict


def request_id(value: str) -> str:
    if not value:
        return uuid.uuid4().hex
    if not _REQUEST_ID.fullmatch(value):
        raise InvalidArgument("request_id", "must be 1-128 characters of A-Z a-z 0-9 . _ : -")
    return value


def generation_input(messages, prompt: str, limits: Limits, field_prefix: str = "") -> Input:
    if messages and prompt:
        raise InvalidArgument(field_prefix + "messages", "set either messages or prompt, not both")
    if prompt:
        _check_size(field_prefix + "prompt", len(prompt.encode()), limits)
        return Input(messages=None, prompt=prompt)
    if not messages:
        raise InvalidArgument(field_prefix + "messages", "must not be empty (or set prompt instead)")
    size = 0
    chat = []
    call_ids: set[str] = set()
    for i, message in enumerate(messages):
        field = f"{field_prefix}messages[{i}]"
        if message.role not in ROLES:
            raise InvalidArgument(f"{field}.role",
                                  f"unknown role {message.role[:32]!r}; expected one of {sorted(ROLES)}")
        calls = _tool_calls(message, field)
        call_ids.update(call.id for call in calls)
        if message.role == "tool" and message.tool_call_id not in call_ids:
            raise InvalidArgument(f"{field}.tool_call_id",
                                  "a tool message must answer a tool call of an earlier assistant message"
                                  if message.tool_call_id else "required in a tool message")
        size += len(message.content.encode()) + sum(len(c.arguments.encode()) for c in calls)
        chat.append(ChatMessage(role=message.role, content=message.content, tool_calls=calls,
                                tool_call_id=message.tool_call_id, name=message.name))
    _check_size(field_prefix + "messages", size, limits)
    return Input(messages=tuple(chat), prompt=None)


def _tool_calls(message: pb.ChatMessage, field: str) -> tuple[ToolCall, ...]:
    if message.tool_calls and message.role != "assistant":
        raise InvalidArgument(f"{field}.tool_calls", "only assistant messages carry tool calls")
    calls = []
    for j, call in enumerate(message.tool_calls):
        if not call.id:
            raise InvalidArgument(f"{field}.tool_calls[{j}].id", "required")
        if not _TOOL_NAME.fullmatch(call.name):
            raise InvalidArgument(f"{field}.tool_calls[{j}].name", "must be 1-64 letters, digits, _ or -")
        calls.append(ToolCall(id=call.id, name=call.name, arguments=call.arguments))
    return tuple(calls)


def tool_use(generation: pb.Generation, tool_parser: str) -> ToolUse | None:
    """The generation's tools and tool choice, or None when it has no tools."""
    choice = generation.tool_choice.WhichOneof("choice")
    if not generation.tools:
        if choice == "function_name" or (choice == "mode" and generation.tool_choice.mode != pb.ToolChoice.MODE_NONE):
            raise InvalidArgument("tool_choice", "needs tools")
        return None
    tools = tool_list(generation.tools)
    parallel = generation.parallel_tool_calls if generation.HasField("parallel_tool_calls") else True
    if choice == "function_name":
        if not any(t.name == generation.tool_choice.function_name for t in tools):
            raise InvalidArgument("tool_choice.function_name",
                                  f"{generation.tool_choice.function_name!r} is not one of the tools")
        use = ToolUse(tools, Mode.NAMED, generation.tool_choice.function_name, parallel)
    else:
        mode = generation.tool_choice.mode if choice == "mode" else pb.ToolChoice.MODE_UNSPECIFIED
        modes = {pb.ToolChoice.MODE_UNSPECIFIED: Mode.AUTO, pb.ToolChoice.MODE_AUTO: Mode.AUTO,
                 pb.ToolChoice.MODE_NONE: Mode.NONE, pb.ToolChoice.MODE_REQUIRED: Mode.REQUIRED}
        if mode not in modes:
            raise InvalidArgument("tool_choice.mode", f"unknown mode {mode}")
        use = ToolUse(tools, modes[mode], parallel=parallel)
    if use.mode is Mode.AUTO and not tool_parser:
        raise InvalidArgument("tool_choice", f"model {generation.model or 'served'!r} cannot choose tools on its own "
                                             "(auto): name a function or use required, or configure a tool parser "
                                             "for the model")
    if use.mode in (Mode.REQUIRED, Mode.NAMED) and generation.structured_output.WhichOneof("kind"):
        raise InvalidArgument("structured_output", "cannot be combined with a required or named tool choice, "
                                                   "which constrains the output itself")
    return use


def tool_list(given) -> tuple[Tool, ...]:
    """Tools as sent (Generation.tools, TokenizeRequest.tools), checked."""
    if len(given) > _MAX_TOOLS:
        raise InvalidArgument("tools", f"{len(given)} tools; at most {_MAX_TOOLS}")
    tools: list[Tool] = []
    for i, tool in enumerate(given):
        if not _TOOL_NAME.fullmatch(tool.name):
            raise InvalidArgument(f"tools[{i}].name", "must be 1-64 letters, digits, _ or -")
        if any(t.name == tool.name for t in tools):
            raise InvalidArgument(f"tools[{i}].name", f"{tool.name!r} is the name of an earlier tool too")
        tools.append(Tool(name=tool.name, description=tool.description,
                          parameters=_parameters(tool.parameters_json, f"tools[{i}].parameters_json")))
    return tuple(tools)


def _parameters(text: str, field: str) -> dict | None:
    if not text:
        return None
    try:
        schema = json.loads(text)
    except ValueError as error:
        raise InvalidArgument(field, f"not valid JSON: {error}") from None
    if not isinstance(schema, dict):
        raise InvalidArgument(field, "must be a JSON Schema object")
    return schema


def prompt_token_ids(ids, messages, prompt: str, vocab_size: int, context_length: int) -> list[int] | None:
    """The prompt as token ids when the caller sent them (None when it sent text), checked
    against the vocabulary: an id out of range would crash the engine's embedding lookup."""
    if not ids:
        return None
    if messages or prompt:
        raise InvalidArgument("prompt_token_ids", "set exactly one of messages, prompt and prompt_token_ids")
    if len(ids) >= context_length:
        raise InvalidArgument("prompt_token_ids", f"the prompt has {len(ids)} tokens but the model's context "
                                                  f"length is {context_length} tokens")
    for i, token in enumerate(ids):
        if not 0 <= token < vocab_size:
            raise InvalidArgument(f"prompt_token_ids[{i}]", f"{token} is not a token id of this model "
                                  f"(its vocabulary has {vocab_size})")
    return list(ids)


def _check_size(field: str, size: int, limits: Limits) -> None:
    if size > limits.max_prompt_bytes:
        raise InvalidArgument(field, f"input is {size} bytes; the limit is {limits.max_prompt_bytes}")


def sampling(params: pb.SamplingParams, limits: Limits) -> SamplingRequest:
    fields: dict = {}
    if params.HasField("temperature"):
        fields["temperature"] = _in_range("sampling.temperature", params.temperature, 0.0, 2.0)
    if params.HasField("top_p"):
        top_p = params.top_p
        if not (math.isfinite(top_p) and 0.0 < top_p <= 1.0):
            raise InvalidArgument("sampling.top_p", f"must be in (0, 1], got {top_p}")
        fields["top_p"] = top_p
    if params.HasField("top_k") and params.top_k != 0:
        if params.top_k < 0:
            raise InvalidArgument("sampling.top_k", f"must be >= 0, got {params.top_k}")
        fields["top_k"] = params.top_k
    max_tokens = None
    if params.HasField("max_tokens"):
        if params.max_tokens <= 0:
            raise InvalidArgument("sampling.max_tokens", f"must be > 0, got {params.max_tokens}")
        max_tokens = params.max_tokens
    if len(params.stop) > _MAX_STOP_STRINGS:
        raise InvalidArgument("sampling.stop", f"at most {_MAX_STOP_STRINGS} stop strings")
    for i, stop in enumerate(params.stop):
        if not stop or len(stop) > _MAX_STOP_CHARS:
            raise InvalidArgument(f"sampling.stop[{i}]", f"must be 1-{_MAX_STOP_CHARS} characters")
    fields["stop"] = tuple(params.stop)
    if any(t < 0 for t in params.stop_token_ids):
        raise InvalidArgument("sampling.stop_token_ids", "token ids must be >= 0")
    fields["stop_token_ids"] = tuple(params.stop_token_ids)
    if params.HasField("seed"):
        fields["seed"] = params.seed
    if params.HasField("presence_penalty"):
        fields["presence_penalty"] = _in_range("sampling.presence_penalty", params.presence_penalty, -2.0, 2.0)
    if params.HasField("frequency_penalty"):
        fields["frequency_penalty"] = _in_range("sampling.frequency_penalty", params.frequency_penalty, -2.0, 2.0)
    if params.HasField("n"):
        if not 1 <= params.n <= limits.max_choices:
            raise InvalidArgument("sampling.n", f"must be in [1, {limits.max_choices}], got {params.n}")
        fields["n"] = params.n
    if params.HasField("logprobs"):
        if not 0 <= params.logprobs <= limits.max_logprobs:
            raise InvalidArgument("sampling.logprobs", f"must be in [0, {limits.max_logprobs}], got {params.logprobs}")
        fields["logprobs"] = params.logprobs
    fields["ignore_eos"] = params.ignore_eos
    return SamplingRequest(max_tokens=max_tokens, fields=fields)


def _in_range(field: str, value: float, low: float, high: float) -> float:
    if not (math.isfinite(value) and low <= value <= high):
        raise InvalidArgument(field, f"must be in [{low:g}, {high:g}], got {value:g}")
    return value


def resolve_sampling(requested: SamplingRequest, prompt_tokens: int, context_length: int) -> Sampling:
    """Fixes max_tokens once the prompt's length is known; refuses what cannot fit."""
    room = context_length - prompt_tokens
    if room <= 0:
        raise InvalidArgument("prompt", f"the prompt has {prompt_tokens} tokens but the model's context "
                                        f"length is {context_length} tokens")
    max_tokens = requested.max_tokens if requested.max_tokens is not None else room
    if max_tokens > room:
        raise InvalidArgument("sampling.max_tokens", f"the prompt has {prompt_tokens} tokens and max_tokens is "
                                                     f"{max_tokens}, together more than the model's context "
                                                     f"length of {context_length} tokens")
    return Sampling(max_tokens=max_tokens, **requested.fields)


def constraint(structured: pb.StructuredOutput) -> Constraint | None:
    kind = structured.WhichOneof("kind")
    if kind is None:
        return None
    if kind == "json_schema":
        try:
            schema = json.loads(structured.json_schema)
        except ValueError as error:
            raise InvalidArgument("structured_output.json_schema", f"not valid JSON: {error}") from None
        if not isinstance(schema, dict):
            raise InvalidArgument("structured_output.json_schema", "must be a JSON object")
        return Constraint(json_schema=structured.json_schema)
    if kind == "regex":
        try:
            re.compile(structured.regex)
        except re.error as error:
            raise InvalidArgument("structured_output.regex", f"not a valid regular expression: {error}") from None
        return Constraint(regex=structured.regex)
    if kind == "choice":
        choices = tuple(structured.choice.choices)
        if not choices or any(not c for c in choices):
            raise InvalidArgument("structured_output.choice", "needs at least one non-empty choice")
        return Constraint(choice=choices)
    if not structured.json_object:
        return None
    return Constraint(json_object=True)


def priority(value: int) -> int:
    if value == pb.PRIORITY_BATCH:
        return BATCH_PRIORITY
    if value in (pb.PRIORITY_UNSPECIFIED, pb.PRIORITY_INTERACTIVE):
        return INTERACTIVE_PRIORITY
    raise InvalidArgument("priority", f"unknown priority {value}")


def embed_priority(value: int) -> EmbedPriority:
    """An Embed call's place in the embedding model's queue (PRIORITY_BATCH is bulk work)."""
    return EmbedPriority.BATCH if priority(value) == BATCH_PRIORITY else EmbedPriority.INTERACTIVE


def rerank_input(query: str, documents: list[str], top_n: int, card, limits: Limits) -> None:
    """A Rerank call's query, documents and top_n, against the scoring model's card."""
    if not query:
        raise InvalidArgument("query", "must not be empty")
    if len(query) > limits.max_embed_chars:
        raise InvalidArgument("query", f"{len(query)} characters; the limit is {limits.max_embed_chars}")
    if not documents:
        raise InvalidArgument("documents", "must not be empty")
    if len(documents) > card.max_batch_size:
        raise InvalidArgument("documents", f"{len(documents)} documents; model {card.id!r} scores at most "
                                           f"{card.max_batch_size} per call")
    for i, document in enumerate(documents):
        if not document:
            raise InvalidArgument(f"documents[{i}]", "must not be empty")
        if len(document) > limits.max_embed_chars:
            raise InvalidArgument(f"documents[{i}]", f"{len(document)} characters; the limit is "
                                                     f"{limits.max_embed_chars}")
    if top_n < 0:
        raise InvalidArgument("top_n", f"must be 0 (every document) or more, got {top_n}")
