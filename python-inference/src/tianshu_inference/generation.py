"""Engine-neutral types of a generation: what the servicer hands the engine and gets back."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field


class FinishReason(enum.Enum):
    STOP = "stop"
    LENGTH = "length"
    ABORT = "abort"
    TOOL_CALLS = "tool_calls"


@dataclass(frozen=True)
class ToolCall:
    """A function call the model made; arguments is JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""
    name: str = ""


@dataclass(frozen=True)
class Tool:
    """A function the model may call; parameters is its JSON Schema (an object)."""

    name: str
    description: str
    parameters: dict | None


@dataclass(frozen=True)
class Sampling:
    """Validated sampling options; None means the engine's default."""

    max_tokens: int
    n: int = 1
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: tuple[str, ...] = ()
    stop_token_ids: tuple[int, ...] = ()
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logprobs: int | None = None
    ignore_eos: bool = False


@dataclass(frozen=True)
class Constraint:
    """Structured-output constraint: exactly one field is set."""

    json_schema: str | None = None
    regex: str | None = None
    choice: tuple[str, ...] | None = None
    json_object: bool = False
    # An xgrammar structural tag (JSON): free text, with whatever follows a trigger (a tool
    # call's opening tag) held to a grammar.
    structural_tag: str | None = None


@dataclass(frozen=True)
class GenerationJob:
    """A validated, tokenized generation ready for the engine."""

    request_id: str
    prompt_token_ids: list[int]
    sampling: Sampling
    constraint: Constraint | None = None
    # Lower runs first (vLLM's priority scheduling): 0 interactive, 1 batch.
    priority: int = 0


@dataclass(frozen=True)
class TokenLogprob:
    token: str
    token_id: int
    logprob: float
    top: tuple[tuple[str, int, float], ...] = ()


@dataclass
class Delta:
    """New output of one choice since its previous delta."""

    index: int
    text: str
    token_count: int
    logprobs: list[TokenLogprob] = field(default_factory=list)
    finish_reason: FinishReason | None = None


@dataclass(frozen=True)
class Load:
    running: int
    waiting: int
    kv_cache_usage: float


@dataclass(frozen=True)
class TokenizerDefinition:
    """What Tokenize counts with, for a caller that counts prompts itself."""

    tokenizer_json: bytes  # Hugging Face tokenizers' JSON format
    chat_template: str
    template_variables: dict[str, str]


@dataclass(frozen=True)
class ModelCard:
    id: str
    kind: str  # "generate" or "embed"
    context_length: int
    dimension: int = 0
    max_batch_size: int = 0
    max_choices: int = 0
    max_logprobs: int = 0
    vocab_size: int = 0  # generation models: ids a prompt_token_ids may hold are below it
    dtype: str = ""  # generation models: what the engine computes in
    tool_parser: str = ""  # generation models: vLLM's tool parser serving tool_choice auto
