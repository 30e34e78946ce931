"""Keep the server's resident memory close to what it actually holds."""

from __future__ import annotations

import ctypes
import sys
from typing import Final

_M_MMAP_THRESHOLD: Final = -3  # glibc's mallopt parameter number
MMAP_THRESHOLD_BYTES: Final = 1 << 20


def return_large_blocks_to_the_system() -> None:
    """Have glibc give every block of 1 MB or more its own mapping, unmapped when freed.

    By default glibc raises that threshold after each large free (up to 32 MB); from then on
    large answers are carved from heaps that rarely shrink, so one 20 MB answer leaves the
    server tens of MB larger for good. A fixed threshold turns that off. Call it once at
    start-up, before threads exist; it does nothing where there is no glibc.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
