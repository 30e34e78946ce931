"""The stdio writer: byte for byte what mcp would send, written in pieces."""

from __future__ import annotations

import random
import sys
from typing import Any

import mcp_types
import pytest

from deephaven_mcp.serving import stdio
from deephaven_mcp.serving.stdio import encoded_pieces


def _response(result: dict[str, Any]) -> mcp_types.JSONRPCMessage:
    message = {"jsonrpc": "2.0", "id": 7, "result": result}
    return mcp_types.jsonrpc_message_adapter.validate_python(message)


def _awkward_text(length: int, seed: int) -> str:
    rng = random.Random(seed)
    alphabet = 'abc,"\\\n\r\t\x00\x1fé北😀\u2028 '
    return "".join(rng.choice(alphabet) for _ in range(length))


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stdio, "PIECE_CHARS", 1000)


@pytest.mark.parametrize("length", [0, 999, 1000, 1001, 25_000])
def test_pieces_join_into_the_sdk_encoding(length: int) -> None:
    text = _awkward_text(length, length)
    message = _response(
        {
            "content": [{"type": "text", "text": text}],
            "structuredContent": {"success": True, "data": text, "rows": [text, 1.5e20, None]},
            "isError": False,
        }
    )
    pieces = list(encoded_pieces(message))
    expected = message.model_dump_json(by_alias=True, exclude_unset=True).encode()
    assert b"".join(pieces) == expected
    assert max(len(piece) for piece in pieces) < 8 * 1000 + 200  # no piece holds it all


def test_a_long_key_and_many_long_strings_keep_their_order() -> None:
    strings = [_awkward_text(3_000, seed) for seed in range(5)]
    message = _response({"structuredContent": {f"k{i}": s for i, s in enumerate(strings)}})
    expected = message.model_dump_json(by_alias=True, exclude_unset=True).encode()
    assert b"".join(encoded_pieces(message)) == expected


def test_rows_deep_in_a_long_list_and_other_messages_encode_exactly() -> None:
    rows = [{"Note": _awkward_text(1_500, seed), "Id": seed} for seed in range(100)]
    messages = [
        _response({"structuredContent": {"success": True, "data": rows}}),
        mcp_types.jsonrpc_message_adapter.validate_python(
            {
                "jsonrpc": "2.0",
                "id": "r1",
                "method": "ping",
                "params": {"x": _awkward_text(5_000, 1)},
            }
        ),
        mcp_types.jsonrpc_message_adapter.validate_python(
            {"jsonrpc": "2.0", "method": "notifications/message", "params": {"data": "x" * 3_000}}
        ),
        mcp_types.jsonrpc_message_adapter.validate_python(
            {"jsonrpc": "2.0", "id": 9, "error": {"code": -32602, "message": "bad"}}
        ),
    ]
    for message in messages:
        expected = message.model_dump_json(by_alias=True, exclude_unset=True).encode()
        assert b"".join(encoded_pieces(message)) == expected


def test_windows_keeps_fastmcps_own_stdio_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []

    class Server:
        def run(self, *args: Any, **kwargs: Any) -> None:
            calls.append((*args, kwargs))

    monkeypatch.setattr(sys, "platform", "win32")
    stdio.run_stdio(Server())  # type: ignore[arg-type]
    assert calls == [("stdio", {"show_banner": False})]
