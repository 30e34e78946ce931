"""Timeouts for blocking Deephaven calls (seconds).

The servers read them from ``DH_MCP_*_TIMEOUT`` variables through their settings.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Timeouts:
    """How long each kind of call may take before the tool gives up."""

    connect: float = 30.0
    probe: float = 5.0
    metadata: float = 60.0
    data: float = 120.0
    script: float = 600.0
    close: float = 10.0
