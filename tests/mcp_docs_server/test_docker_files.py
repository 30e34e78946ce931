"""The Docker files agree with the bind rule (no Docker engine needed: files are parsed)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from deephaven_mcp.mcp_docs_server._cli import _parser
from deephaven_mcp.serving.http_security import ALLOW_UNAUTHENTICATED_FLAG
from tests.mcp_docs_server._subprocess import SERVER_CMD, full_env

DOCKER = Path(__file__).resolve().parents[2] / "ops" / "docker" / "mcp-docs"


def compose_service() -> dict[str, Any]:
    compose = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())
    service: dict[str, Any] = compose["services"]["mcp-docs"]
    return service


def dockerfile_cmd() -> list[str]:
    match = re.search(r"^CMD (\[.*\])$", (DOCKER / "Dockerfile").read_text(), re.MULTILINE)
    assert match, "the Dockerfile has no exec-form CMD"
    command: list[str] = json.loads(match.group(1))
    return command


def test_compose_publishes_on_loopback_only() -> None:
    ports = compose_service()["ports"]
    assert ports == ["127.0.0.1:${DOCS_HOST_PORT:-8001}:8001"]


def test_compose_opts_out_explicitly_and_passes_the_security_variables() -> None:
    service = compose_service()
    command = service["command"]
    assert command[0] == "dh-mcp-docs-server"
    args = _parser().parse_args(command[1:])  # the real CLI accepts it
    assert (args.transport, args.host, args.allow_unauthenticated) == (
        "streamable-http",
        "0.0.0.0",
        True,
    )
    environment = service["environment"]
    for name in (
        "DOCS_AUTH_TOKEN",
        "DOCS_ALLOWED_HOSTS",
        "DOCS_ALLOWED_ORIGINS",
        "DOCS_MAX_CONCURRENT_CHATS",
        "DOCS_QUEUE_TIMEOUT",
    ):
        assert environment[name] == f"${{{name}:-}}"  # passed through, never hard-coded


def test_image_default_command_needs_a_token_or_the_flag() -> None:
    command = dockerfile_cmd()
    assert command[0] == "dh-mcp-docs-server"
    assert ALLOW_UNAUTHENTICATED_FLAG not in command
    assert _parser().parse_args(command[1:]).host == "0.0.0.0"
    # Run exactly that command without a token: it refuses, naming the way out.
    done = subprocess.run(
        [SERVER_CMD, *command[1:]], env=full_env({}), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert ALLOW_UNAUTHENTICATED_FLAG in done.stderr
    assert "DOCS_AUTH_TOKEN" in done.stderr
