"""session_community_create, session_community_delete, session_community_credentials."""

from __future__ import annotations

from typing import Annotated, Any

from fastmcp import Context
from pydantic import Field

from deephaven_mcp.mcp_systems_server.tools._common import (
    SessionIdArg,
    Systems,
    systems_tool,
)
from deephaven_mcp.model.arguments import Number, WholeNumber
from deephaven_mcp.systems.results import (
    CommunityCredentials,
    CommunitySessionCreated,
    CommunitySessionDeleted,
)

__all__ = ["session_community_create", "session_community_credentials", "session_community_delete"]

# Appended to the description of every argument in AgentSettable.
_OPERATOR = " Refused unless listed in community.session_creation.agent_may_set."


def _operator_set(description: str) -> Any:
    """The field of an argument the caller may give only where ``agent_may_set`` lists it."""
    return Field(description=description + _OPERATOR)


@systems_tool("Creating the community session")
async def session_community_create(
    systems: Systems,
    session_name: Annotated[
        str, Field(description="Unique name; the id becomes community:dynamic:<name>.")
    ],
    launch_method: Annotated[
        str | None, _operator_set("'python' or 'docker' (default: config, else docker).")
    ] = None,
    programming_language: Annotated[
        str | None, Field(description="Docker only: 'Python' or 'Groovy' (picks the image).")
    ] = None,
    auth_type: Annotated[str | None, _operator_set("'PSK' (default) or 'Anonymous'.")] = None,
    auth_token: Annotated[str | None, _operator_set("PSK token; generated when omitted.")] = None,
    docker_image: Annotated[str | None, _operator_set("Docker only: image to run.")] = None,
    docker_memory_limit_gb: Annotated[
        Number | None, _operator_set("Docker only: memory limit.")
    ] = None,
    docker_cpu_limit: Annotated[
        Number | None, _operator_set("Docker only: CPU limit in cores.")
    ] = None,
    docker_volumes: Annotated[
        list[str] | None, _operator_set("Docker only: 'host:container[:mode]' mounts.")
    ] = None,
    python_venv_path: Annotated[
        str | None,
        _operator_set("Python only: venv with deephaven-server (default: this server's)."),
    ] = None,
    heap_size_gb: Annotated[
        Number | WholeNumber | None,
        Field(
            description="JVM heap in GB: 4 -> -Xmx4g, 2.5 -> -Xmx2560m; at most "
            "community.session_creation.max_heap_size_gb (default 8)."
        ),
    ] = None,
    extra_jvm_args: Annotated[list[str] | None, _operator_set("Additional JVM arguments.")] = None,
    environment_vars: Annotated[
        dict[str, str] | None, _operator_set("Environment variables for the worker.")
    ] = None,
    ctx: Context | None = None,
) -> CommunitySessionCreated:
    """Launch a new Deephaven Community worker and register it as a session.

    Give session_name, and optionally programming_language and heap_size_gb; the operator's
    configured defaults decide the rest. Any other argument is refused unless the operator
    listed it in community.session_creation.agent_may_set. Sends progress notifications
    while the worker starts. The worker is stopped when the session is deleted or this
    server shuts down.
    """


@systems_tool("Deleting the community session")
async def session_community_delete(
    systems: Systems,
    session_name: Annotated[
        str, Field(description="Name of a session made by session_community_create.")
    ],
) -> CommunitySessionDeleted:
    """Stop a dynamically created community worker and forget its session (irreversible)."""


@systems_tool("Retrieving credentials")
async def session_community_credentials(
    systems: Systems, session_id: SessionIdArg
) -> CommunityCredentials:
    """Token and URLs for opening a community session in a browser.

    Disabled unless security.community.credential_retrieval_mode allows it; every
    attempt is written to the audit log (without the token).
    """
