"""Launch Deephaven Community workers on demand (python process or docker container).

Public API::

    tracker = InstanceTracker()              # one per MCP server instance
    await tracker.cleanup_orphans()          # at start-up
    worker = await launch_worker(LaunchRequest(...), tracker, on_progress)
    print_access_banner(worker)              # when the token was generated
    await worker.stop()
    await tracker.shutdown()                 # at exit
"""

from deephaven_mcp.config.auth_type import ANONYMOUS_HANDLER, PSK_HANDLER, AuthType
from deephaven_mcp.launchers.banner import format_access_banner, print_access_banner
from deephaven_mcp.launchers.docker_spec import ContainerSpec, build_container_spec
from deephaven_mcp.launchers.instance_tracker import (
    CleanupReport,
    InstanceRecord,
    InstanceTracker,
    TrackedWorker,
    UnsafeStateDirError,
    default_state_dir,
    ensure_state_dir,
)
from deephaven_mcp.launchers.launcher import ProgressCallback, generate_token, launch_worker
from deephaven_mcp.launchers.models import (
    DEFAULT_DOCKER_IMAGE,
    LaunchMethod,
    LaunchRequest,
    VolumeMount,
    heap_jvm_arg,
    parse_volume,
)
from deephaven_mcp.launchers.worker import LaunchedWorker

__all__ = [
    "ANONYMOUS_HANDLER",
    "DEFAULT_DOCKER_IMAGE",
    "PSK_HANDLER",
    "AuthType",
    "CleanupReport",
    "ContainerSpec",
    "InstanceRecord",
    "InstanceTracker",
    "LaunchMethod",
    "LaunchRequest",
    "LaunchedWorker",
    "ProgressCallback",
    "TrackedWorker",
    "UnsafeStateDirError",
    "VolumeMount",
    "build_container_spec",
    "default_state_dir",
    "ensure_state_dir",
    "format_access_banner",
    "generate_token",
    "heap_jvm_arg",
    "launch_worker",
    "parse_volume",
    "print_access_banner",
]
