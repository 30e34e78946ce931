"""One answer however a call arrives: the MCP tool and the Python API word every bad
argument the same way, refuse booleans where numbers go, and return the same fields."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from pydeephaven import Session

from deephaven_mcp import DeephavenSystems
from deephaven_mcp.errors import DeephavenMcpError
from deephaven_mcp.mcp_systems_server import build_systems_server
from tests._workers import RunningWorker
from tests.mcp_systems_server._helpers import session_config, write_config

pytestmark = pytest.mark.integration

SESSION = "community:config:local"
TABLE = "argument_words"


@pytest.fixture(scope="module")
def published(dh_worker: RunningWorker) -> Iterator[None]:
    session = Session(host=dh_worker.host, port=dh_worker.port)
    try:
        session.run_script(
            f"from deephaven import empty_table\n"
            f"{TABLE} = empty_table(5).update(['I = (int) i', 'D = i / 2.0', 'S = `s` + i'])\n"
        )
        yield
    finally:
        session.close()


@pytest.fixture
def config(dh_worker: RunningWorker, tmp_path: Path, published: None) -> Path:
    return Path(
        write_config(
            tmp_path / "c.json", {"community": {"sessions": {"local": session_config(dh_worker)}}}
        )
    )


@pytest.fixture
async def both(config: Path) -> AsyncIterator[tuple[Client[Any], DeephavenSystems]]:
    async with (
        Client(build_systems_server(str(config))) as client,
        DeephavenSystems(str(config)) as systems,
    ):
        yield client, systems


async def _mcp_error(client: Client[Any], tool: str, args: dict[str, Any]) -> str:
    result = await client.call_tool_mcp(tool, args)
    assert result.is_error, result.structured_content
    assert result.structured_content is not None
    return str(result.structured_content["error"])


async def _python_error(systems: DeephavenSystems, tool: str, args: dict[str, Any]) -> str:
    with pytest.raises(DeephavenMcpError) as caught:
        await getattr(systems, tool)(**args)
    return str(caught.value)


BAD_READS: list[tuple[dict[str, Any], str]] = [
    ({"max_rows": True}, "invalid argument max_rows: expected a whole number, not true"),
    ({"max_rows": False}, "invalid argument max_rows: expected a whole number, not false"),
    ({"max_rows": 0}, "invalid argument max_rows: must be 1 or more"),
    ({"max_rows": 2.5}, "invalid argument max_rows: expected a whole number, not 2.5"),
    ({"max_rows": "10"}, "invalid argument max_rows: expected a whole number, not '10'"),
    ({"offset": True}, "invalid argument offset: expected a whole number, not true"),
    ({"offset": -1}, "invalid argument offset: must be 0 or more"),
]


@pytest.mark.parametrize(("extra", "message"), BAD_READS)
async def test_bad_read_arguments_get_one_message_on_both_paths(
    both: tuple[Client[Any], DeephavenSystems], extra: dict[str, Any], message: str
) -> None:
    client, systems = both
    args = {"session_id": SESSION, "table_name": TABLE, **extra}
    over_mcp = await _mcp_error(client, "session_table_data", args)
    from_python = await _python_error(systems, "session_table_data", args)
    assert over_mcp == from_python == message


async def test_a_boolean_row_count_is_not_one_row(
    both: tuple[Client[Any], DeephavenSystems],
) -> None:
    """It used to read one row over MCP and report a dead worker from Python."""
    client, _ = both
    for value in (True, 1):
        args = {"session_id": SESSION, "table_name": TABLE, "max_rows": value}
        result = await client.call_tool_mcp("session_table_data", args)
        assert result.is_error is (value is True)


async def test_python_result_schema_is_the_columns_and_dumps_like_the_tool(
    both: tuple[Client[Any], DeephavenSystems],
) -> None:
    client, systems = both
    args: dict[str, Any] = {
        "session_id": SESSION,
        "table_name": TABLE,
        "format": "json-row",
        "sort": [{"column": "I", "descending": True}],
    }
    answer = await systems.session_table_data(**args)
    assert answer.schema == [
        {"name": "I", "type": "int32"},
        {"name": "D", "type": "double"},
        {"name": "S", "type": "string"},
    ]
    tool = await client.call_tool_mcp("session_table_data", args)
    assert tool.structured_content is not None
    expected = {k: v for k, v in tool.structured_content.items() if k != "success"}
    dumped = answer.model_dump(by_alias=True)
    expected.pop("snapshot_time")
    dumped.pop("snapshot_time")
    assert dumped == expected
    assert answer.model_dump(mode="json")["schema"] == answer.schema
