"""Helpers shared by the launcher tests."""

from __future__ import annotations

from deephaven_mcp.launchers import InstanceTracker
from deephaven_mcp.launchers.instance_tracker import TrackedWorker, read_record


def recorded_workers(tracker: InstanceTracker) -> tuple[TrackedWorker, ...]:
    """The workers in the tracker's record on disk (which must exist)."""
    record = read_record(tracker.record_path)
    assert record is not None
    return record.workers
