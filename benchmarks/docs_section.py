"""Writes one benchmark's results into docs/benchmarks.md between its own markers, so each
benchmark rewrites only its section and the rest of the file (prose, other sections) stays."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def write_section(markdown: Path, name: str, body: str) -> None:
    """Replaces the section between this benchmark's markers, keeping the rest of the file."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = markdown.read_text() if markdown.exists() else "# Benchmarks\n"
    block = f"{begin}\n{body}\n{end}"
    if begin in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    markdown.write_text(text)


def rerun_command(script: str, make_target: str) -> str:
    """How to run this benchmark again exactly: the make target, or the script with its arguments."""
    return " ".join([f"python benchmarks/{script}", *sys.argv[1:]]) if sys.argv[1:] else f"make {make_target}"


def run_context(command: str, model: str) -> str:
    """The opening every section shares: the command, the day, the machine, the model and its dtype."""
    from tianshu_inference import host_dtype
    from tianshu_inference.settings import InferenceSettings

    dtype = host_dtype.engine_dtype(InferenceSettings().dtype)
    return f"Command: `{command}` ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores, {model} {dtype} on CPU"
