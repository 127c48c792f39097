"""Writes one benchmark's results into docs/benchmarks.md between its own markers, so each
benchmark rewrites only its section and the rest of the file (prose, other sections) stays."""
from __future__ import annotations

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
