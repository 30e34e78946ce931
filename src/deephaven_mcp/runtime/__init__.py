"""What every layer relies on: blocking calls in threads with timeouts, redacting logging, and
reservations under limits."""
