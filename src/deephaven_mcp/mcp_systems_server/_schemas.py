"""JSON Schema fragments for tool outputs (wrapped by ``envelope_schema``)."""

from __future__ import annotations

from typing import Any, Final

STRING: Final = {"type": "string"}
NULLABLE_STRING: Final = {"type": ["string", "null"]}
INTEGER: Final = {"type": "integer"}
BOOLEAN: Final = {"type": "boolean"}

COLUMN_LIST: Final[dict[str, Any]] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"name": STRING, "type": STRING},
        "required": ["name", "type"],
    },
}

SESSION_SUMMARY: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "session_id": STRING,
        "type": {"enum": ["community", "enterprise"]},
        "source": STRING,
        "session_name": STRING,
    },
    "required": ["session_id", "type", "source", "session_name"],
}

SESSION_DETAILS: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        **SESSION_SUMMARY["properties"],
        "available": BOOLEAN,
        "programming_language": NULLABLE_STRING,
        "deephaven_core_version": NULLABLE_STRING,
        "deephaven_enterprise_version": NULLABLE_STRING,
    },
    "required": [*SESSION_SUMMARY["required"], "available", "programming_language"],
}

TABLE_DATA: Final[dict[str, Any]] = {
    "type": ["string", "array", "object"],
    "description": "Rows in the requested format: text, a list of row objects, or columns.",
}

TABLE_SCHEMA_ENTRY: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "success": BOOLEAN,
        "table": STRING,
        "format": {"const": "json-row"},
        "data": {"type": "array", "items": {"type": "object"}},
        "meta_columns": COLUMN_LIST,
        "row_count": INTEGER,
        "error": STRING,
        "isError": BOOLEAN,
    },
    "required": ["success", "table"],
}

# The answer of session_table_data and catalog_table_sample (see TableSlice.fields()).
TABLE_SLICE: Final[dict[str, Any]] = {
    "table_name": STRING,
    "format": STRING,
    "schema": COLUMN_LIST,
    "row_count": INTEGER,
    "is_complete": BOOLEAN,
    "data": TABLE_DATA,
}
TABLE_SLICE_REQUIRED: Final = ["table_name", "format", "schema", "row_count", "is_complete", "data"]
