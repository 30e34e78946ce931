"""The response's text copy: spliced from already-encoded fields, byte for byte the same."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema
import pydantic_core
import pytest

from deephaven_mcp.errors import NotFoundError, ScriptFailedError
from deephaven_mcp.serving.envelope import envelope_schema, envelope_text, fail, ok, run_tool

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


def test_a_failure_carries_the_errors_details_in_both_copies() -> None:
    error = ScriptFailedError(
        "script failed: RuntimeError: boom (line 3)",
        stdout="partial\n",
        stderr="",
        stderr_dropped_bytes=2,
        tables=[{"name": "t", "change": "created"}],
    )

    async def body() -> Any:
        raise error

    result = asyncio.run(run_tool("Running the script", body))
    expected = {
        "success": False,
        "error": "script failed: RuntimeError: boom (line 3)",
        "isError": True,
        "details": {
            "stdout": "partial\n",
            "stdout_truncated": False,
            "stdout_dropped_bytes": 0,
            "stderr": "",
            "stderr_truncated": True,
            "stderr_dropped_bytes": 2,
            "tables": [{"name": "t", "change": "created"}],
            "tables_truncated": False,
        },
    }
    assert result.structured_content == expected and result.is_error is True
    assert json.loads(result.content[0].text) == expected  # type: ignore[union-attr]
    schema = envelope_schema({"stdout": {"type": ["string", "null"]}}, ["stdout"])
    jsonschema.validate(expected, schema)
    # Errors without details keep the plain shape, and nothing else may join a failure.
    plain = fail(str(NotFoundError("no such table"))).structured_content
    assert plain == {"success": False, "error": "no such table", "isError": True}
    jsonschema.validate(plain, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**expected, "extra": 1}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**expected, "details": "text"}, schema)
