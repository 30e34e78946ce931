"""Environment variables: {NAME: value} at the edge, alternating entries on the wire."""

from __future__ import annotations

import pytest

from deephaven_mcp.enterprise import parse_environment
from deephaven_mcp.enterprise.adapter import _optional_kwargs
from deephaven_mcp.enterprise.backend import (
    PqSpec,
    environment_from_wire,
    environment_to_wire,
)
from deephaven_mcp.errors import InvalidArgumentError


def test_an_object_and_a_list_mean_the_same() -> None:
    expected = (("JAVA_HOME", "/opt/jdk"), ("MODE", "a=b"))
    assert parse_environment({"JAVA_HOME": "/opt/jdk", "MODE": "a=b"}) == expected
    assert parse_environment(["JAVA_HOME=/opt/jdk", "MODE=a=b"]) == expected
    assert parse_environment({}) == ()
    assert parse_environment(None) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["NO_EQUALS_SIGN"], "entries must be NAME=value"),
        (["=value"], "is not an environment variable name"),
        ({"1BAD": "x"}, "is not an environment variable name"),
        ({"A B": "x"}, "is not an environment variable name"),
        ({"OK": 3}, "values must be strings"),
        ("A=1", "must be a list"),
    ],
)
def test_malformed_environments_are_refused(value: object, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        parse_environment(value)  # type: ignore[arg-type]  # deliberately malformed


def test_the_wire_form_alternates_names_and_values() -> None:
    pairs = (("A", "1"), ("B", ""))
    assert environment_to_wire(pairs) == ["A", "1", "B", ""]
    assert environment_from_wire(["A", "1", "B", ""]) == pairs
    assert environment_from_wire(["DANGLING"]) == (("DANGLING", ""),)


def test_the_adapter_sends_alternating_entries() -> None:
    spec = PqSpec(name="q", heap_size_gb=1.0, extra_environment_vars=(("A", "1"), ("B", "2")))
    assert _optional_kwargs(spec)["extra_environment_vars"] == ["A", "1", "B", "2"]


def test_python_control_must_be_a_json_object() -> None:
    from deephaven_mcp.enterprise import parse_python_control

    assert parse_python_control({"ephemeral_venv": True}) == '{"ephemeral_venv": true}'
    assert parse_python_control('{"ephemeral_venv": true}') == '{"ephemeral_venv": true}'
    assert parse_python_control(None) is None
    for bad in ("/opt/venvs/risk", "[1, 2]", "3"):
        with pytest.raises(InvalidArgumentError, match="must be a JSON object"):
            parse_python_control(bad)
