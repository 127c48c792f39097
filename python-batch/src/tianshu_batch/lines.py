"""Checks the lines of a batch, one at a time, apart from any I/O. A line arrives typed (its
request already translated and checked by whoever built the batch: the gateway, with its
interactive routes' mappers), so only what the contract cannot say is checked here. A bad line
becomes a per-line error (it goes to the error output, the rest still run); only what makes the
whole batch unreadable (no custom_id, a repeated custom_id, too many lines) refuses the request."""
from __future__ import annotations

from dataclasses import dataclass

from tianshu.inference.v1 import inference_pb2 as ipb
from tianshu_grpc_server.errors import InvalidArgument

CHAT, EMBEDDINGS = "/v1/chat/completions", "/v1/embeddings"
ENDPOINTS = (CHAT, EMBEDDINGS)
MAX_CUSTOM_ID_CHARS = 512

Request = ipb.Generation | ipb.EmbedRequest
_KIND = {CHAT: ipb.Generation, EMBEDDINGS: ipb.EmbedRequest}


@dataclass(frozen=True)
class RawLine:
    custom_id: str
    request: Request | None  # None when the line carried no request


@dataclass(frozen=True)
class CheckedLine:
    index: int
    custom_id: str
    request: Request | None  # None when the line is invalid
    error: str = ""

    @property
    def model(self) -> str:
        return self.request.model if self.request is not None else ""


def check_lines(endpoint: str, lines: list[RawLine], max_lines: int, max_line_bytes: int) -> list[CheckedLine]:
    if not lines:
        raise InvalidArgument("lines", "a batch needs at least one line")
    if len(lines) > max_lines:
        raise InvalidArgument("lines", f"{len(lines)} lines; at most {max_lines} per batch")
    seen: set[str] = set()
    checked = []
    for index, line in enumerate(lines):
        if not line.custom_id:
            raise InvalidArgument(f"lines[{index}].custom_id", "every line needs a custom_id")
        if len(line.custom_id) > MAX_CUSTOM_ID_CHARS:
            raise InvalidArgument(f"lines[{index}].custom_id", f"longer than {MAX_CUSTOM_ID_CHARS} characters")
        if line.custom_id in seen:
            raise InvalidArgument(f"lines[{index}].custom_id", f"{line.custom_id!r} appears more than once")
        seen.add(line.custom_id)
        error = _problem(endpoint, line.request, max_line_bytes)
        checked.append(CheckedLine(index, line.custom_id, None if error else line.request, error))
    return checked


def _problem(endpoint: str, request: Request | None, max_line_bytes: int) -> str:
    kind = _KIND[endpoint]
    if request is None:
        return f"the line carries no request; a {endpoint} batch takes {kind.__name__} lines"
    if not isinstance(request, kind):
        return f"the line is a {type(request).__name__}; a {endpoint} batch takes {kind.__name__} lines"
    if request.ByteSize() > max_line_bytes:
        return f"request larger than {max_line_bytes} bytes"
    if not request.model:
        return "the request names no model"
    return ""
