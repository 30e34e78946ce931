"""Blocking Deephaven calls, always executed off the event loop with a timeout."""
