"""The streaming JSON reader of large exports: the same values and the same errors (message,
line, column) as ``json.loads``, whatever the chunk size, with runs of list entries cut only
where they parse."""

from __future__ import annotations

import io
import json
import random

import pytest

from archiver.importers.json_stream import JsonStream, JsonStreamError


def entries(stream: JsonStream) -> list[object]:
    found: list[object] = []
    for key in stream.members():
        if key == "messages":
            found.extend(stream.items())
        else:
            stream.skip()
    stream.end()
    return found


def document(count: int, indent: int | None) -> tuple[str, list[object]]:
    rng = random.Random(count)
    messages: list[object] = []
    for index in range(count):
        text = "".join(rng.choice(["电梯", "lift", '"', "\\", "}, {", "\n", "x"]) for _ in range(5))
        messages.append(
            {
                "id": index,
                "text": text,
                "text_entities": [{"type": "plain", "text": text}, {"n": rng.random()}],
                "nested": {"deep": [[index], {}]},
            }
        )
    body = json.dumps(
        {"name": "x", "type": "bot_chat", "id": 1, "messages": messages},
        ensure_ascii=False,
        indent=indent,
    )
    return body, messages


@pytest.mark.parametrize("indent", [None, 1, 4])
@pytest.mark.parametrize("chunk", [7, 100, 1 << 20])
def test_values_are_json_loads_values(indent: int | None, chunk: int) -> None:
    body, messages = document(60, indent)
    stream = JsonStream(io.BytesIO(body.encode()), chunk_bytes=chunk)
    assert entries(stream) == messages


def test_a_run_cut_inside_a_nested_value_is_not_taken() -> None:
    # the entries' separator (",\n {") also appears, with the same indentation, inside one
    body = '{"messages": [\n {"a": 1},\n {"b": [\n {"c": 2},\n {"d": 3}]},\n {"e": 4}\n]}'
    stream = JsonStream(io.BytesIO(body.encode()), chunk_bytes=1 << 20)
    assert entries(stream) == json.loads(body)["messages"]


@pytest.mark.parametrize(
    "body",
    [
        '{"messages": [\n {"a": 1},\n {"b": 2} \n {"c": 3}\n]}',
        '{"messages": [\n {"a": 1},\n {"b": 2},\n]}',
        '{"messages": [\n {"a": 1},\n {"b": tru}\n]}',
        '{"messages": [\n {"a": 1}\n]} x',
        '{"messages": [\n {"a": "\u0001"}\n]}',
        '{"messages": [\n {"a": "\\q"}\n]}',
        '{"messages": [\n {"a": 1},\n {"b": "open\n]}',
    ],
)
@pytest.mark.parametrize("chunk", [5, 1 << 20])
def test_errors_are_json_loads_errors(body: str, chunk: int) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(body)
    error = expected.value
    stream = JsonStream(io.BytesIO(body.encode()), chunk_bytes=chunk)
    with pytest.raises(JsonStreamError) as caught:
        entries(stream)
    assert str(caught.value) == (
        f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
    )


def test_x_escapes_are_repaired_where_met() -> None:
    body = '{"messages": [\n {"a": "1\\x0B2 \\\\x41"},\n {"b": "\\x7f"}\n]}'
    stream = JsonStream(io.BytesIO(body.encode()), chunk_bytes=3)
    assert entries(stream) == [{"a": "1\x0b2 \\x41"}, {"b": "\x7f"}]
