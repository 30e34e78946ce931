"""Make SIGTERM shut a server down as cleanly as Ctrl-C does.

uvicorn re-raises the signal it caught after serving; with the default SIGTERM action the
process would die right there, before the server's lifespan cleanup (which stops the
workers it launched) could run. Turning SIGTERM into KeyboardInterrupt lets that cleanup run
on every transport.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def sigterm_as_keyboard_interrupt() -> None:
    """Install the handler (main thread only; a no-op elsewhere)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
