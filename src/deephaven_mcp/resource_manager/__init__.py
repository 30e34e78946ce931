"""Registry of Deephaven sessions: lazy connections, self-healing, clean shutdown."""

from deephaven_mcp.resource_manager.community_session import CommunitySession
from deephaven_mcp.resource_manager.dynamic_session import DynamicCommunitySession
from deephaven_mcp.resource_manager.managed_session import ManagedSession
from deephaven_mcp.resource_manager.registry import SessionRegistry
from deephaven_mcp.resource_manager.session_id import SessionId

__all__ = [
    "CommunitySession",
    "DynamicCommunitySession",
    "ManagedSession",
    "SessionId",
    "SessionRegistry",
]
