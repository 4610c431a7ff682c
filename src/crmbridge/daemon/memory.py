"""Keep a long-running daemon's memory flat: cap glibc's malloc arenas.

glibc gives each thread that meets contention its own malloc arena (up to 8 per core).
The daemon's threads (HTTP workers, scheduler jobs) each fragment their own arena, and
the process's RSS creeps up for hours although Python's heap does not grow. Two arenas
keep RSS flat (measured in benchmarks/latency.py) at no measurable latency cost.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

#: ``M_ARENA_MAX`` in glibc's malloc.h.
_M_ARENA_MAX = -8
ARENAS = 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's arenas unless ``MALLOC_ARENA_MAX`` already says; True if applied.

    A no-op off Linux/glibc (musl, macOS), where ``mallopt`` is absent or different.
    Call it before the daemon starts its threads: arenas already made stay.
    """
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, arenas))
