"""The response's text copy: spliced from already-encoded fields, byte for byte the same."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema
import pydantic_core
import pytest

from deephaven_mcp.errors import NotFoundError, ScriptFailedError
from deephaven_mcp.serving.envelope import (
    envelope_schema,
    envelope_text,
    fail,
    ok,
    output_schema,
    run_tool,
)
from deephaven_mcp.systems.results import (
    CommunitySessionCreated,
    PqBatch,
    PqStarted,
    ScriptRun,
    SessionDetails,
    ShapedSlice,
)

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


# -- output schemas generated from the result models ----------------------------------------


def _success(result: Any) -> dict[str, Any]:
    return {"success": True, **result.envelope_fields()}


def test_a_models_schema_requires_the_fields_without_default() -> None:
    schema = output_schema(CommunitySessionCreated)
    success = schema["anyOf"][0]
    assert success["required"] == [
        "success",
        "session_id",
        "session_name",
        "connection_url",
        "auth_type",
        "launch_method",
        "port",
    ]
    assert schema["properties"]["auth_type"]["enum"] == ["PSK", "Anonymous"]
    answer = CommunitySessionCreated(
        session_id="community:dynamic:w",
        session_name="w",
        connection_url="http://127.0.0.1:1",
        auth_type="PSK",
        launch_method="python",
        port=1,
        pid=42,
    )
    jsonschema.validate(_success(answer), schema)
    jsonschema.validate(fail("no").structured_content, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"success": True, "session_id": "x"}, schema)


def test_nested_records_are_spelled_out_inline_without_pydantic_noise() -> None:
    schema = output_schema(SessionDetails)
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text
    assert '"title"' not in text and '"default"' not in text
    session = schema["properties"]["session"]
    assert session["properties"]["type"]["enum"] == ["community", "enterprise"]
    assert session["properties"]["deephaven_core_version"]["type"] == ["string", "null"]
    assert set(session["required"]) >= {"session_id", "available", "programming_language"}
    jsonschema.Draft202012Validator.check_schema(schema)
    entry = {"session_id": "a", "type": "community", "source": "config", "session_name": "a"}
    ok_answer = {"success": True, "session": {**entry, "available": True}}
    with pytest.raises(jsonschema.ValidationError):  # programming_language is always there
        jsonschema.validate(ok_answer, schema)
    jsonschema.validate(
        {
            "success": True,
            "session": {
                **entry,
                "available": True,
                "programming_language": None,
                "last_error": "x",
            },
        },
        schema,
    )


def test_an_optional_record_key_is_absent_or_typed_never_null() -> None:
    tables = output_schema(ScriptRun)["properties"]["tables"]["items"]
    assert tables["required"] == ["name", "change"]
    assert tables["properties"]["row_count"] == {"type": "integer"}
    assert tables["properties"]["columns"]["items"]["required"] == ["name", "type"]


def test_one_or_many_answers_need_the_fields_of_either_model() -> None:
    schema = output_schema(PqStarted, PqBatch)
    success = schema["anyOf"][0]
    assert success["required"] == ["success"]
    assert success["anyOf"] == [
        {"required": ["serial", "state", "session_id", "message"]},
        {"required": ["results", "succeeded", "failed", "max_concurrent"]},
    ]
    one = PqStarted(serial=1, state="RUNNING", session_id=None, message="started")
    many = PqBatch(
        results=[{"pq": "a", "success": True, "serial": 1, "state": "RUNNING"}],
        succeeded=1,
        failed=0,
        max_concurrent=1,
    )
    jsonschema.validate(_success(one), schema)
    jsonschema.validate(_success(many), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"success": True, "serial": 1}, schema)


def test_a_table_slice_validates_with_its_aliased_schema_field() -> None:
    schema = output_schema(ShapedSlice)
    assert "schema" in schema["properties"] and "schema_" not in schema["properties"]
    answer = ShapedSlice.model_construct(
        table_name="t",
        format="csv",
        schema_=[{"name": "A", "type": "int"}],
        row_count=1,
        is_complete=True,
        data="A\n1\n",
        total_rows=1,
        next_offset=None,
        is_refreshing=False,
        snapshot_time="2030-01-01T00:00:00Z",
    )
    jsonschema.validate(_success(answer), schema)
