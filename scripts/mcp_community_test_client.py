#!/usr/bin/env python
"""Exercise the systems server's tools from the command line.

    # against a running streamable-http server
    uv run scripts/mcp_community_test_client.py --url http://127.0.0.1:8000/mcp
    # launch the server over stdio (here with its demo worker)
    uv run scripts/mcp_community_test_client.py --transport stdio \
        --stdio-cmd "uv run dh-mcp-systems-server --demo"
    # a server that requires a bearer token (read from the named variable, never argv)
    DH_MCP_TOKEN=... uv run scripts/mcp_community_test_client.py --token-env DH_MCP_TOKEN
    # with a config file
    uv run scripts/mcp_community_test_client.py --transport stdio \
        --env DH_MCP_CONFIG_FILE=/abs/path/deephaven_mcp.json

Lists the tools, then for each session: details, tables, schemas, a few rows (plain and
shaped) and pip packages; launches a worker (session_community_create), reads it, asks for
its credentials and deletes it; reads the table resources; calls mcp_reload last. Tools the
server lists that the script cannot call (Enterprise ones, or ones whose required arguments
it does not know) are reported as skipped, with the reason. Exits non-zero if a call fails
(a refusal by the operator's policy, or a server that cannot launch workers, is reported but
not counted as a failure).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shlex
import sys
from typing import Any
from urllib.parse import quote

from fastmcp import Client
from fastmcp.client.transports import SSETransport, StdioTransport, StreamableHttpTransport
from mcp_types import ResourceTemplateReference, Tool

DEFAULT_URLS = {"streamable-http": "http://127.0.0.1:8000/mcp", "sse": "http://127.0.0.1:8000/sse"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Call every systems-server tool that works without Enterprise."
    )
    parser.add_argument(
        "--transport", choices=["streamable-http", "sse", "stdio"], default="streamable-http"
    )
    parser.add_argument("--url", default=None, help="server URL for HTTP transports")
    parser.add_argument(
        "--stdio-cmd",
        default="uv run dh-mcp-systems-server --transport stdio",
        help="command that starts the server for --transport stdio",
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="env for the stdio server"
    )
    parser.add_argument("--rows", type=int, default=5, help="rows to fetch per table")
    parser.add_argument(
        "--no-create",
        action="store_true",
        help="do not launch a worker (session_community_create / session_community_delete)",
    )
    parser.add_argument(
        "--create-heap-gb", type=float, default=1.0, help="heap of the launched worker"
    )
    parser.add_argument(
        "--token-env",
        metavar="VAR",
        default=None,
        help="environment variable holding a bearer token for HTTP transports",
    )
    return parser.parse_args(argv)


def bearer_token(args: argparse.Namespace) -> str | None:
    if not args.token_env:
        return None
    token = os.environ.get(args.token_env, "").strip()
    if not token:
        raise SystemExit(f"--token-env: environment variable {args.token_env} is empty or unset")
    return token


def make_transport(args: argparse.Namespace) -> Any:
    if args.transport == "stdio":
        env = dict(os.environ)
        for item in args.env:
            key, sep, value = item.partition("=")
            if not sep:
                raise SystemExit(f"--env expects KEY=VALUE, got {item!r}")
            env[key] = value
        command, *rest = shlex.split(args.stdio_cmd)
        return StdioTransport(command=command, args=rest, env=env)
    url = args.url or DEFAULT_URLS[args.transport]
    token = bearer_token(args)
    if args.transport == "sse":
        return SSETransport(url, auth=token)
    return StreamableHttpTransport(url, auth=token)


SECRET_FIELDS = frozenset({"auth_token", "connection_url_with_auth", "browser_url"})
ENTERPRISE_PREFIXES = ("pq_", "catalog_", "session_enterprise_")
# Arguments the script can fill for a tool it has no recipe for (see call_generic).
FILLABLE = frozenset({"session_id", "table_name", "columns", "max_rows"})
TABLES_TEMPLATE = "deephaven://{session_id}/tables"
SCHEMA_TEMPLATE = "deephaven://{session_id}/tables/{table}/schema"


def masked(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with secrets hidden: this output ends up in terminals and CI logs."""
    return {key: "***" if key in SECRET_FIELDS else value for key, value in payload.items()}


# Answers that show the tool works but this server may not do it: reported, not failures.
POLICY_REFUSED = ("refused by policy", ("credential_retrieval_mode", "Credential retrieval is"))
CANNOT_LAUNCH = (
    "unavailable on this server",
    (
        "session creation is not configured",  # the operator has no session_creation
        "Docker daemon is not reachable",
        "needs deephaven-server",
        "deephaven-server is not",
    ),
)


def tolerated(payload: dict[str, Any], tolerate: tuple[str, tuple[str, ...]] | None) -> str | None:
    """The label for an expected refusal, or None when the failure is a real one."""
    error = str(payload.get("error", ""))
    if tolerate is not None and any(marker in error for marker in tolerate[1]):
        return tolerate[0]
    return None


def column_names(schema_payload: dict[str, Any]) -> list[str]:
    schemas = schema_payload.get("schemas") or [{}]
    return [str(row["Name"]) for row in schemas[0].get("data") or [] if "Name" in row]


class Runner:
    def __init__(self, client: Client[Any], tools: list[Tool]):
        self.client = client
        self.tools = {tool.name: tool for tool in tools}
        self.failures = 0
        self.called: set[str] = set()
        self.skipped: dict[str, str] = {}

    def offers(self, name: str) -> bool:
        return name in self.tools

    def properties(self, name: str) -> dict[str, Any]:
        return dict(self.tools[name].input_schema.get("properties") or {})

    async def call(
        self, name: str, *, tolerate: tuple[str, tuple[str, ...]] | None = None, **arguments: Any
    ) -> dict[str, Any]:
        if not self.offers(name):
            return {}
        self.called.add(name)
        result = await self.client.call_tool_mcp(name, arguments)
        payload = result.structured_content or {}
        expected = tolerated(payload, tolerate) if result.is_error else None
        status = expected or ("ERROR" if result.is_error else "ok")
        text = json.dumps(masked(payload), ensure_ascii=False, default=str)
        print(f"[{status}] {name}({json.dumps(masked(arguments))}): {text[:600]}")
        if result.is_error and expected is None:
            self.failures += 1
        return payload

    def fail(self, what: str, error: BaseException) -> None:
        print(f"[ERROR] {what}: {error}")
        self.failures += 1


async def exercise_session(
    runner: Runner, sid: str, rows: int, details: dict[str, Any], *, try_unknown: bool
) -> list[str]:
    """Read a session the way an agent would; returns its table names."""
    tables: list[str] = (await runner.call("session_tables_list", session_id=sid)).get(
        "table_names", []
    )
    if tables:
        schemas = await runner.call("session_tables_schema", session_id=sid, table_names=tables[:3])
        await runner.call("session_table_data", session_id=sid, table_name=tables[0], max_rows=rows)
        columns = column_names(schemas)
        if columns and {"columns", "sort"} <= set(runner.properties("session_table_data")):
            await runner.call(
                "session_table_data",
                session_id=sid,
                table_name=tables[0],
                max_rows=rows,
                columns=columns[:2],
                sort=[{"column": columns[0], "descending": True}],
            )
        if runner.offers("session_table_summary"):
            await runner.call("session_table_summary", session_id=sid, table_name=tables[0])
        if runner.offers("session_table_aggregate"):
            await runner.call(
                "session_table_aggregate",
                session_id=sid,
                table_name=tables[0],
                aggregations=[{"op": "count", "as": "Rows"}],
                group_by=columns[:1] or None,
                max_rows=rows,
            )
        if try_unknown:
            for name in sorted(set(runner.tools) - KNOWN_TOOLS):
                await call_generic(runner, name, sid, tables[0], columns, rows)
    await runner.call("session_script_run", session_id=sid, script="print('hello from MCP')")
    if details.get("programming_language") == "python":
        await runner.call("session_pip_list", session_id=sid)
    return tables


async def call_generic(
    runner: Runner, name: str, sid: str, table: str, columns: list[str], rows: int
) -> None:
    """A tool without a recipe here (say, one added after this script): call it when every
    argument it requires is one the script can fill, else record why it was skipped."""
    if name.startswith(ENTERPRISE_PREFIXES):
        return
    schema = runner.tools[name].input_schema
    missing = sorted(set(schema.get("required") or []) - FILLABLE)
    if missing:
        runner.skipped[name] = f"requires {', '.join(missing)}, which this script cannot fill"
        return
    properties = runner.properties(name)
    candidates: dict[str, Any] = {
        "session_id": sid,
        "table_name": table,
        "columns": columns[:2] or None,  # a table may have no columns at all
        "max_rows": rows,
    }
    await runner.call(
        name, **{k: v for k, v in candidates.items() if k in properties and v is not None}
    )


async def exercise_created_session(runner: Runner, heap_size_gb: float, rows: int) -> None:
    """Launch a worker (only the arguments the default launch policy lets callers set), use
    it, and delete it again."""
    if not runner.offers("session_community_create"):
        return
    name = f"testclient{secrets.token_hex(3)}"
    created = await runner.call(
        "session_community_create",
        tolerate=CANNOT_LAUNCH,
        session_name=name,
        heap_size_gb=heap_size_gb,
    )
    if not created.get("success"):
        for follow_up in ("session_community_credentials", "session_community_delete"):
            runner.skipped.setdefault(follow_up, "no worker was launched to use it on")
        return
    sid = str(created["session_id"])
    try:
        await runner.call(
            "session_script_run",
            session_id=sid,
            script="from deephaven import empty_table\n"
            "mcp_test_client = empty_table(3).update(['X = i', 'Y = X * X'])",
        )
        await runner.call(
            "session_table_data", session_id=sid, table_name="mcp_test_client", max_rows=rows
        )
        await runner.call("session_community_credentials", tolerate=POLICY_REFUSED, session_id=sid)
    finally:
        await runner.call("session_community_delete", session_name=name)


async def read_resources(runner: Runner, sid: str, table: str | None) -> None:
    """The resource templates (schemas as context) and a completion, where offered."""
    client = runner.client
    try:
        templates = {t.uri_template for t in await client.list_resource_templates()}
        encoded = quote(sid, safe="")
        uris = [f"deephaven://{encoded}/tables"] if TABLES_TEMPLATE in templates else []
        if table and SCHEMA_TEMPLATE in templates:
            uris.append(f"deephaven://{encoded}/tables/{quote(table, safe='')}/schema")
        for uri in uris:
            contents = await client.read_resource(uri)
            text = getattr(contents[0], "text", "") if contents else ""
            print(f"[ok] resources/read {uri}: {text[:600]}")
        capabilities = client.server_capabilities
        if TABLES_TEMPLATE in templates and capabilities and capabilities.completions:
            completion = await client.complete(
                ResourceTemplateReference(uri=TABLES_TEMPLATE), {"name": "session_id", "value": ""}
            )
            print(f"[ok] completion/complete session_id: {completion.values[:10]}")
    except Exception as exc:  # any failure here is reported, and fails the run
        runner.fail("resources", exc)


def report_skipped(runner: Runner) -> None:
    for name in sorted(set(runner.tools) - runner.called):
        reason = runner.skipped.get(name)
        if reason is None and name.startswith(ENTERPRISE_PREFIXES):
            reason = "Enterprise tool: needs a Deephaven Enterprise system"
        print(f"[skipped] {name}: {reason or 'no session or table to call it with'}")


async def run(args: argparse.Namespace) -> int:
    async with Client(make_transport(args), timeout=600) as client:
        tools = await client.list_tools()
        print(f"{len(tools)} tools: {', '.join(sorted(tool.name for tool in tools))}")
        runner = Runner(client, tools)
        await runner.call("enterprise_systems_status")
        sessions = (await runner.call("sessions_list")).get("sessions", [])
        readable: tuple[str, str | None] | None = None
        for session in sessions:
            sid = session["session_id"]
            details = await runner.call("session_details", session_id=sid, attempt_to_connect=True)
            info = details.get("session", {})
            if not info.get("available"):
                continue
            tables = await exercise_session(
                runner, sid, args.rows, info, try_unknown=readable is None
            )
            if readable is None:
                readable = (sid, tables[0] if tables else None)
        if not sessions:
            print("no sessions configured (set DH_MCP_CONFIG_FILE or start the server with --demo)")
        if readable is not None:
            await read_resources(runner, *readable)
        if args.no_create:
            runner.skipped.update(
                dict.fromkeys(
                    ("session_community_create", "session_community_delete"), "--no-create"
                )
            )
        else:
            await exercise_created_session(runner, args.create_heap_gb, args.rows)
        await runner.call("mcp_reload")  # last: it drops every cached connection
        report_skipped(runner)
        return 1 if runner.failures else 0


KNOWN_TOOLS = frozenset(
    {
        "mcp_reload",
        "enterprise_systems_status",
        "sessions_list",
        "session_details",
        "session_tables_list",
        "session_tables_schema",
        "session_table_data",
        "session_table_summary",
        "session_table_aggregate",
        "session_script_run",
        "session_pip_list",
        "session_community_create",
        "session_community_delete",
        "session_community_credentials",
    }
)


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
