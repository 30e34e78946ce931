"""The response's text copy: spliced from already-encoded fields, byte for byte the same."""

from __future__ import annotations

from typing import Any

import pydantic_core
import pytest

from deephaven_mcp._tool_results import envelope_text, ok

CASES: list[dict[str, Any]] = [
    {"success": True},
    {"success": True, "data": 'a,b\n1,"x"\n', "row_count": 2, "note": "é 😀"},
    {"success": True, "schema": [{"name": "A", "type": "int64"}], "data": [{"A": 1.5e20}]},
    {"success": True, "data": {"A": [None, "NaN", -0.0]}, "table_name": "t\u2028"},
]


@pytest.mark.parametrize("structured", CASES)
def test_splicing_gives_the_plain_encoding(structured: dict[str, Any]) -> None:
    plain = pydantic_core.to_json(structured).decode()
    assert envelope_text(structured, {}) == plain
    if "data" in structured:
        encoded = {"data": pydantic_core.to_json(structured["data"]).decode()}
        assert envelope_text(structured, encoded) == plain


def test_ok_uses_the_encoded_bytes_for_the_text_copy() -> None:
    result = ok({"data": '"from the writer"'}, data="from the writer", row_count=1)
    assert result.structured_content == {"success": True, "data": "from the writer", "row_count": 1}
    assert result.content[0].text == '{"success":true,"data":"from the writer","row_count":1}'  # type: ignore[union-attr]
