"""[n] markers in a streamed answer: kept when n is one of the answer's sources, removed
otherwise, and collected in order of first use. Works delta by delta, holding back only
text that may still become a marker ("[1" before its "]")."""
from __future__ import annotations

import re
from collections.abc import Collection

# "[3]" and "[1, 2]"; longer brackets are text, not markers.
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_MAY_BECOME_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*(\d{1,3})?)*)?")
_MAX_MARKER_CHARS = 24


class CitationFilter:
    def __init__(self, valid: Collection[int]):
        self._valid = set(valid)
        self._pending = ""
        self.used: list[int] = []

    def feed(self, delta: str) -> str:
        """Returns the part of the text so far that can be shown now."""
        out = []
        for char in delta:
            if self._pending:
                self._pending += char
                if char == "]":
                    out.append(self._resolve(self._pending))
                    self._pending = ""
                elif not _MAY_BECOME_MARKER.fullmatch(self._pending) or len(self._pending) > _MAX_MARKER_CHARS:
                    # Not a marker after all; a new "[" may start one, though.
                    head, self._pending = (self._pending[:-1], "[") if char == "[" else (self._pending, "")
                    out.append(head)
            elif char == "[":
                self._pending = "["
            else:
                out.append(char)
        return "".join(out)

    def finish(self) -> str:
        """The text still held back when the stream ends (an unfinished bracket is text)."""
        rest, self._pending = self._pending, ""
        return rest

    def _resolve(self, marker: str) -> str:
        match = _MARKER.fullmatch(marker)
        if not match:
            return marker
        numbers = [int(n) for n in re.findall(r"\d+", match[1])]
        kept = [n for n in numbers if n in self._valid]
        for n in kept:
            if n not in self.used:
                self.used.append(n)
        return "".join(f"[{n}]" for n in kept)
