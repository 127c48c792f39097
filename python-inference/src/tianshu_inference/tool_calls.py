"""Function calling: the constraint a tool choice puts on the output, and the calls read back.

`required` and a named function are enforced by structured output (the JSON Schema vLLM's
own server builds for them), so every model serves them: a named choice makes the whole output
the function's arguments, `required` makes it `[{"name": ..., "parameters": {...}}, ...]`.
`auto` leaves the model free to answer or to call, in its own tool-call syntax, which only
vLLM's parser for that model reads (Model.tool_parser); where the parser has a structural tag,
what follows the model's opening tag is held to the tools' schemas, so even a small model's
calls parse.

Readers turn the output into calls as it is generated, one reader per choice: a stream gets
OpenAI's pieces (id and name first, then fragments of the arguments), a whole answer the same
calls joined. The arguments are the model's own JSON text, not a re-serialisation of it, so
the streamed fragments always join to exactly what the whole answer holds.
"""
from __future__ import annotations

import enum
import functools
import json
import secrets
from dataclasses import dataclass

from .generation import Constraint, Tool, ToolCall


class Mode(enum.Enum):
    NONE = "none"
    AUTO = "auto"
    REQUIRED = "required"
    NAMED = "named"


@dataclass(frozen=True)
class ToolUse:
    """The validated tools of a generation and what the model may do with them."""

    tools: tuple[Tool, ...]
    mode: Mode
    function: str = ""  # Mode.NAMED: the function to call
    parallel: bool = True

    def openai_tools(self) -> list[dict]:
        """The tools as chat templates and vLLM's parsers read them (OpenAI's shape)."""
        return [{"type": "function", "function": {
            "name": t.name, "description": t.description,
            **({"parameters": t.parameters} if t.parameters is not None else {})}} for t in self.tools]


@dataclass
class Piece:
    """A piece of a streamed tool call (ToolCallDelta)."""

    index: int
    id: str = ""
    name: str = ""
    arguments: str = ""


def new_call_id() -> str:
    return "call_" + secrets.token_hex(12)


def constraint(use: ToolUse, parser_name: str, tokenizer) -> Constraint | None:
    """What the engine must hold the output to for this tool choice (None: nothing)."""
    if use.mode is Mode.NONE:
        return None
    from vllm.tool_parsers.utils import get_json_schema_from_tools

    request = _vllm_request(use)
    if use.mode is Mode.AUTO:
        return _auto_constraint(use, parser_name, tokenizer, request)
    schema = get_json_schema_from_tools(request.tool_choice, request.tools, request.parallel_tool_calls)
    return Constraint(json_schema=json.dumps(schema))


def _auto_constraint(use: ToolUse, parser_name: str, tokenizer, request) -> Constraint | None:
    from vllm.tool_parsers.tool_strict_level import ToolStrictLevel

    parser = _parser_class(parser_name)(tokenizer, request.tools)
    # PARAMETER: a call's arguments follow its schema even where the tool did not ask for
    # strict, as they do under `required` and a named choice.
    tag = parser.get_structural_tag(request, reasoning=False, strict_level=ToolStrictLevel.PARAMETER)
    if tag is None:
        return None
    if not use.parallel:
        from vllm.tool_parsers.structural_tag_registry import limit_to_single_tool_call

        limit_to_single_tool_call(tag)
    return Constraint(structural_tag=json.dumps(tag.model_dump()))


class Reader:
    """Reads one choice's output into content and tool calls."""

    def __init__(self) -> None:
        self._calls: list[list[str]] = []  # per call: [id, name, arguments so far]

    def feed(self, text: str) -> tuple[str, list[Piece]]:
        """Content and call pieces in this new text (held back while it may still be a call)."""
        raise NotImplementedError

    def finish(self, cut: bool = False) -> tuple[str, list[Piece]]:
        """What is left once the output has ended; cut when max_tokens ended it."""
        return "", []

    def whole(self, text: str, cut: bool = False) -> tuple[str, list[ToolCall]]:
        """A whole output's content and calls."""
        content, _ = self.feed(text)
        rest, _ = self.finish(cut)
        return content + rest, self.calls()

    def calls(self) -> list[ToolCall]:
        return [ToolCall(id=i, name=n, arguments=a) for i, n, a in self._calls]

    def _record(self, pieces: list[Piece]) -> list[Piece]:
        for piece in pieces:
            if piece.index == len(self._calls):
                self._calls.append([piece.id, piece.name, ""])
            self._calls[piece.index][2] += piece.arguments
        return pieces


class NamedReader(Reader):
    """The whole output is the arguments of the one named function."""

    def __init__(self, function: str) -> None:
        super().__init__()
        self._function = function

    def feed(self, text: str) -> tuple[str, list[Piece]]:
        pieces = []
        if not self._calls:
            pieces.append(Piece(index=0, id=new_call_id(), name=self._function))
        if text:
            pieces.append(Piece(index=0, arguments=text))
        return "", self._record(pieces)


@dataclass
class _ArrayCall:
    name: str | None = None
    announced: bool = False
    args_start: int | None = None
    args_end: int | None = None
    args_sent: int = 0


class RequiredReader(Reader):
    """The output is `[{"name": ..., "parameters": {...}}, ...]`: a small JSON scanner finds
    each call's name and the raw text of its parameters while the array is still growing."""

    def __init__(self) -> None:
        super().__init__()
        self._text = ""
        self._depth = 0
        self._in_string = False
        self._escape = False
        self._string_start = 0
        self._last_string: str | None = None
        self._key: str | None = None  # the key whose value is being read, in a call object
        self._array: list[_ArrayCall] = []

    def feed(self, text: str) -> tuple[str, list[Piece]]:
        start = len(self._text)
        self._text += text
        pieces: list[Piece] = []
        for i in range(start, len(self._text)):
            self._step(i, self._text[i], pieces)
        if self._array:
            self._emit(len(self._array) - 1, len(self._text), pieces)
        return "", self._record(pieces)

    def _step(self, i: int, c: str, pieces: list[Piece]) -> None:
        call = self._array[-1] if self._array else None
        if self._in_string:
            if self._escape:
                self._escape = False
            elif c == "\\":
                self._escape = True
            elif c == '"':
                self._in_string = False
                if self._depth == 2:
                    value = json.loads(self._text[self._string_start:i + 1])
                    if self._key == "name" and call is not None:
                        call.name = value
                    elif self._key is None:
                        self._last_string = value
            return
        reading_parameters = self._depth == 2 and self._key == "parameters" and call is not None
        if reading_parameters and call.args_start is None and not c.isspace():
            call.args_start = i
        if c == '"':
            self._in_string, self._string_start = True, i
        elif c in "{[":
            self._depth += 1
            if self._depth == 2 and c == "{":
                self._array.append(_ArrayCall())
                self._key = self._last_string = None
        elif c in "}]":
            self._depth -= 1
            if self._depth == 2 and call is not None and call.args_start is not None and call.args_end is None:
                call.args_end = i + 1
            elif self._depth == 1 and call is not None:
                self._emit(len(self._array) - 1, i, pieces)
        elif self._depth == 2 and c == ":":
            self._key = self._last_string
        elif self._depth == 2 and c == ",":
            if call is not None and self._key == "parameters" and call.args_start is not None:
                call.args_end = call.args_end or i  # a scalar value ends at the comma
            self._key = self._last_string = None

    def _emit(self, index: int, upto: int, pieces: list[Piece]) -> None:
        call = self._array[index]
        if call.name is None:
            return  # OpenAI's order: nothing of a call before its name
        if not call.announced:
            call.announced = True
            pieces.append(Piece(index=index, id=new_call_id(), name=call.name))
        if call.args_start is None:
            return
        end = min(upto, call.args_end if call.args_end is not None else upto)
        begin = max(call.args_start, call.args_sent)
        if end > begin:
            pieces.append(Piece(index=index, arguments=self._text[begin:end]))
            call.args_sent = end


# How a call opens in the syntaxes vLLM's parsers read: the <tool_call> tag of Hermes-style and
# xLAM templates (the default model's), Mistral's [TOOL_CALLS]. A parser passes text on as content
# until it has seen enough of a call to be sure, so the opener's first tokens ("<tool") would reach
# the caller as the answer's words; content from an opener, or from what may be the start of one,
# is held back until the parser says what it was.
_CALL_OPENERS = ("<tool_call>", "[TOOL_CALLS]")


def _opener_at(text: str) -> int:
    """Where a call's opener, or the start of one that the text ends in, begins; len(text) if nowhere."""
    at = len(text)
    for opener in _CALL_OPENERS:
        found = text.find(opener)
        if found >= 0:
            at = min(at, found)
        for length in range(min(len(opener) - 1, len(text)), 0, -1):
            if text.endswith(opener[:length]):
                at = min(at, len(text) - length)
                break
    return at


class ParserReader(Reader):
    """`auto`: vLLM's tool parser for the model's own syntax reads the calls; text outside
    them is the answer's content."""

    def __init__(self, use: ToolUse, parser_name: str, tokenizer) -> None:
        super().__init__()
        self._request = _vllm_request(use)
        self._parser = _parser_class(parser_name)(tokenizer, self._request.tools)
        self._text = ""
        self._held = ""  # content that may be the opening of a call
        self._ids: dict[int, str] = {}

    def feed(self, text: str) -> tuple[str, list[Piece]]:
        previous = self._text
        self._text += text
        if not text:
            return "", []
        delta = self._parser.extract_tool_calls_streaming(previous, self._text, text, [], [], [], self._request)
        if delta is None or delta.tool_calls:
            # The parser is inside a call: what was held back was its opener.
            self._held = ""
            content = (delta.content or "") if delta is not None else ""
        else:
            content = self._held + (delta.content or "")
            at = _opener_at(content)
            content, self._held = content[:at], content[at:]
        pieces = []
        for call in (delta.tool_calls if delta is not None else None) or ():
            function = call.function
            piece = Piece(index=call.index, arguments=(function.arguments or "") if function else "")
            if call.index not in self._ids and function is not None and function.name:
                self._ids[call.index] = piece.id = new_call_id()
                piece.name = function.name
            elif call.index not in self._ids:
                continue  # arguments before a name: the parser sends the name first
            pieces.append(piece)
        return content, self._record(pieces)

    def finish(self, cut: bool = False) -> tuple[str, list[Piece]]:
        """Whatever the streaming parse still held: the parse of the whole output decides. Text
        held back as a possible opener is content after all, unless max_tokens cut the output
        there: then it is a call that never got written, and neither content nor a call."""
        held, self._held = self._held, ""
        final = self._parser.extract_tool_calls(self._text, self._request)
        if not final.tools_called:
            return ("" if cut else held), []
        pieces = []
        for index, call in enumerate(final.tool_calls):
            if index >= len(self._calls):
                pieces.append(Piece(index=index, id=new_call_id(), name=call.function.name))
                pieces.append(Piece(index=index, arguments=call.function.arguments))
                continue
            sent = self._calls[index][2]
            if call.function.arguments.startswith(sent) and len(call.function.arguments) > len(sent):
                pieces.append(Piece(index=index, arguments=call.function.arguments[len(sent):]))
        return "", self._record(pieces)

    def whole(self, text: str, cut: bool = False) -> tuple[str, list[ToolCall]]:
        final = self._parser.extract_tool_calls(text, self._request)
        if not final.tools_called:
            return (text[:_opener_at(text)] if cut else text), []
        return final.content or "", [ToolCall(id=new_call_id(), name=c.function.name, arguments=c.function.arguments)
                                     for c in final.tool_calls]


def reader(use: ToolUse | None, parser_name: str, tokenizer) -> Reader | None:
    """A fresh reader for one choice, or None when no call can come out of this generation."""
    if use is None or use.mode is Mode.NONE:
        return None
    if use.mode is Mode.NAMED:
        return NamedReader(use.function)
    if use.mode is Mode.REQUIRED:
        return RequiredReader()
    return ParserReader(use, parser_name, tokenizer)


def parser_exists(name: str) -> bool:
    from vllm.tool_parsers import ToolParserManager

    return name in ToolParserManager.list_registered()


@functools.cache
def _parser_class(name: str):
    from vllm.tool_parsers import ToolParserManager

    return ToolParserManager.get_tool_parser(name)


def _vllm_request(use: ToolUse):
    from vllm.entrypoints.openai.chat_completion.protocol import ChatCompletionRequest

    choice = ({"type": "function", "function": {"name": use.function}} if use.mode is Mode.NAMED
              else use.mode.value)
    return ChatCompletionRequest(model="tools", messages=[], tools=use.openai_tools(), tool_choice=choice,
                                 parallel_tool_calls=use.parallel)

