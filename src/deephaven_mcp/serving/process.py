"""Process-wide settings a server applies once, at start-up, and never on import.

Importing the Python API must not change the importing process: the garbage collector, the
C allocator, Arrow's memory pool and signal handlers belong to whoever owns the process. The
console scripts own theirs, so they apply these settings, each before anything is served
(``tests/serving/test_process.py`` checks both sides).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Final

_M_MMAP_THRESHOLD: Final = -3  # glibc's mallopt parameter number
MMAP_THRESHOLD_BYTES: Final = 1 << 20
ARROW_POOL_VARIABLE: Final = "ARROW_DEFAULT_MEMORY_POOL"
"""Arrow reads it once, when pyarrow loads, to choose its default memory pool."""


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic collections inside; what the block created is never scanned again.

    Claude Desktop starts a server at every launch, so its start-up is paid constantly.
    Loading fastmcp, pydantic and the tool schemas creates hundreds of thousands of
    long-lived objects and almost no garbage, yet each automatic collection on the way walks
    all of them again: about a sixth of the start. While a server loads and builds itself
    the collector is off; what was created is then frozen (modules, classes and schemas live
    as long as the process) and the collector comes back on before anything is served.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def return_large_blocks_to_the_system() -> None:
    """Have glibc give every block of 1 MB or more its own mapping, unmapped when freed.

    By default glibc raises that threshold after each large free (up to 32 MB); from then on
    large answers are carved from heaps that rarely shrink, so one 20 MB answer leaves the
    server tens of MB larger for good. A fixed threshold turns that off. Call it once at
    start-up, before threads exist; it does nothing where there is no glibc.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes  # only here: the console scripts import this module before anything else

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def arrow_uses_the_system_allocator() -> None:
    """Have Arrow allocate with malloc, so freed answers leave the process.

    Arrow's default pool (mimalloc) keeps freed buffers for reuse, so one large answer would
    leave the server's memory high for good; with malloc, the trim after every window
    (:mod:`deephaven_mcp.clients.table_data`) and the fixed mmap threshold hand it back.
    The server loads pyarrow only when it first reads a table, so start-up does not pay for
    it: this sets :data:`ARROW_POOL_VARIABLE`, which Arrow reads when it loads, and switches
    the pool directly if pyarrow is already loaded. Workers do not inherit the variable (the
    launchers pass them an allow-list of the server's environment).
    """
    os.environ[ARROW_POOL_VARIABLE] = "system"
    if "pyarrow" in sys.modules:
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def sigterm_as_keyboard_interrupt() -> None:
    """Make SIGTERM shut a server down as cleanly as Ctrl-C does (main thread only).

    uvicorn re-raises the signal it caught after serving; with the default SIGTERM action
    the process would die right there, before the server's lifespan cleanup (which stops
    the workers it launched) could run. As KeyboardInterrupt, that cleanup runs on every
    transport.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
