"""Checks the lines of a batch input, one at a time, apart from any I/O. A bad line becomes a
per-line error (it goes to the error output, the rest still run); only what makes the whole
batch unreadable (no custom_id, a repeated custom_id, too many lines) refuses the request."""
from __future__ import annotations

import json
from dataclasses import dataclass

from tianshu_grpc_server.errors import InvalidArgument

CHAT, EMBEDDINGS = "/v1/chat/completions", "/v1/embeddings"
ENDPOINTS = (CHAT, EMBEDDINGS)
MAX_CUSTOM_ID_CHARS = 512


@dataclass(frozen=True)
class RawLine:
    custom_id: str
    method: str
    url: str
    body: str


@dataclass(frozen=True)
class CheckedLine:
    index: int
    custom_id: str
    body: dict | None  # None when the line is invalid
    error: str = ""


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
        body, error = _check_line(endpoint, line, max_line_bytes)
        checked.append(CheckedLine(index, line.custom_id, body, error))
    return checked


def _check_line(endpoint: str, line: RawLine, max_line_bytes: int) -> tuple[dict | None, str]:
    if line.method and line.method.upper() != "POST":
        return None, f"method must be POST, not {line.method!r}"
    if line.url and line.url != endpoint:
        return None, f"url {line.url!r} differs from the batch's endpoint {endpoint!r}"
    if len(line.body.encode()) > max_line_bytes:
        return None, f"body larger than {max_line_bytes} bytes"
    try:
        body = json.loads(line.body)
    except ValueError as error:
        return None, f"body is not valid JSON: {error}"
    if not isinstance(body, dict):
        return None, "body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return None, "body.model must be a non-empty string"
    if body.get("stream"):
        return None, "body.stream is not supported in a batch"
    problem = _check_chat(body) if endpoint == CHAT else _check_embeddings(body)
    return (None, problem) if problem else (body, "")


def _check_chat(body: dict) -> str:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "body.messages must be a non-empty list"
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str) or \
                not isinstance(message.get("content"), str):
            return f"body.messages[{i}] must have a string role and a string content"
    for name in ("max_tokens", "max_completion_tokens", "n", "seed"):
        value = body.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            return f"body.{name} must be an integer"
    for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
        if name in body and body[name] is not None and not isinstance(body[name], (int, float)):
            return f"body.{name} must be a number"
    stop = body.get("stop")
    if stop is not None and not isinstance(stop, str) and \
            not (isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        return "body.stop must be a string or a list of strings"
    return ""


def _check_embeddings(body: dict) -> str:
    texts = body.get("input")
    if isinstance(texts, str):
        return ""
    if isinstance(texts, list) and texts and all(isinstance(t, str) for t in texts):
        return ""
    return "body.input must be a string or a non-empty list of strings"
