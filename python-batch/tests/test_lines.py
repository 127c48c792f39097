"""Checking input lines alone: bad lines become per-line errors, unreadable batches are refused."""
import json

import pytest
from tianshu_grpc_server.errors import InvalidArgument

from tianshu_batch.lines import CHAT, EMBEDDINGS, RawLine, check_lines


def chat(custom_id, body=None, **line):
    body = body if body is not None else {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    return RawLine(custom_id, line.get("method", "POST"), line.get("url", CHAT),
                   body if isinstance(body, str) else json.dumps(body))


def test_valid_and_invalid_lines_are_told_apart_line_by_line():
    checked = check_lines(CHAT, [
        chat("ok"), chat("not-json", "{"), chat("no-model", {"messages": []}),
        chat("wrong-url", url=EMBEDDINGS), chat("get", method="GET"),
        chat("bad-message", {"model": "m", "messages": [{"role": "user"}]}),
        chat("streaming", {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}),
    ], max_lines=100, max_line_bytes=10_000)
    assert [c.custom_id for c in checked if c.body is not None] == ["ok"]
    assert all(c.error for c in checked[1:])
    assert [c.index for c in checked] == list(range(7))


def test_embedding_lines_take_a_string_or_a_list_of_strings():
    lines = [RawLine("a", "", "", json.dumps({"model": "e", "input": "x"})),
             RawLine("b", "", "", json.dumps({"model": "e", "input": ["x", "y"]})),
             RawLine("c", "", "", json.dumps({"model": "e", "input": [1]}))]
    assert [c.body is not None for c in check_lines(EMBEDDINGS, lines, 10, 10_000)] == [True, True, False]


@pytest.mark.parametrize("lines,field", [
    ([], "lines"), ([chat("")], "lines[0].custom_id"), ([chat("a"), chat("a")], "lines[1].custom_id"),
    ([chat(str(i)) for i in range(3)], "lines")])
def test_unreadable_batches_are_refused_whole(lines, field):
    with pytest.raises(InvalidArgument) as refused:
        check_lines(CHAT, lines, max_lines=2, max_line_bytes=10_000)
    assert refused.value.field == field


def test_an_oversized_line_is_a_line_error():
    [checked] = check_lines(CHAT, [chat("big", {"model": "m", "messages": [{"role": "user", "content": "x" * 500}]})],
                            max_lines=10, max_line_bytes=100)
    assert checked.body is None and "larger" in checked.error
