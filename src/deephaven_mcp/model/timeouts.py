"""Timeouts for blocking Deephaven calls (seconds), and how many may run per session.

The servers read them from ``DH_MCP_*`` variables through their settings. The per-session
call limit travels with the timeouts because every session is built with this object.
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
    #: How long a data or script call waits for a free per-session slot before "busy".
    session_busy: float = 10.0
    #: Data and script calls that may run at once on one session (timed-out ones count
    #: until the worker finishes them), so one agent's stuck scripts cannot take every thread.
    max_calls_per_session: int = 4
