"""Checking typed input lines alone: bad lines become per-line errors, unreadable batches are refused."""
import pytest
from tianshu.inference.v1 import inference_pb2 as ipb
from tianshu_grpc_server.errors import InvalidArgument

from tianshu_batch.lines import CHAT, EMBEDDINGS, RawLine, check_lines


def chat(custom_id, model="m", content="hi"):
    return RawLine(custom_id, ipb.Generation(model=model, messages=[ipb.ChatMessage(role="user", content=content)]))


def embedding(custom_id, model="e"):
    return RawLine(custom_id, ipb.EmbedRequest(model=model, texts=["x"]))


def test_valid_and_invalid_lines_are_told_apart_line_by_line():
    checked = check_lines(CHAT, [chat("ok"), RawLine("empty", None), embedding("wrong-kind"), chat("no-model", "")],
                          max_lines=100, max_line_bytes=10_000)
    assert [c.custom_id for c in checked if c.request is not None] == ["ok"]
    assert [c.model for c in checked] == ["m", "", "", ""]
    assert ["carries no request" in checked[1].error, "EmbedRequest" in checked[2].error,
            "names no model" in checked[3].error] == [True, True, True]
    assert [c.index for c in checked] == list(range(4))


def test_an_embeddings_batch_takes_embed_requests_only():
    checked = check_lines(EMBEDDINGS, [embedding("a"), chat("b")], 10, 10_000)
    assert [c.request is not None for c in checked] == [True, False]
    assert "Generation" in checked[1].error


@pytest.mark.parametrize("lines,field", [
    ([], "lines"), ([chat("")], "lines[0].custom_id"), ([chat("a"), chat("a")], "lines[1].custom_id"),
    ([chat(str(i)) for i in range(3)], "lines")])
def test_unreadable_batches_are_refused_whole(lines, field):
    with pytest.raises(InvalidArgument) as refused:
        check_lines(CHAT, lines, max_lines=2, max_line_bytes=10_000)
    assert refused.value.field == field


def test_an_oversized_line_is_a_line_error():
    [checked] = check_lines(CHAT, [chat("big", content="x" * 500)], max_lines=10, max_line_bytes=100)
    assert checked.request is None and "larger" in checked.error
